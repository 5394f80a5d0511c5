package session

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// IndexShards is how many expiry index sets each instance has. A session's
// shard is fnv32a(session id) mod IndexShards, so one instance's sessions
// spread over that many Redis Cluster slots. Changing it orphans index
// entries; it is a constant for that reason.
const IndexShards = 16

func shardOf(id string) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % IndexShards)
}

func (s *Store) indexKey(instanceID string, shard int) string {
	return s.ks + "sx:{" + instanceID + ":" + strconv.Itoa(shard) + "}"
}
func (s *Store) instancesKey() string      { return s.ks + "sx:instances" }
func (s *Store) sweepKey(shard int) string { return s.ks + "sx:sweep:" + strconv.Itoa(shard) }
func (s *Store) recentKey(inst, id string) string {
	return s.ks + "dl:{" + inst + ":" + KeyPart(id) + "}"
}

// index records a session's expiry in its instance's index. mode "GT"
// only moves an entry later, "LT" only earlier (both add a missing one),
// "NX" only adds a missing one; "" sets it.
func (s *Store) index(ctx context.Context, instanceID, id string, exp time.Time, mode string) error {
	return s.indexMany(ctx, instanceID, []string{id}, exp, mode)
}

// indexMany is index for many sessions of one instance ending at the same
// time, in one round trip.
func (s *Store) indexMany(ctx context.Context, instanceID string, ids []string, exp time.Time, mode string) error {
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, id := range ids {
			z := redis.Z{Score: float64(exp.UnixMilli()), Member: id}
			key := s.indexKey(instanceID, shardOf(id))
			switch mode {
			case "GT":
				p.ZAddGT(ctx, key, z)
			case "LT":
				p.ZAddLT(ctx, key, z)
			case "NX":
				p.ZAddNX(ctx, key, z)
			default:
				p.ZAdd(ctx, key, z)
			}
		}
		p.SAdd(ctx, s.instancesKey(), instanceID)
		return nil
	})
	if err != nil {
		if len(ids) == 1 {
			return fmt.Errorf("session: index %s: %w", ids[0], err)
		}
		return fmt.Errorf("session: index %d sessions: %w", len(ids), err)
	}
	return nil
}

// Count returns how many sessions of an instance are live, the global
// session not included. It costs one pipelined ZCOUNT per index shard.
func (s *Store) Count(ctx context.Context, instanceID string) (int64, error) {
	now := strconv.FormatInt(time.Now().UnixMilli(), 10)
	cmds := make([]*redis.IntCmd, IndexShards)
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for k := range IndexShards {
			cmds[k] = p.ZCount(ctx, s.indexKey(instanceID, k), "("+now, "+inf")
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("session: count: %w", err)
	}
	var n int64
	for _, c := range cmds {
		n += c.Val()
	}
	return n, nil
}

// ErrBadCursor: a List cursor that List did not return.
var ErrBadCursor = errors.New("session: invalid cursor")

