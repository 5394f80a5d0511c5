// Package applogs keeps what apps send to logs-submission (session.log, the
// SDKs' action logs): a capped, numbered list per instance, so `neru logs
// --follow` can ask for what came after the last entry it printed. Log
// bodies may carry PII: they are stored here, never written to our logs.
//
// Redis keys (under the keyspace), both with the {<instance>} hash tag so
// the append script is cluster-safe:
//
//	logs:{<instance>}      list of {"seq":n,"receivedAt":"<RFC 3339>","log":<the SDK's log JSON>}
//	logs:seq:{<instance>}  the last seq handed out
package applogs

import (
	"context"
	"encoding/json"
	"time"

	"github.com/redis/go-redis/v9"
)

// appendScript numbers and appends in one step, so the list is always in
// seq order.
var appendScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[2])
redis.call('RPUSH', KEYS[1], '{"seq":' .. n .. ',"receivedAt":"' .. ARGV[2] .. '","log":' .. ARGV[1] .. '}')
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[3]), -1)
return n
`)

// Store keeps app logs. Safe for concurrent use.
type Store struct {
	rdb  redis.UniversalClient
	ks   string
	kept int64
}

// NewStore returns a store keeping the newest kept entries per instance
// (default 1000).
func NewStore(rdb redis.UniversalClient, keyspace string, kept int64) *Store {
	if kept <= 0 {
		kept = 1000
	}
	return &Store{rdb: rdb, ks: keyspace, kept: kept}
}

func (s *Store) keys(instanceID string) []string {
	return []string{s.ks + "logs:{" + instanceID + "}", s.ks + "logs:seq:{" + instanceID + "}"}
}

// Append stores one log submission; compact must be compact valid JSON.
func (s *Store) Append(ctx context.Context, instanceID string, compact []byte) error {
	now := time.Now().UTC().Format(time.RFC3339Nano)
	return appendScript.Run(ctx, s.rdb, s.keys(instanceID), compact, now, s.kept).Err()
}

// Entry is one stored log submission.
type Entry struct {
	Seq        int64           `json:"seq"`
	ReceivedAt time.Time       `json:"receivedAt"`
	Log        json.RawMessage `json:"log"`
}

// After returns the kept entries with seq > after, oldest first, at most
// limit, and the seq to pass as after for the following page (or poll).
func (s *Store) After(ctx context.Context, instanceID string, after, limit int64) ([]Entry, int64, error) {
	raw, err := s.rdb.LRange(ctx, s.keys(instanceID)[0], 0, -1).Result()
	if err != nil {
		return nil, 0, err
	}
	out := make([]Entry, 0, min(int64(len(raw)), limit))
	next := after
	for _, r := range raw {
		var e Entry
		if json.Unmarshal([]byte(r), &e) != nil || e.Seq <= after {
			continue
		}
		if int64(len(out)) == limit {
			break
		}
		out = append(out, e)
		next = e.Seq
	}
	return out, next, nil
}
