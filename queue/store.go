package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/neru-dev/neru/listener"
	"github.com/neru-dev/neru/session"
)

// Limits of a Store. Zero values take the defaults.
type Limits struct {
	MaxItems      int // items waiting or in flight per queue; default 100000
	DeadLetterCap int // dead letters kept per queue (the oldest go); default 10000
	MaxQueues     int // queues per instance; default 1000
}

func (l *Limits) setDefaults() {
	if l.MaxItems <= 0 {
		l.MaxItems = 100000
	}
	if l.DeadLetterCap <= 0 {
		l.DeadLetterCap = 10000
	}
	if l.MaxQueues <= 0 {
		l.MaxQueues = 1000
	}
}

// Store keeps queues and their items in Redis. Safe for concurrent use.
type Store struct {
	rdb redis.UniversalClient
	ks  string
	lim Limits
}

// NewStore returns a Store whose keys start with keyspace.
func NewStore(rdb redis.UniversalClient, keyspace string, lim Limits) *Store {
	lim.setDefaults()
	return &Store{rdb: rdb, ks: keyspace, lim: lim}
}

// Ref names one queue of one instance.
type Ref struct{ Instance, Name string }

func (r Ref) String() string { return r.Instance + "/" + r.Name }

func parseRef(s string) (Ref, bool) {
	in, name, ok := strings.Cut(s, "/")
	return Ref{in, name}, ok
}

// keys are one queue's keys, all in one hash slot.
type keys struct{ meta, items, data, att, run, retry, dl, stats, lease string }

func (s *Store) keys(r Ref) keys {
	p := s.ks + "q:{" + r.String() + "}:"
	return keys{p + "meta", p + "items", p + "data", p + "att", p + "run", p + "retry", p + "dl", p + "stats", p + "lease"}
}

func (k keys) all() []string {
	return []string{k.meta, k.items, k.data, k.att, k.run, k.retry, k.dl, k.stats, k.lease}
}

func (s *Store) namesKey(instanceID string) string { return s.ks + "q:{" + instanceID + "}:names" }

// sessionKey is the set of the names of an instance's queues whose callback
// is in that session.
func (s *Store) sessionKey(instanceID, sessionID string) string {
	return s.ks + "q:{" + instanceID + "}:s:" + session.KeyPart(sessionID)
}

// callbackSession reads the session of a queue's callback ("" if the queue
// does not exist).
func (s *Store) callbackSession(ctx context.Context, r Ref) (string, error) {
	raw, err := s.rdb.HGet(ctx, s.keys(r).meta, "callback").Bytes()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	var cb listener.Callback
	if err := json.Unmarshal(raw, &cb); err != nil {
		return "", fmt.Errorf("decode callback: %w", err)
	}
	return cb.SessionID, nil
}
func (s *Store) allKey() string     { return s.ks + "q:all" }
func (s *Store) membersKey() string { return s.ks + "q:dispatchers" }

// Every script reads the time from Redis: rates and leases then hold
// whatever the dispatchers' clocks say.
const redisNow = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function num(x) return string.format('%.0f', x) end
`

var (
	// KEYS meta; ARGV field value ...; returns 0 if the queue does not exist.
	setIfExists = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1`)

	// KEYS meta items data run retry stats; ARGV maxItems item...
	enqueueScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local n = #ARGV - 1
if redis.call('LLEN', KEYS[2]) + redis.call('ZCARD', KEYS[4]) + redis.call('ZCARD', KEYS[5]) + n > tonumber(ARGV[1]) then return -2 end
local last = redis.call('HINCRBY', KEYS[1], 'seq', n)
for i = 1, n do
  local id = string.format('%.0f', last - n + i)
  redis.call('HSET', KEYS[3], id, ARGV[i + 1])
  redis.call('RPUSH', KEYS[2], id)
end
redis.call('HINCRBY', KEYS[6], 'totalEnqueue', n)
return n`)

	// takeScript admits the next item if the queue is active, below its
	// in-flight limit and its rate allows: it leases the item and returns
	// {1, id, item, attempt, callback, gen}. Otherwise {code, waitµs}:
	// -1 no such queue, -2 paused, -3 in-flight limit, -4 empty, -5 rate.
	// First, expired leases and due retries go back to the head.
	// KEYS meta items data att run retry; ARGV leaseµs
	takeScript = redis.NewScript(redisNow + `