// List returns a page of at most limit live sessions of an instance and the
// cursor of the next page ("" after the last). Pages go shard by shard, each
// in expiry order; the global session, if it exists, opens the first page.
// Sessions created, extended or ended while paging may be missed or
// repeated, as with SCAN.
func (s *Store) List(ctx context.Context, instanceID, cursor string, limit int) ([]*Session, string, error) {
	limit = min(max(limit, 1), 1000)
	shard, lastScore, lastID := 0, 0.0, ""
	var ids []string
	if cursor != "" {
		var err error
		if shard, lastScore, lastID, err = decodeCursor(cursor); err != nil {
			return nil, "", err
		}
	} else {
		ids = append(ids, GlobalID) // dropped by load if it does not exist
	}
	// Collect one id more than the page holds: it tells whether there is a
	// next page.
	for ; shard < IndexShards && len(ids) <= limit; shard++ {
		key := s.indexKey(instanceID, shard)
		start := int64(0)
		if lastID != "" {
			// Resume after the last entry returned, found by rank; if it is
			// gone, after every entry that expires no later than it did.
			rank, err := s.rdb.ZRank(ctx, key, lastID).Result()
			switch {
			case err == nil:
				start = rank + 1
			case errors.Is(err, redis.Nil):
				if start, err = s.rdb.ZCount(ctx, key, "-inf", strconv.FormatFloat(lastScore, 'f', -1, 64)).Result(); err != nil {
					return nil, "", fmt.Errorf("session: list: %w", err)
				}
			default:
				return nil, "", fmt.Errorf("session: list: %w", err)
			}
			lastID = ""
		}
		want := int64(limit + 1 - len(ids))
		more, err := s.rdb.ZRange(ctx, key, start, start+want-1).Result()
		if err != nil {
			return nil, "", fmt.Errorf("session: list: %w", err)
		}
		ids = append(ids, more...)
	}
	next := ""
	if len(ids) > limit {
		ids = ids[:limit]
		next = s.cursorAfter(ctx, instanceID, ids[limit-1])
	}
	out, err := s.load(ctx, instanceID, ids)
	return out, next, err
}

// cursorAfter is the cursor that resumes after session id.
func (s *Store) cursorAfter(ctx context.Context, instanceID, id string) string {
	if id == GlobalID {
		return encodeCursor(0, math.Inf(-1), "")
	}
	k := shardOf(id)
	score, _ := s.rdb.ZScore(ctx, s.indexKey(instanceID, k), id).Result()
	return encodeCursor(k, score, id)
}

// load reads the records of ids, skipping those that no longer exist.
func (s *Store) load(ctx context.Context, instanceID string, ids []string) ([]*Session, error) {
	raws := make([]*redis.StringCmd, len(ids))
	ats := make([]*redis.Cmd, len(ids))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			raws[i] = p.Get(ctx, s.Key(instanceID, id))
			ats[i] = p.Do(ctx, "PEXPIRETIME", s.Key(instanceID, id))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("session: list: %w", err)
	}
	out := make([]*Session, 0, len(ids))
	for i, id := range ids {
		sess, err := decodeSession(instanceID, id, raws[i], ats[i], nil)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, sess)
	}
	return out, nil
}

func encodeCursor(shard int, score float64, id string) string {
	raw := strconv.Itoa(shard) + ":" + strconv.FormatFloat(score, 'f', -1, 64) + ":" + id
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func decodeCursor(c string) (shard int, score float64, id string, err error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, 0, "", ErrBadCursor
	}
	parts := strings.SplitN(string(raw), ":", 3)
	if len(parts) != 3 {
		return 0, 0, "", ErrBadCursor
	}
	shard, err1 := strconv.Atoi(parts[0])
	score, err2 := strconv.ParseFloat(parts[1], 64)
	if err1 != nil || err2 != nil || shard < 0 || shard >= IndexShards {
		return 0, 0, "", ErrBadCursor
	}
	return shard, score, parts[2], nil
}

// unindexScript removes index entry ARGV[1] from KEYS[1] only if its score is
// still ARGV[2]: a session re-created or extended since the sweep looked at
// it keeps its entry.
var unindexScript = redis.NewScript(`
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) == tonumber(ARGV[2]) then
  return redis.call('ZREM', KEYS[1], ARGV[1])
end
return 0
`)

// moveScript sets index entry ARGV[1] of KEYS[1] to ARGV[3] only if its
// score is still ARGV[2].
var moveScript = redis.NewScript(`
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) == tonumber(ARGV[2]) then
  return redis.call('ZADD', KEYS[1], 'XX', ARGV[3], ARGV[1])
end
return 0
`)

// sweepBatch bounds the entries one sweep reads from one index set at once.
const sweepBatch = 256

