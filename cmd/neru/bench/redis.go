package bench

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

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
