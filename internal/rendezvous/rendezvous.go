// Package rendezvous splits work among live members by highest-random-weight
// hashing: every member computes the same owner for a key from the member
// list alone, and a member joining or leaving moves only the keys it wins
// or held. Workers use it for partitions, queue dispatchers for queues.
package rendezvous

import "hash/fnv"

// Owner returns the member that owns key, or "" if there are no members.
func Owner(members []string, key string) string {
	var best string
	var bestScore uint64
	for _, m := range members {
		h := fnv.New64a()
		h.Write([]byte(m))
		h.Write([]byte{0})
		h.Write([]byte(key))
		if s := mix(h.Sum64()); best == "" || s > bestScore {
			best, bestScore = m, s
		}
	}
	return best
}

// mix is the splitmix64 finalizer. FNV alone barely changes its high bits
// between names that differ in one byte, so one member would win almost
// every key.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}