local back = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', num(now), 'LIMIT', 0, 100)
for i = #back, 1, -1 do redis.call('ZREM', KEYS[5], back[i]); redis.call('LPUSH', KEYS[2], back[i]) end
local due = redis.call('ZRANGEBYSCORE', KEYS[6], '-inf', num(now), 'LIMIT', 0, 100)
for i = #due, 1, -1 do redis.call('ZREM', KEYS[6], due[i]); redis.call('LPUSH', KEYS[2], due[i]) end
local m = redis.call('HMGET', KEYS[1], 'active', 'mps', 'max', 'tat', 'callback', 'gen')
if not m[1] then return {-1, 0} end
if m[1] ~= '1' then return {-2, 0} end
if redis.call('ZCARD', KEYS[5]) >= tonumber(m[3]) then return {-3, 0} end
if redis.call('LLEN', KEYS[2]) == 0 then
  local r = redis.call('ZRANGE', KEYS[6], 0, 0, 'WITHSCORES')
  if r[2] then return {-4, num(tonumber(r[2]) - now)} end
  return {-4, 0}
end
local tat = tonumber(m[4] or '0')
if tat > now then return {-5, num(tat - now)} end
local id = redis.call('LPOP', KEYS[2])
local item = redis.call('HGET', KEYS[3], id)
if not item then return {0, 0} end
redis.call('ZADD', KEYS[5], num(now + tonumber(ARGV[1])), id)
local sec = math.floor(now / 1000000)
local w = redis.call('HMGET', KEYS[1], 'win', 'cnt')
local win, cnt = tonumber(w[1] or '0'), tonumber(w[2] or '0')
if win == sec then
  cnt = cnt + 1
else
  local prev = 0
  if win == sec - 1 then prev = cnt end
  redis.call('HSET', KEYS[1], 'win', num(sec), 'prev', num(prev))
  cnt = 1
end
redis.call('HSET', KEYS[1], 'tat', num(math.max(tat, now) + 1000000 / tonumber(m[2])), 'cnt', num(cnt))
local att = tonumber(redis.call('HGET', KEYS[4], id) or '0')
return {1, id, item, att + 1, m[5], m[6] or ''}`)

	// KEYS meta items data att run stats; ARGV id
	ackScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('ZREM', KEYS[5], ARGV[1]) == 0 then
  -- Its lease expired and it went back to the queue; it was delivered after all.
  redis.call('LREM', KEYS[2], 1, ARGV[1])
end
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('HINCRBY', KEYS[6], 'totalSent', 1)
return 1`)

	// failScript records a failed attempt: the item is retried after
	// backoffµs, or, at maxAttempts failures, dead-lettered. Returns 0 if
	// the item was no longer leased, 1 retry, 2 dead.
	// KEYS meta data att run retry dl stats; ARGV id maxAttempts backoffµs dlCap
	failScript = redis.NewScript(redisNow + `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('ZREM', KEYS[4], ARGV[1]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[7], 'totalError', 1)
local n = redis.call('HINCRBY', KEYS[3], ARGV[1], 1)
if n >= tonumber(ARGV[2]) then
  local item = redis.call('HGET', KEYS[2], ARGV[1])
  if item then
    redis.call('RPUSH', KEYS[6], item)
    redis.call('LTRIM', KEYS[6], -tonumber(ARGV[4]), -1)
  end
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('HDEL', KEYS[3], ARGV[1])
  return 2
end
redis.call('ZADD', KEYS[5], num(now + tonumber(ARGV[3])), ARGV[1])
return 1`)

	// releaseScript returns an item whose delivery was abandoned (shutdown)
	// to the head of the queue, without counting an attempt.
	// KEYS items run; ARGV id
	releaseScript = redis.NewScript(`
if redis.call('ZREM', KEYS[2], ARGV[1]) == 1 then redis.call('LPUSH', KEYS[1], ARGV[1]) end
return 1`)
)

