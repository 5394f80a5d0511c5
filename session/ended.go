package session

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/neru-dev/neru/internal/redisx"
)

// TombstoneTTL is how long an ended session stays dead: while its tombstone
// lasts, Ensure refuses it with an *ExpiredError instead of creating it
// afresh, and only Create (session_created) starts it again.
const TombstoneTTL = 24 * time.Hour

// tombstonesPerShard bounds one tombstone set: an instance keeps at most
// IndexShards times as many (about a million, some 80 bytes each); past
// it the oldest go first, earlier than TombstoneTTL.
const tombstonesPerShard = 1 << 16

// ErrExpired: the session has ended (expired, or deleted through the admin
// API) and stays dead for TombstoneTTL. Errors that match it are an
// *ExpiredError, which says when.
var ErrExpired = errors.New("session expired")

// ExpiredError is ErrExpired with the session and the time it ended.
type ExpiredError struct {
	ID string
	At time.Time
}

func (e *ExpiredError) Error() string {
	return fmt.Sprintf("session %s expired at %s", e.ID, e.At.UTC().Format(time.RFC3339))
}

// Is makes errors.Is(err, ErrExpired) true.
func (e *ExpiredError) Is(target error) bool { return target == ErrExpired }

// tombKey is the tombstone set of one index shard: session id scored by the
// time it ended (Unix ms). It shares the hash tag of the shard's expiry
// index, so the sweep moves an entry from one to the other in one script.
func (s *Store) tombKey(instanceID string, shard int) string {
	return s.ks + "se:{" + instanceID + ":" + strconv.Itoa(shard) + "}"
}

// Ended reports whether a session has ended and when: a tombstone younger
// than TombstoneTTL, or an expiry index entry that is due although the
// record is gone (expired, not swept yet). A live record always wins over a
// tombstone, so a session started again is never reported ended. The global
// session never ends.
//
// Every delivery asks, and almost every session asked about is alive: its
// record's EXISTS goes alone through the shared round trip, and only a
// missing record costs a second one for the tombstone and the index entry.
func (s *Store) Ended(ctx context.Context, instanceID, id string) (endedAt time.Time, ended bool, err error) {
	if id == GlobalID {
		return time.Time{}, false, nil
	}
	var exists *redis.IntCmd
	err = s.trips.Pipelined(ctx, func(p redis.Pipeliner) { exists = p.Exists(ctx, s.Key(instanceID, id)) })
	if err != nil {
		return time.Time{}, false, fmt.Errorf("session: ended %s: %w", id, err)
	}
	if exists.Val() == 1 {
		return time.Time{}, false, nil
	}
	shard := shardOf(id)
	var tomb, due *redis.FloatCmd
	err = s.trips.Pipelined(ctx, func(p redis.Pipeliner) {
		tomb = p.ZScore(ctx, s.tombKey(instanceID, shard), id)
		due = p.ZScore(ctx, s.indexKey(instanceID, shard), id)
	})
	if errors.Is(err, redisx.ErrGaveUp) {
		return time.Time{}, false, fmt.Errorf("session: ended %s: %w", id, err)
	}
	return endedFrom(id, tomb, due, time.Now())
}

// endedFrom is Ended's verdict on a session without a record, from the
// ZSCOREs of its tombstone and its expiry index entry.
func endedFrom(id string, tomb, due *redis.FloatCmd, now time.Time) (endedAt time.Time, ended bool, err error) {
	for _, c := range []*redis.FloatCmd{tomb, due} {
		if err := c.Err(); err != nil && !errors.Is(err, redis.Nil) {
			return time.Time{}, false, fmt.Errorf("session: ended %s: %w", id, err)
		}
	}
	if tomb.Err() == nil {
		if at := time.UnixMilli(int64(tomb.Val())); now.Sub(at) < TombstoneTTL {
			return at.UTC(), true, nil
		}
	}
	if due.Err() == nil {
		if at := time.UnixMilli(int64(due.Val())); !at.After(now) {
			return at.UTC(), true, nil
		}
	}
	return time.Time{}, false, nil
}

// endScript ends session ARGV[1] in one index shard: it takes the expiry
// index entry out of KEYS[1] (only if its score is still ARGV[2], unless
// ARGV[2] is empty) and writes the tombstone, ended at ARGV[3] (Unix ms),
// into KEYS[2]. It then sweeps the tombstone set: entries older than
// ARGV[4] ms go, the set keeps at most ARGV[5] entries, and the set itself
// expires ARGV[4] ms after its newest entry. Both keys share a hash tag.
var endScript = redis.NewScript(`
if ARGV[2] ~= '' then
  local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
  if not score or tonumber(score) ~= tonumber(ARGV[2]) then return 0 end
end
redis.call('ZREM', KEYS[1], ARGV[1])
local at, ttl, cap = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
redis.call('ZADD', KEYS[2], at, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. (at - ttl))
local n = redis.call('ZCARD', KEYS[2])
if n > cap then redis.call('ZREMRANGEBYRANK', KEYS[2], 0, n - cap - 1) end
local newest = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[2], math.max(at, tonumber(newest[2])) + ttl)
return 1
`)

// end writes a session's tombstone and removes its index entry; score is
// the index entry it must still have ("" for any).
func (s *Store) end(ctx context.Context, instanceID, id, score string, at time.Time) (bool, error) {
	shard := shardOf(id)
	n, err := endScript.Run(ctx, s.rdb, []string{s.indexKey(instanceID, shard), s.tombKey(instanceID, shard)},
		id, score, at.UnixMilli(), TombstoneTTL.Milliseconds(), tombstonesPerShard).Int()
	if err != nil {
		return false, fmt.Errorf("session: end %s: %w", id, err)
	}
	return n == 1, nil
}

// revive prepares a session that had ended for a fresh start: what its end
// left behind (listeners, state, ...) goes, then the tombstone.
func (s *Store) revive(ctx context.Context, instanceID, id string) error {
	if err := s.cleanup(ctx, instanceID, id); err != nil {
		return err
	}
	if err := s.rdb.ZRem(ctx, s.tombKey(instanceID, shardOf(id)), id).Err(); err != nil {
		return fmt.Errorf("session: clear the tombstone of %s: %w", id, err)
	}
	return nil
}
