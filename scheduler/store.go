package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/neru-dev/neru/session"
)

// DefaultMaxPerInstance bounds the schedules one instance may hold.
const DefaultMaxPerInstance = 10000

// Store keeps schedules in Redis. Safe for concurrent use.
type Store struct {
	rdb redis.UniversalClient
	ks  string
	max int
}

// NewStore returns a Store whose keys start with keyspace; an instance may
// hold at most maxPerInstance schedules (0: DefaultMaxPerInstance).
func NewStore(rdb redis.UniversalClient, keyspace string, maxPerInstance int) *Store {
	if maxPerInstance <= 0 {
		maxPerInstance = DefaultMaxPerInstance
	}
	return &Store{rdb: rdb, ks: keyspace, max: maxPerInstance}
}

// keys are one instance's keys, all in one hash slot. bys is the prefix of
// the per-session sets, completed by session.KeyPart(session id).
type keys struct{ rec, cnt, due, run, firing, ids, seq, sess, bys string }

func (s *Store) keys(instanceID string) keys {
	p := s.ks + "sch:{" + instanceID + "}:"
	return keys{p + "rec", p + "cnt", p + "due", p + "run", p + "firing", p + "ids", p + "seq", p + "sess", p + "bys:"}
}

func (k keys) all() []string {
	return []string{k.rec, k.cnt, k.due, k.run, k.firing, k.ids, k.seq, k.sess}
}

// unsessLua takes schedule ARGV[1] out of its session's set; the sess hash
// is KEYS[n] and the set prefix ARGV[p]. The set's key is built in the
// script from the sess hash: it shares the instance's hash tag.
func unsessLua(n, p int) string {
	return fmt.Sprintf(`
local oldsess = redis.call('HGET', KEYS[%[1]d], ARGV[1])
if oldsess then
  redis.call('SREM', ARGV[%[2]d] .. oldsess, ARGV[1])
  redis.call('HDEL', KEYS[%[1]d], ARGV[1])
end
`, n, p)
}

func (s *Store) instancesKey() string { return s.ks + "sch:instances" }