// Create creates a queue, or updates the callback, rate and state of an
// existing one (its items stay).
func (s *Store) Create(ctx context.Context, instanceID string, q *Queue) error {
	r := Ref{instanceID, q.Name}
	k := s.keys(r)
	n, err := s.rdb.ZCard(ctx, s.namesKey(instanceID)).Result()
	if err != nil {
		return fmt.Errorf("queue: create %s: %w", q.Name, err)
	}
	if n >= int64(s.lim.MaxQueues) {
		if known, _ := s.rdb.ZScore(ctx, s.namesKey(instanceID), q.Name).Result(); known == 0 {
			return fmt.Errorf("%w: an instance may have %d queues", ErrFull, s.lim.MaxQueues)
		}
	}
	cb, err := json.Marshal(q.Callback)
	if err != nil {
		return err
	}
	// The queue belongs to its callback's session: it goes when that
	// session ends (RemoveSession). Listed there before the write, so an
	// end meanwhile cannot miss it; unlisted from a previous session after.
	prev, err := s.callbackSession(ctx, r)
	if err != nil {
		return fmt.Errorf("queue: create %s: %w", q.Name, err)
	}
	if err := s.rdb.SAdd(ctx, s.sessionKey(instanceID, q.Callback.SessionID), q.Name).Err(); err != nil {
		return fmt.Errorf("queue: create %s: %w", q.Name, err)
	}
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, k.meta, "callback", cb, "mps", strconv.FormatFloat(q.Rate.MsgPerSecond, 'g', -1, 64),
			"max", q.Rate.MaxInflight, "active", active(q.Active))
		p.HSetNX(ctx, k.meta, "gen", uuid.NewString()[:8])
		return nil
	})
	if err != nil {
		return fmt.Errorf("queue: create %s: %w", q.Name, err)
	}
	// Listed after the write; Delete unlists before deleting (package doc).
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAddNX(ctx, s.namesKey(instanceID), redis.Z{Score: float64(time.Now().UnixMilli()), Member: q.Name})
		p.SAdd(ctx, s.allKey(), r.String())
		if prev != "" && prev != q.Callback.SessionID {
			p.SRem(ctx, s.sessionKey(instanceID, prev), q.Name)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("queue: create %s: %w", q.Name, err)
	}
	return nil
}

// RemoveSession deletes the queues whose callback is in a session that
// ended, with their items and dead letters, so none of them is delivered
// with the dead session; it returns how many. A queue re-created since in
// another session stays. Items in flight finish. Idempotent.
func (s *Store) RemoveSession(ctx context.Context, instanceID, sessionID string) (int, error) {
	set := s.sessionKey(instanceID, sessionID)
	names, err := s.rdb.SMembers(ctx, set).Result()
	if err != nil {
		return 0, fmt.Errorf("queue: remove queues of session %s: %w", sessionID, err)
	}
	n := 0
	for _, name := range names {
		cur, err := s.callbackSession(ctx, Ref{instanceID, name})
		if err != nil {
			return n, fmt.Errorf("queue: remove queues of session %s: %s: %w", sessionID, name, err)
		}
		if cur != sessionID {
			continue
		}
		switch err := s.Delete(ctx, instanceID, name); {
		case err == nil:
			n++
		case !errors.Is(err, ErrNotFound):
			return n, err
		}
	}
	if err := s.rdb.Del(ctx, set).Err(); err != nil {
		return n, fmt.Errorf("queue: remove queues of session %s: %w", sessionID, err)
	}
	return n, nil
}

