// Package lease lets members of a group split keyed work among themselves
// through Redis, with at most one member working on a key at a time. It owns
// the mechanism only; each user owns its key names:
//
//   - Members is the live member set: a sorted set of member ids scored by
//     heartbeat deadline (ms). Heartbeat adds this member, prunes the dead
//     and returns the living; Owns says which keys rendezvous hashing
//     (internal/rendezvous) gives this member.
//   - Holder holds leases for one member: a lease is a string key whose value
//     is the member id, with a TTL. Acquire is SET NX PX; renewing and
//     releasing are compare-and-act scripts (only the holder extends or
//     deletes it), all renewals of a round in one pipeline.
//   - Fencing: every lease has a timer of its own, restarted by each renewal
//     that succeeds, that ends the lease's Context three quarters of a TTL
//     after that renewal was sent, so the work stops before the key can
//     expire and pass to another member. It does not depend on the caller's
//     loop, which may be stuck on a slow Redis exactly when fencing matters.
//     A failed renewal round also fences, at once, the leases last renewed
//     more than half a TTL ago.
//
// Users and their keys (under the keyspace): the worker's partitions
// (w:members, w:lease:{<partition>}) and the queue dispatchers
// (q:dispatchers, q:{<instance>/<name>}:lease). Every script touches one key,
// so each runs in one slot on Redis Cluster; a renewal pipeline may span
// slots, which go-redis's cluster client splits by node.
//
// Why not a library: github.com/bsm/redislock and go-redsync/redsync were
// considered. Both give a lock (obtain, refresh, release) with the same
// compare-and-act scripts as here, and redsync adds Redlock quorums over
// several independent Redis servers, which one Redis or one Cluster does not
// need. Neither has what this package is for: a fence that stops work on
// its own timer before expiry, renewing many leases in one round trip (a
// worker holds up to 4096 partitions; per-lock Refresh is one round trip
// each), and the member set that decides who should hold what. The scripts
// are two lines; wrapping a library around them would leave all of that to
// write anyway.
package lease