// Sweep removes what the sessions that expired by now leave behind:
// listeners, state, recent deliveries and index entries. Every worker may
// call it at every tick: each index shard is swept by whoever takes its
// lock (SET NX, held for hold) first, so sweeps are not repeated within
// hold; repeating one would be harmless. It returns how many sessions it
// cleaned up.
func (s *Store) Sweep(ctx context.Context, owner string, now time.Time, hold time.Duration) (int, error) {
	locks := make([]*redis.BoolCmd, IndexShards)
	var insts *redis.StringSliceCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for k := range IndexShards {
			locks[k] = p.SetNX(ctx, s.sweepKey(k), owner, hold)
		}
		insts = p.SMembers(ctx, s.instancesKey())
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("session: sweep: %w", err)
	}
	// One pipelined probe finds the index sets with anything due, so an
	// idle tick costs two round trips whatever the number of instances.
	type set struct {
		inst  string
		shard int
		due   *redis.ZSliceCmd
	}
	var sets []set
	stop := strconv.FormatInt(now.UnixMilli(), 10)
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for k, l := range locks {
			if !l.Val() {
				continue
			}
			for _, inst := range insts.Val() {
				due := p.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{Key: s.indexKey(inst, k), Start: "-inf", Stop: stop, ByScore: true, Count: 1})
				sets = append(sets, set{inst, k, due})
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("session: sweep: %w", err)
	}
	removed := 0
	var errs []error
	for _, st := range sets {
		if len(st.due.Val()) == 0 {
			continue
		}
		n, err := s.sweepShard(ctx, st.inst, st.shard, now)
		removed += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	return removed, errors.Join(errs...)
}

// sweepShard sweeps one index set, a batch at a time.
func (s *Store) sweepShard(ctx context.Context, instanceID string, shard int, now time.Time) (int, error) {
	key := s.indexKey(instanceID, shard)
	removed := 0
	for range 64 { // at most 64 batches a tick; the rest waits for the next
		due, err := s.rdb.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{
			Key: key, Start: "-inf", Stop: strconv.FormatInt(now.UnixMilli(), 10), ByScore: true, Count: sweepBatch,
		}).Result()
		if err != nil {
			return removed, fmt.Errorf("session: sweep %s: %w", key, err)
		}
		if len(due) == 0 {
			return removed, nil
		}
		ats := make([]*redis.Cmd, len(due))
		if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, z := range due {
				ats[i] = p.Do(ctx, "PEXPIRETIME", s.Key(instanceID, z.Member.(string)))
			}
			return nil
		}); err != nil {
			return removed, fmt.Errorf("session: sweep %s: %w", key, err)
		}
		for i, z := range due {
			id := z.Member.(string)
			score := strconv.FormatFloat(z.Score, 'f', -1, 64)
			at, err := ats[i].Int64()
			if err != nil {
				return removed, fmt.Errorf("session: sweep %s: %w", id, err)
			}
			switch {
			case at > 0:
				// Alive: the index is behind a sliding extension or a
				// re-creation. Move the entry to the record's expiry,
				// unless it changed since it was read: a session_created
				// meanwhile may have moved both earlier, and the entry
				// must never end after the record (see put).
				err = moveScript.Run(ctx, s.rdb, []string{key}, id, score, at).Err()
			case at == -1:
				// A record without expiry is the global session's; it
				// does not belong in the index.
				err = unindexScript.Run(ctx, s.rdb, []string{key}, id, score).Err()
			default: // -2: expired
				// Cleanup first, then the tombstone replaces the index
				// entry (one script): until then Ended sees the due entry.
				s.forget(instanceID, id)
				if err = s.cleanup(ctx, instanceID, id); err == nil {
					_, err = s.end(ctx, instanceID, id, score, time.UnixMilli(int64(z.Score)))
					removed++
				}
			}
			if err != nil {
				return removed, fmt.Errorf("session: sweep %s: %w", id, err)
			}
		}
		if len(due) < sweepBatch {
			return removed, nil
		}
	}
	return removed, nil
}
