// Package redisx builds the one go-redis client every component uses, from a
// URL, so standalone, Sentinel-less cluster seeds and in-process dev Redis go
// through the same code path.
package redisx

import (
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Open returns a UniversalClient for url. "redis://host:port/db" (or rediss://)
// is a single server; "redis+cluster://h1:p1,h2:p2" is a Redis Cluster.
func Open(url string) (redis.UniversalClient, error) {
	if rest, ok := strings.CutPrefix(url, "redis+cluster://"); ok {
		addrs := strings.Split(rest, ",")
		if len(addrs) == 0 || addrs[0] == "" {
			return nil, fmt.Errorf("redisx: cluster URL has no addresses")
		}
		return redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs}), nil
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redisx: %w", err)
	}
	return redis.NewClient(opt), nil
}
