package state

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Entry is one key of a session's state as an operator sees it: the key
// the app used, its Redis type and its value. Value is a string (string),
// an []string (list, set), a map[string]string (hash) or a [][2]string of
// member and score (zset), at most MaxDumpItems elements.
type Entry struct {
	Key        string   `json:"key"`
	Type       string   `json:"type"`
	Value      any      `json:"value"`
	TTLSeconds *float64 `json:"ttlSeconds"` // null: no expiry
	Truncated  bool     `json:"truncated,omitempty"`
}

// MaxDumpItems bounds the elements read of one list, set, hash or zset, and
// MaxDumpValue the bytes of one string, so a large key cannot make an admin
// page huge.
const (
	MaxDumpItems = 100
	MaxDumpValue = 64 << 10
)

// SessionEntries reads the keys of a session's state with their values,
// sorted by key, at most max of them (and reports whether there were
// more). It is for operators (the admin API and console), not apps: it
// reads in two pipelined round trips on the session's slot and is not a
// snapshot of one instant.
func (s *Store) SessionEntries(ctx context.Context, instanceID, sessionID string, max int) ([]Entry, bool, error) {
	reg, err := s.registry(instanceID, sessionID)
	if err != nil {
		return nil, false, err
	}
	keys, err := s.rdb.HKeys(ctx, reg).Result()
	if err != nil {
		return nil, false, fmt.Errorf("state: keys of session %q: %w", sessionID, err)
	}
	sort.Strings(keys)
	more := len(keys) > max
	if more {
		keys = keys[:max]
	}
	prefix := s.prefix + sessionTag(instanceID, sessionID) + ":"
	types := make([]*redis.StatusCmd, len(keys))
	ttls := make([]*redis.DurationCmd, len(keys))
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			types[i], ttls[i] = p.Type(ctx, k), p.PTTL(ctx, k)
		}
		return nil
	}); err != nil {
		return nil, false, fmt.Errorf("state: types of session %q: %w", sessionID, err)
	}
	out := make([]Entry, 0, len(keys))
	vals := make([]redis.Cmder, 0, len(keys))
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			t := types[i].Val()
			var c redis.Cmder
			switch t {
			case "string":
				c = p.GetRange(ctx, k, 0, MaxDumpValue-1)
			case "list":
				c = p.LRange(ctx, k, 0, MaxDumpItems-1)
			case "set":
				c = p.SScan(ctx, k, 0, "", MaxDumpItems)
			case "hash":
				c = p.HScan(ctx, k, 0, "", MaxDumpItems)
			case "zset":
				c = p.ZRangeWithScores(ctx, k, 0, MaxDumpItems-1)
			default:
				continue // "none": expired or deleted since the registry listed it
			}
			e := Entry{Key: strings.TrimPrefix(k, prefix), Type: t}
			if d := ttls[i].Val(); d > 0 {
				sec := d.Round(time.Millisecond).Seconds()
				e.TTLSeconds = &sec
			}
			out, vals = append(out, e), append(vals, c)
		}
		return nil
	}); err != nil && err != redis.Nil {
		return nil, false, fmt.Errorf("state: values of session %q: %w", sessionID, err)
	}
	for i, c := range vals {
		e := &out[i]
		switch c := c.(type) {
		case *redis.StringCmd:
			e.Value = c.Val()
			e.Truncated = len(c.Val()) == MaxDumpValue
		case *redis.StringSliceCmd:
			e.Value = c.Val()
			e.Truncated = len(c.Val()) == MaxDumpItems
		case *redis.ScanCmd:
			items, cursor := c.Val()
			e.Truncated = cursor != 0
			if e.Type == "hash" {
				m := make(map[string]string, len(items)/2)
				for j := 0; j+1 < len(items); j += 2 {
					m[items[j]] = items[j+1]
				}
				e.Value = m
			} else {
				e.Value = items
			}
		case *redis.ZSliceCmd:
			zs := make([][2]string, len(c.Val()))
			for j, z := range c.Val() {
				zs[j] = [2]string{fmt.Sprint(z.Member), fmt.Sprint(z.Score)}
			}
			e.Value = zs
			e.Truncated = len(zs) == MaxDumpItems
		}
	}
	return out, more, nil
}
