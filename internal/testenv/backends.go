package testenv

import (
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// Backend is one Redis implementation a conformance suite runs against.
type Backend struct {
	Name string
	// Open returns a client and a key prefix unique to the test.
	Open func(t testing.TB) (redis.UniversalClient, string)
}

// Backends are the Redis implementations the platform runs on: a real
// redis-server (production), a three-master Redis Cluster (production at
// scale: every multi-key script, transaction and command must stay in one
// hash slot, which only a real cluster checks) and miniredis (what `neru
// dev` embeds). Store suites run against all of them to prove parity rather
// than assume it.
func Backends() []Backend {
	return []Backend{
		{Name: "redis", Open: Redis},
		{Name: "redis-cluster", Open: RedisCluster},
		{Name: "miniredis", Open: func(t testing.TB) (redis.UniversalClient, string) {
			mr := miniredis.RunT(t)
			mr.ClockTTL(true)
			rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
			t.Cleanup(func() { _ = rdb.Close() })
			return rdb, "t:"
		}},
	}
}