func active(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func (s *Store) set(ctx context.Context, r Ref, fieldValues ...any) error {
	n, err := setIfExists.Run(ctx, s.rdb, []string{s.keys(r).meta}, fieldValues...).Int()
	if err != nil {
		return fmt.Errorf("queue: update %s: %w", r.Name, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// Update changes a queue's rate; it applies to the next item.
func (s *Store) Update(ctx context.Context, instanceID, name string, rate Rate) error {
	return s.set(ctx, Ref{instanceID, name}, "mps", strconv.FormatFloat(rate.MsgPerSecond, 'g', -1, 64), "max", rate.MaxInflight)
}

// SetActive pauses (false) or resumes (true) a queue. Items in flight finish.
func (s *Store) SetActive(ctx context.Context, instanceID, name string, on bool) error {
	return s.set(ctx, Ref{instanceID, name}, "active", active(on))
}

// Delete deletes a queue with its items and dead letters.
func (s *Store) Delete(ctx context.Context, instanceID, name string) error {
	r := Ref{instanceID, name}
	k := s.keys(r)
	n, err := s.rdb.Exists(ctx, k.meta).Result()
	if err != nil {
		return fmt.Errorf("queue: delete %s: %w", name, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	sess, err := s.callbackSession(ctx, r)
	if err != nil {
		return fmt.Errorf("queue: delete %s: %w", name, err)
	}
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.SRem(ctx, s.allKey(), r.String())
		p.ZRem(ctx, s.namesKey(instanceID), name)
		if sess != "" {
			p.SRem(ctx, s.sessionKey(instanceID, sess), name)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("queue: delete %s: %w", name, err)
	}
	if err := s.rdb.Del(ctx, k.all()...).Err(); err != nil {
		return fmt.Errorf("queue: delete %s: %w", name, err)
	}
	return nil
}

// List returns an instance's queue names in creation order.
func (s *Store) List(ctx context.Context, instanceID string) ([]string, error) {
	names, err := s.rdb.ZRange(ctx, s.namesKey(instanceID), 0, int64(s.lim.MaxQueues)-1).Result()
	if err != nil {
		return nil, fmt.Errorf("queue: list: %w", err)
	}
	return names, nil
}

// Details returns a queue's definition and counters.
func (s *Store) Details(ctx context.Context, instanceID, name string) (*Details, error) {
	k := s.keys(Ref{instanceID, name})
	var meta, stats *redis.MapStringStringCmd
	var run, retry, items, dl *redis.IntCmd
	var now *redis.TimeCmd
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		meta, stats = p.HGetAll(ctx, k.meta), p.HGetAll(ctx, k.stats)
		run, retry, items, dl = p.ZCard(ctx, k.run), p.ZCard(ctx, k.retry), p.LLen(ctx, k.items), p.LLen(ctx, k.dl)
		now = p.Time(ctx)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("queue: details %s: %w", name, err)
	}
	m := meta.Val()
	if len(m) == 0 {
		return nil, ErrNotFound
	}
	d := &Details{Queue: Queue{Name: name, Active: m["active"] == "1"}}
	_ = json.Unmarshal([]byte(m["callback"]), &d.Queue.Callback)
	if d.Queue.Callback.Filters == nil {
		d.Queue.Callback.Filters = []listener.Filter{}
	}
	d.Queue.Rate.MsgPerSecond, _ = strconv.ParseFloat(m["mps"], 64)
	d.Queue.Rate.MaxInflight, _ = strconv.Atoi(m["max"])
	st := stats.Val()
	d.Stats.TotalSent, _ = strconv.ParseInt(st["totalSent"], 10, 64)
	d.Stats.TotalError, _ = strconv.ParseInt(st["totalError"], 10, 64)
	d.Stats.TotalEnqueue, _ = strconv.ParseInt(st["totalEnqueue"], 10, 64)
	d.Stats.CurrentInflight = run.Val()
	d.Stats.Waiting = items.Val() + retry.Val()
	d.Stats.DeadLetters = dl.Val()
	win, _ := strconv.ParseInt(m["win"], 10, 64)
	switch sec := now.Val().Unix(); sec {
	case win: // the current second is still counting: show the last full one
		d.Stats.CurrentRate, _ = strconv.ParseInt(m["prev"], 10, 64)
	case win + 1:
		d.Stats.CurrentRate, _ = strconv.ParseInt(m["cnt"], 10, 64)
	}
	return d, nil
}

// Enqueue appends items (JSON texts, see ParseItems) to a queue.
func (s *Store) Enqueue(ctx context.Context, instanceID, name string, items [][]byte) error {
	k := s.keys(Ref{instanceID, name})
	args := make([]any, 0, len(items)+1)
	args = append(args, s.lim.MaxItems)
	for _, it := range items {
		args = append(args, it)
	}
	n, err := enqueueScript.Run(ctx, s.rdb, []string{k.meta, k.items, k.data, k.run, k.retry, k.stats}, args...).Int()
	if err != nil {
		return fmt.Errorf("queue: enqueue %s: %w", name, err)
	}
	switch n {
	case -1:
		return ErrNotFound
	case -2:
		return fmt.Errorf("%w: a queue may hold %d items", ErrFull, s.lim.MaxItems)
	}
	return nil
}

// DeadLetters returns up to max dead-lettered items, oldest first.
func (s *Store) DeadLetters(ctx context.Context, instanceID, name string, max int) ([]string, error) {
	k := s.keys(Ref{instanceID, name})
	var exists *redis.IntCmd
	var items *redis.StringSliceCmd
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		exists, items = p.Exists(ctx, k.meta), p.LRange(ctx, k.dl, 0, int64(max)-1)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("queue: dead letters of %s: %w", name, err)
	}
	if exists.Val() == 0 {
		return nil, ErrNotFound
	}
	return nonNil(items.Val()), nil
}

// PopDeadLetters removes and returns up to count dead letters, oldest first.
func (s *Store) PopDeadLetters(ctx context.Context, instanceID, name string, count int) ([]string, error) {
	k := s.keys(Ref{instanceID, name})
	var exists *redis.IntCmd
	var items *redis.StringSliceCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		exists, items = p.Exists(ctx, k.meta), p.LPopCount(ctx, k.dl, count)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("queue: pop dead letters of %s: %w", name, err)
	}
	if exists.Val() == 0 {
		return nil, ErrNotFound
	}
	return nonNil(items.Val()), nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// item is one leased item.
type item struct {
	id, gen  string
	body     []byte
	attempt  int
	callback listener.Callback
}

// takeResult is what take decided.
type takeResult int

const (
	taken takeResult = 1
	retry takeResult = 0 // a dangling id was skipped: take again
	gone  takeResult = -1
	pause takeResult = -2
	full  takeResult = -3
	empty takeResult = -4
	rated takeResult = -5
)

// take admits the next item of a queue, or says why not and, where known,
// how long to wait.
func (s *Store) take(ctx context.Context, r Ref, lease time.Duration) (takeResult, *item, time.Duration, error) {
	k := s.keys(r)
	vals, err := takeScript.Run(ctx, s.rdb, []string{k.meta, k.items, k.data, k.att, k.run, k.retry}, lease.Microseconds()).Slice()
	if err != nil {
		return 0, nil, 0, fmt.Errorf("queue: take from %s: %w", r, err)
	}
	code, _ := vals[0].(int64)
	if takeResult(code) != taken {
		var wait time.Duration
		if len(vals) > 1 {
			us, _ := strconv.ParseInt(fmt.Sprint(vals[1]), 10, 64)
			wait = time.Duration(us) * time.Microsecond
		}
		return takeResult(code), nil, wait, nil
	}
	it := &item{}
	it.id, _ = vals[1].(string)
	body, _ := vals[2].(string)
	it.body = []byte(body)
	att, _ := vals[3].(int64)
	it.attempt = int(att)
	cb, _ := vals[4].(string)
	if err := json.Unmarshal([]byte(cb), &it.callback); err != nil {
		return 0, nil, 0, fmt.Errorf("queue: %s has a broken callback: %w", r, err)
	}
	it.gen, _ = vals[5].(string)
	return taken, it, 0, nil
}

func (s *Store) ack(ctx context.Context, r Ref, id string) error {
	k := s.keys(r)
	return ackScript.Run(ctx, s.rdb, []string{k.meta, k.items, k.data, k.att, k.run, k.stats}, id).Err()
}

// fail reports whether the item was dead-lettered.
func (s *Store) fail(ctx context.Context, r Ref, id string, maxAttempts int, backoff time.Duration) (bool, error) {
	k := s.keys(r)
	n, err := failScript.Run(ctx, s.rdb, []string{k.meta, k.data, k.att, k.run, k.retry, k.dl, k.stats},
		id, maxAttempts, backoff.Microseconds(), s.lim.DeadLetterCap).Int()
	return n == 2, err
}

func (s *Store) release(ctx context.Context, r Ref, id string) error {
	k := s.keys(r)
	return releaseScript.Run(ctx, s.rdb, []string{k.items, k.run}, id).Err()
}

// queues returns every queue, the dispatchers' work list.
func (s *Store) queues(ctx context.Context) ([]Ref, error) {
	members, err := s.rdb.SMembers(ctx, s.allKey()).Result()
	if err != nil {
		return nil, err
	}
	out := make([]Ref, 0, len(members))
	for _, m := range members {
		if r, ok := parseRef(m); ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// forget drops a queue that no longer exists from the work list, checking
// again after removing it (Create lists a queue after writing it).
func (s *Store) forget(ctx context.Context, r Ref) error {
	if err := s.rdb.SRem(ctx, s.allKey(), r.String()).Err(); err != nil {
		return err
	}
	n, err := s.rdb.Exists(ctx, s.keys(r).meta).Result()
	if err != nil || n > 0 {
		return s.rdb.SAdd(ctx, s.allKey(), r.String()).Err()
	}
	return nil
}