var (
	// KEYS rec cnt due run firing ids seq sess; ARGV id json dueMs max bysPrefix sessionPart
	createScript = redis.NewScript(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[4]) then return -1 end` +
		unsessLua(8, 5) + `
redis.call('HSET', KEYS[8], ARGV[1], ARGV[6])
redis.call('SADD', ARGV[5] .. ARGV[6], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('HDEL', KEYS[5], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
if not redis.call('ZSCORE', KEYS[6], ARGV[1]) then
  redis.call('ZADD', KEYS[6], redis.call('INCR', KEYS[7]), ARGV[1])
end
return 1`)

	// KEYS rec cnt due run firing ids seq sess; ARGV id bysPrefix
	cancelScript = redis.NewScript(unsessLua(8, 2) + `
local n = redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('HDEL', KEYS[5], ARGV[1])
redis.call('ZREM', KEYS[6], ARGV[1])
return n`)

	// claimScript takes, first, claims whose deadline passed (their runner
	// died or stalled) and, then, due entries, giving all of them the new
	// deadline. It returns {entries left, id1, due1, id2, due2, ...}.
	// KEYS due run firing; ARGV nowMs deadlineMs batch
	claimScript = redis.NewScript(`
local out = {0}
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, id in ipairs(stale) do
  redis.call('ZADD', KEYS[2], ARGV[2], id)
  out[#out+1] = id
  out[#out+1] = redis.call('HGET', KEYS[3], id) or '0'
end
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, ARGV[3])
for i = 1, #due, 2 do
  redis.call('ZREM', KEYS[1], due[i])
  redis.call('ZADD', KEYS[2], ARGV[2], due[i])
  redis.call('HSET', KEYS[3], due[i], due[i+1])
  out[#out+1] = due[i]
  out[#out+1] = due[i+1]
end
out[1] = redis.call('ZCARD', KEYS[1]) + redis.call('ZCARD', KEYS[2])
return out`)

	// advanceScript settles a claim, if it is still the one for that due
	// time: it counts the invocation, then re-queues the schedule at its
	// next due time, or deletes it (nextMs 0). Returns 0 if the claim was
	// no longer ours, 1 re-queued, 2 deleted.
	// KEYS rec cnt due run firing ids sess; ARGV id dueMs nextMs bysPrefix
	advanceScript = redis.NewScript(`
if redis.call('HGET', KEYS[5], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[5], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
if ARGV[3] == '0' then` + unsessLua(7, 4) + `
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[6], ARGV[1])
  return 2
end
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
return 1`)

	// removeSessionScript deletes every schedule of one session: the set
	// KEYS[8] lists them. It returns how many there were.
	// KEYS rec cnt due run firing ids sess bys
	removeSessionScript = redis.NewScript(`
local ids = redis.call('SMEMBERS', KEYS[8])
for _, id in ipairs(ids) do
  redis.call('HDEL', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
  redis.call('ZREM', KEYS[3], id)
  redis.call('ZREM', KEYS[4], id)
  redis.call('HDEL', KEYS[5], id)
  redis.call('ZREM', KEYS[6], id)
  redis.call('HDEL', KEYS[7], id)
end
redis.call('DEL', KEYS[8])
return #ids`)
)

// Create stores s for an instance, replacing a schedule with the same id,
// and makes it due at s.StartAt.
func (s *Store) Create(ctx context.Context, instanceID string, sc *Schedule) error {
	rec, err := json.Marshal(sc)
	if err != nil {
		return err
	}
	k := s.keys(instanceID)
	// Listed before and after the write: see the package doc.
	if err := s.rdb.SAdd(ctx, s.instancesKey(), instanceID).Err(); err != nil {
		return fmt.Errorf("scheduler: create %s: %w", sc.ID, err)
	}
	n, err := createScript.Run(ctx, s.rdb, k.all(), sc.ID, rec, sc.StartAt.UnixMilli(), s.max,
		k.bys, session.KeyPart(sc.Callback.SessionID)).Int()
	if err != nil {
		return fmt.Errorf("scheduler: create %s: %w", sc.ID, err)
	}
	if n < 0 {
		return fmt.Errorf("%w: an instance may hold %d", ErrLimit, s.max)
	}
	if err := s.rdb.SAdd(ctx, s.instancesKey(), instanceID).Err(); err != nil {
		return fmt.Errorf("scheduler: create %s: %w", sc.ID, err)
	}
	return nil
}

// Cancel deletes a schedule; ErrNotFound if there was none. An invocation
// already published is still delivered.
func (s *Store) Cancel(ctx context.Context, instanceID, id string) error {
	k := s.keys(instanceID)
	n, err := cancelScript.Run(ctx, s.rdb, k.all(), id, k.bys).Int()
	if err != nil {
		return fmt.Errorf("scheduler: cancel %s: %w", id, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// Get returns a schedule as the SDKs' get shows it.
func (s *Store) Get(ctx context.Context, instanceID, id string) (*View, error) {
	vs, err := s.views(ctx, instanceID, []string{id})
	if err != nil {
		return nil, err
	}
	if vs[0] == nil {
		return nil, ErrNotFound
	}
	return vs[0], nil
}

// List returns up to size schedule ids in creation order, starting after
// cursor (0: from the start), and the cursor of the next page (0: none).
func (s *Store) List(ctx context.Context, instanceID string, cursor int64, size int) ([]string, int64, error) {
	size = max(size, 1)
	zs, err := s.rdb.ZRangeByScoreWithScores(ctx, s.keys(instanceID).ids, &redis.ZRangeBy{
		Min: "(" + strconv.FormatInt(cursor, 10), Max: "+inf", Count: int64(size) + 1,
	}).Result()
	if err != nil {
		return nil, 0, fmt.Errorf("scheduler: list: %w", err)
	}
	var next int64
	if len(zs) > size {
		zs = zs[:size]
		next = int64(zs[size-1].Score)
	}
	ids := make([]string, len(zs))
	for i, z := range zs {
		ids[i] = z.Member.(string)
	}
	return ids, next, nil
}

// Page is List with each schedule's view, for the admin API.
func (s *Store) Page(ctx context.Context, instanceID string, cursor int64, size int) ([]*View, int64, error) {
	ids, next, err := s.List(ctx, instanceID, cursor, size)
	if err != nil || len(ids) == 0 {
		return nil, next, err
	}
	vs, err := s.views(ctx, instanceID, ids)
	if err != nil {
		return nil, 0, err
	}
	out := vs[:0]
	for _, v := range vs {
		if v != nil {
			out = append(out, v)
		}
	}
	return out, next, nil
}

// views loads schedules in one round trip; a missing one is nil.
func (s *Store) views(ctx context.Context, instanceID string, ids []string) ([]*View, error) {
	k := s.keys(instanceID)
	type cmds struct {
		rec, cnt *redis.StringCmd
		due      *redis.FloatCmd
	}
	cs := make([]cmds, len(ids))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cs[i] = cmds{p.HGet(ctx, k.rec, id), p.HGet(ctx, k.cnt, id), p.ZScore(ctx, k.due, id)}
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("scheduler: get: %w", err)
	}
	out := make([]*View, len(ids))
	for i, c := range cs {
		raw, err := c.rec.Bytes()
		if errors.Is(err, redis.Nil) {
			continue
		}
		sc := new(Schedule)
		if err := json.Unmarshal(raw, sc); err != nil {
			return nil, fmt.Errorf("scheduler: decode %s: %w", ids[i], err)
		}
		n, _ := c.cnt.Int()
		var next time.Time
		if ms, err := c.due.Result(); err == nil {
			next = time.UnixMilli(int64(ms))
		}
		out[i] = sc.view(n, next)
	}
	return out, nil
}

// claim is one due invocation a runner holds.
type claim struct {
	instance, id string
	due          string // unix ms, exactly as stored: the advance script compares it
	sc           *Schedule
	invocations  int // before this one
}

func (c *claim) dueTime() time.Time {
	ms, _ := strconv.ParseFloat(c.due, 64)
	return time.UnixMilli(int64(ms))
}

// instances returns the instances that may have schedules.
func (s *Store) instances(ctx context.Context) ([]string, error) {
	return s.rdb.SMembers(ctx, s.instancesKey()).Result()
}

// claimDue claims, in one round trip, the due and stale entries of several
// instances. empty lists the instances that had nothing left at all.
func (s *Store) claimDue(ctx context.Context, instances []string, now, deadline time.Time, batch int) (claims []*claim, empty []string, err error) {
	cmds := make([]*redis.Cmd, len(instances))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, in := range instances {
			k := s.keys(in)
			// Eval, not EvalSha: a pipeline cannot fall back on NOSCRIPT.
			cmds[i] = claimScript.Eval(ctx, p, []string{k.due, k.run, k.firing}, now.UnixMilli(), deadline.UnixMilli(), batch)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("scheduler: claim: %w", err)
	}
	for i, c := range cmds {
		vals, err := c.Slice()
		if err != nil || len(vals) == 0 {
			continue
		}
		if left, _ := vals[0].(int64); left == 0 && len(vals) == 1 {
			empty = append(empty, instances[i])
		}
		for j := 1; j+1 < len(vals); j += 2 {
			id, _ := vals[j].(string)
			due, _ := vals[j+1].(string)
			claims = append(claims, &claim{instance: instances[i], id: id, due: due})
		}
	}
	return claims, empty, nil
}

// load fills in the schedules of claims in one round trip and returns the
// claims whose schedule still exists.
func (s *Store) load(ctx context.Context, claims []*claim) ([]*claim, error) {
	recs := make([]*redis.StringCmd, len(claims))
	cnts := make([]*redis.StringCmd, len(claims))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, c := range claims {
			k := s.keys(c.instance)
			recs[i], cnts[i] = p.HGet(ctx, k.rec, c.id), p.HGet(ctx, k.cnt, c.id)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("scheduler: load: %w", err)
	}
	out := claims[:0]
	for i, c := range claims {
		raw, err := recs[i].Bytes()
		if err != nil {
			continue // cancelled since it was claimed
		}
		sc := new(Schedule)
		if json.Unmarshal(raw, sc) != nil || sc.compile() != nil {
			// Cannot happen for what Parse accepted; do not fire it forever.
			_ = s.Cancel(ctx, c.instance, c.id)
			continue
		}
		c.sc = sc
		c.invocations, _ = cnts[i].Int()
		out = append(out, c)
	}
	return out, nil
}

// advance settles a fired claim: next is its next due time, or zero when
// the schedule is done.
func (s *Store) advance(ctx context.Context, c *claim, next time.Time) error {
	nextMs := int64(0)
	if !next.IsZero() {
		nextMs = next.UnixMilli()
	}
	k := s.keys(c.instance)
	return advanceScript.Run(ctx, s.rdb, []string{k.rec, k.cnt, k.due, k.run, k.firing, k.ids, k.sess}, c.id, c.due, nextMs, k.bys).Err()
}

// RemoveSession deletes the schedules of a session (its end: expiry or
// delete) and returns how many there were; an invocation already published
// is still delivered. Schedules created before the per-session sets
// existed are not found. Idempotent.
func (s *Store) RemoveSession(ctx context.Context, instanceID, sessionID string) (int, error) {
	k := s.keys(instanceID)
	n, err := removeSessionScript.Run(ctx, s.rdb,
		[]string{k.rec, k.cnt, k.due, k.run, k.firing, k.ids, k.sess, k.bys + session.KeyPart(sessionID)}).Int()
	if err != nil {
		return 0, fmt.Errorf("scheduler: remove schedules of session %s: %w", sessionID, err)
	}
	return n, nil
}

// forget drops an instance without schedules from the work list. It checks
// again after removing it and puts it back if a schedule appeared meanwhile
// (Create lists the instance after writing).
func (s *Store) forget(ctx context.Context, instanceID string) error {
	if err := s.rdb.SRem(ctx, s.instancesKey(), instanceID).Err(); err != nil {
		return err
	}
	k := s.keys(instanceID)
	n, err := s.rdb.Exists(ctx, k.due, k.run).Result()
	if err != nil || n > 0 {
		return s.rdb.SAdd(ctx, s.instancesKey(), instanceID).Err()
	}
	return nil
}
