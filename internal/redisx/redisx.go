// Package redisx builds the one go-redis client every component uses, from a
// URL, so standalone, Sentinel-less cluster seeds and in-process dev Redis go
// through the same code path.
package redisx

import (
	"context"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// DefaultPoolSize replaces go-redis' 10 connections per CPU, unless the URL
// sets pool_size: a gateway serves many webhooks at once, each waiting on a
// round trip, and with 20 connections most of its time went to waiting for
// one (neru bench: 12k waits per 20k webhooks on 2 cores).
const DefaultPoolSize = 128

// Open returns a UniversalClient for url. "redis://host:port/db" (or rediss://)
// is a single server; "redis+cluster://h1:p1,h2:p2" is a Redis Cluster.
func Open(url string) (redis.UniversalClient, error) {
	if rest, ok := strings.CutPrefix(url, "redis+cluster://"); ok {
		addrs := strings.Split(rest, ",")
		if len(addrs) == 0 || addrs[0] == "" {
			return nil, fmt.Errorf("redisx: cluster URL has no addresses")
		}
		return redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, PoolSize: DefaultPoolSize}), nil
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redisx: %w", err)
	}
	if !strings.Contains(url, "pool_size=") {
		opt.PoolSize = DefaultPoolSize
	}
	return redis.NewClient(opt), nil
}

// Ping checks that Redis answers: every master of a Redis Cluster (a
// cluster with a node down cannot serve that node's slots), the server
// otherwise. It is both the start-up wait's try and the live readiness
// check.
func Ping(ctx context.Context, rdb redis.UniversalClient) error {
	if c, ok := rdb.(*redis.ClusterClient); ok {
		return c.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
			return n.Ping(ctx).Err()
		})
	}
	return rdb.Ping(ctx).Err()
}
