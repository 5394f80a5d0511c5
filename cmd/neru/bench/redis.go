package bench

import (
	"bufio"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// widerClient returns a second client to the same Redis as rdb with a pool
// of n connections, so n registrations can be in flight at once without
// starving (or being starved by) the platform's own pool.
func widerClient(rdb redis.UniversalClient, n int) redis.UniversalClient {
	switch c := rdb.(type) {
	case *redis.Client:
		opt := *c.Options()
		opt.PoolSize = n
		return redis.NewClient(&opt)
	case *redis.ClusterClient:
		opt := *c.Options()
		opt.PoolSize = n
		return redis.NewClusterClient(&opt)
	}
	return nil
}

// deleteKeyspace deletes every key that starts with prefix (which must hold
// no glob characters) on every master, and returns how many it deleted.
func deleteKeyspace(ctx context.Context, rdb redis.UniversalClient, prefix string) (int, error) {
	var deleted atomic.Int64
	one := func(ctx context.Context, c *redis.Client) error {
		it := c.Scan(ctx, 0, prefix+"*", 5000).Iterator()
		batch := make([]string, 0, 1000)
		flush := func() error {
			if len(batch) == 0 {
				return nil
			}
			// One key per UNLINK: in a cluster the keys live in different slots.
			_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
				for _, k := range batch {
					p.Unlink(ctx, k)
				}
				return nil
			})
			deleted.Add(int64(len(batch)))
			batch = batch[:0]
			return err
		}
		for it.Next(ctx) {
			if batch = append(batch, it.Val()); len(batch) == cap(batch) {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if err := it.Err(); err != nil {
			return err
		}
		return flush()
	}
	var err error
	switch c := rdb.(type) {
	case *redis.Client:
		err = one(ctx, c)
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, one)
	default:
		err = fmt.Errorf("bench: cannot scan a %T", rdb)
	}
	return int(deleted.Load()), err
}

// serverCPU is the CPU time (user plus system) a Redis server has used, from
// INFO CPU; ok is false if the server does not say (miniredis, a cluster).
func serverCPU(ctx context.Context, rdb redis.UniversalClient) (time.Duration, bool) {
	c, isClient := rdb.(*redis.Client)
	if !isClient {
		return 0, false
	}
	info, err := c.Info(ctx, "cpu").Result()
	if err != nil {
		return 0, false
	}
	var total float64
	found := 0
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		k, v, _ := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if k == "used_cpu_sys" || k == "used_cpu_user" {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				total += f
				found++
			}
		}
	}
	return time.Duration(total * float64(time.Second)), found == 2
}
