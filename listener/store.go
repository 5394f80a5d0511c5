package listener

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/neru-dev/neru/internal/redisx"
	"github.com/neru-dev/neru/internal/ttlcache"
	"github.com/neru-dev/neru/session"
)

// Store keeps listeners and their indexes in Redis. It is safe for
// concurrent use.
type Store struct {
	rdb redis.UniversalClient
	ks  string
	log *slog.Logger
	// cache keeps records that matching loaded, so a busy listener costs
	// its webhooks no record read. It is safe because the index sets, read
	// on every event, stay the authority on which listeners exist: a
	// removed listener leaves the index first and stops matching at once,
	// cached or not. The only staleness is a record replaced under the same
	// id by another process, for at most recordTTL.
	cache *ttlcache.Cache[string, *Listener]
	// sessionGuess remembers, per index key, the sessions of the listeners
	// LiveCandidates last found there: what its first round trip probes.
	sessionGuess *ttlcache.Cache[string, []string]
	// shapes holds, per instance, the key shapes its listeners use: which
	// of an event's keys are worth reading (shapes.go).
	shapes *ttlcache.Cache[string, shapeSet]
	// lookups sends the index round trips of concurrent matches together;
	// writes does the same for concurrent registrations (an app starting
	// registers many at once), apart so that they never delay a webhook.
	lookups, writes *redisx.Coalescer
}

const (
	// lookupRunners is how many index round trips may be in flight at once;
	// more concurrent matches wait for one and go out together.
	lookupRunners  = 2
	recordTTL      = 5 * time.Second
	recordCacheCap = 100_000
)

// Option configures a Store.
type Option func(*Store)

// WithLogger sets where the store reports what it cannot return: failed
// best-effort cleanups and undecodable records, at warn with the key.
// Default slog.Default().
func WithLogger(l *slog.Logger) Option { return func(s *Store) { s.log = l } }

// NewStore returns a Store whose keys start with keyspace.
func NewStore(rdb redis.UniversalClient, keyspace string, opts ...Option) *Store {
	s := &Store{rdb: rdb, ks: keyspace, log: slog.Default(), cache: ttlcache.New[string, *Listener](recordCacheCap, recordTTL),
		sessionGuess: ttlcache.New[string, []string](recordCacheCap, time.Minute),
		shapes:       ttlcache.New[string, shapeSet](recordCacheCap, shapesTTL),
		lookups:      redisx.NewCoalescer(rdb, lookupRunners), writes: redisx.NewCoalescer(rdb, lookupRunners)}
	for _, o := range opts {
		o(s)
	}
	return s
}

func (s *Store) recKey(inst, id string) string    { return s.ks + "l:{" + inst + ":" + id + "}" }
func (s *Store) indexKey(inst, key string) string { return s.ks + "ix:{" + inst + "|" + key + "}" }
func (s *Store) sessKey(inst, sess string) string {
	return s.ks + "ls:{" + inst + ":" + session.KeyPart(sess) + "}"
}
func (s *Store) instKey(inst string) string       { return s.ks + "li:{" + inst + "}" }
func (s *Store) dedupKey(inst, key string) string { return s.ks + "ld:{" + inst + "|" + key + "}" }

// Add stores a listener. Adding an id that exists in the instance replaces it
// (the SDKs never reuse ids; replacing keeps a client retry idempotent).
//
// The newest registration wins: a listener with the same provider, action,
// path, index key and filters as an earlier one of the instance (in any
// session) replaces it, and the earlier one is removed. See the package doc.
func (s *Store) Add(ctx context.Context, l *Listener) error { return s.AddMany(ctx, []*Listener{l}) }

// AddMany stores listeners of one instance as Add does one after the other,
// in the order given (a later one that listens for the same as an earlier
// one replaces it), in a few round trips whatever their number: records
// and session sets in one, the instance set and key shapes in one, the
// index in one, and the removal of the listeners they replace in three more
// when there are any. Every listener is validated before anything is
// written; listeners of different instances, or two with the same id, are
// ErrInvalid.
func (s *Store) AddMany(ctx context.Context, ls []*Listener) error {
	if len(ls) == 0 {
		return nil
	}
	inst := ls[0].InstanceID
	seen := make(map[string]bool, len(ls))
	for _, l := range ls {
		if err := l.Validate(); err != nil {
			return err
		}
		if l.InstanceID != inst {
			return fmt.Errorf("%w: listeners of instances %s and %s in one batch", ErrInvalid, inst, l.InstanceID)
		}
		if seen[l.ID] {
			return fmt.Errorf("%w: callback id %q twice in one batch", ErrInvalid, l.ID)
		}
		seen[l.ID] = true
	}
	now := time.Now().UTC()
	recs := make([][]byte, len(ls))
	bySession := map[string][]any{}
	ids := make([]any, len(ls))
	for i, l := range ls {
		if l.CreatedAt.IsZero() {
			// A nanosecond apart: matching orders listeners by creation,
			// and a batch's order is its registration order.
			l.CreatedAt = now.Add(time.Duration(i))
		}
		rec, err := json.Marshal(l)
		if err != nil {
			return err
		}
		recs[i] = rec
		bySession[l.SessionID] = append(bySession[l.SessionID], l.ID)
		ids[i] = l.ID
		s.cache.Delete(s.recKey(inst, l.ID))
	}
	// Records and session sets, then the instance set (below), before the
	// index: see the package doc. The GET before the SET (same key, so same node and order)
	// returns a replaced record, whose index entry may need to go.
	//
	// Each command's error is checked on its own: Pipelined returns only the
	// first one, which is the GET's redis.Nil for every new listener, and
	// would hide a failed SET or SADD after it. A listener indexed without
	// its record or session entry would never fire, or outlive its session.
	prevRecs := make([]*redis.StringCmd, len(ls))
	var writes []redis.Cmder
	err := s.writes.Pipelined(ctx, func(p redis.Pipeliner) {
		for i, l := range ls {
			prevRecs[i] = p.Get(ctx, s.recKey(inst, l.ID))
			writes = append(writes, p.Set(ctx, s.recKey(inst, l.ID), recs[i], 0))
		}
		for sess, members := range bySession {
			writes = append(writes, p.SAdd(ctx, s.sessKey(inst, sess), members...))
		}
	})
	if errors.Is(err, redisx.ErrGaveUp) {
		return fmt.Errorf("listener: add %d listeners: %w", len(ls), err)
	}
	for _, c := range writes {
		if err := c.Err(); err != nil {
			return fmt.Errorf("listener: add: %s: %w", c.Args()[1], err)
		}
	}
	// Then the instance set and the key shapes, in one step (shapes.go):
	// a listener is found only once its shape is in the set.
	if err := s.writes.Run(ctx, instanceScript, []string{s.instKey(inst), s.shapesKey(inst)},
		append(append([]any{len(ids), shapesComplete}, ids...), shapesOf(ls)...)...).Err(); err != nil {
		return fmt.Errorf("listener: add %d listeners: %s: %w", len(ls), s.instKey(inst), err)
	}
	var releases []redisx.ScriptCall
	var released []*Listener
	for i, l := range ls {
		raw, err := prevRecs[i].Bytes()
		if err != nil && !errors.Is(err, redis.Nil) {
			return fmt.Errorf("listener: add %s: %s: %w", l.ID, prevRecs[i].Args()[1], err)
		}
		var old Listener
		if err == nil && json.Unmarshal(raw, &old) == nil && (old.Key != l.Key || dedupField(&old) != dedupField(l)) {
			// The id now listens for something else: drop its old index
			// entry and dedup claim, or a later registration of the old
			// identity would remove this listener.
			releases = append(releases, s.indexCall(inst, old.Key, l.ID, &old))
			released = append(released, l)
		}
	}
	if len(releases) > 0 {
		// Best effort: a stale index entry left behind is skipped at match
		// time (the record names its new key).
		for i, c := range s.writes.RunMany(ctx, releaseScript, releases) {
			if err := c.Err(); err != nil {
				s.log.WarnContext(ctx, "listener: release the old index entry of a re-registered id", "key", releases[i].Keys[0], "listener", released[i].ID, "err", err)
			}
		}
	}
	// Each index entry and its dedup claim change in one step (one slot);
	// claims of one identity run in the batch's order, so the last wins.
	claims := make([]redisx.ScriptCall, len(ls))
	for i, l := range ls {
		claims[i] = s.indexCall(inst, l.Key, l.ID, l)
	}
	var superseded []string
	for i, c := range s.writes.RunMany(ctx, claimScript, claims) {
		prev, err := c.Text()
		if err != nil && !errors.Is(err, redis.Nil) {
			return fmt.Errorf("listener: index %s: %w", ls[i].ID, err)
		}
		if prev != "" && prev != ls[i].ID && !slices.Contains(superseded, prev) {
			superseded = append(superseded, prev)
		}
	}
	if len(superseded) > 0 {
		// Already out of the index, so they no longer match; this removes
		// their records and set entries.
		if _, err := s.removeMany(ctx, inst, superseded); err != nil {
			return fmt.Errorf("listener: remove superseded: %w", err)
		}
	}
	return nil
}

// indexCall is a claimScript or releaseScript run on index key key of an
// instance, for listener id and the identity of l (its dedup field).
func (s *Store) indexCall(inst, key, id string, l *Listener) redisx.ScriptCall {
	return redisx.ScriptCall{Keys: []string{s.indexKey(inst, key), s.dedupKey(inst, key)}, Args: []any{id, dedupField(l)}}
}

// claimScript indexes listener ARGV[1] under KEYS[1] and makes it the holder
// of dedup field ARGV[2] in KEYS[2], unindexing the previous holder, whose
// id it returns. Both keys share the index key's hash tag.
var claimScript = redis.NewScript(`
local prev = redis.call('HGET', KEYS[2], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
redis.call('SADD', KEYS[1], ARGV[1])
if prev and prev ~= ARGV[1] then
  redis.call('SREM', KEYS[1], prev)
  return prev
end
return false
`)

// instanceScript adds listener ids ARGV[3…ARGV[1]+2] to the instance set
// KEYS[1] and the key shapes after them to the shape set KEYS[2], which it
// marks complete (ARGV[2]) if the instance had no listener before: then
// none can lack its shape. Both keys share the instance's hash tag.
var instanceScript = redis.NewScript(`
local n = tonumber(ARGV[1])
local fresh = redis.call('SCARD', KEYS[1]) == 0
for i = 3, n + 2, 500 do
  redis.call('SADD', KEYS[1], unpack(ARGV, i, math.min(i + 499, n + 2)))
end
redis.call('SADD', KEYS[2], unpack(ARGV, n + 3))
if fresh then redis.call('SADD', KEYS[2], ARGV[2]) end
return 1
`)

// releaseScript unindexes listener ARGV[1] from KEYS[1] and drops its dedup
// claim ARGV[2] in KEYS[2], if it still holds it.
var releaseScript = redis.NewScript(`
redis.call('SREM', KEYS[1], ARGV[1])
if redis.call('HGET', KEYS[2], ARGV[2]) == ARGV[1] then
  redis.call('HDEL', KEYS[2], ARGV[2])
end
return 1
`)

// dedupField identifies what a listener listens for, apart from its index
// key (which names the dedup hash): provider, action, path and filters.
func dedupField(l *Listener) string {
	h := sha256.New()
	filters, _ := json.Marshal(l.Filters)
	for _, part := range [][]byte{[]byte(l.Provider), []byte(l.Action), []byte(strings.TrimLeft(l.Path, "/")), filters} {
		h.Write(part)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Get returns one listener of an instance.
func (s *Store) Get(ctx context.Context, instanceID, id string) (*Listener, error) {
	raw, err := s.rdb.Get(ctx, s.recKey(instanceID, id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("listener: get %s: %w", id, err)
	}
	l := new(Listener)
	if err := json.Unmarshal(raw, l); err != nil {
		return nil, fmt.Errorf("listener: decode %s: %w", id, err)
	}
	return l, nil
}

// Remove deletes a listener of an instance. Another instance's listener is
// ErrNotFound: ids are looked up inside the caller's instance only.
func (s *Store) Remove(ctx context.Context, instanceID, id string) error {
	n, err := s.removeMany(ctx, instanceID, []string{id})
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// removeMany deletes the listeners of an instance among ids that exist and
// returns how many there were: index first, record last (see the package
// doc), in three round trips whatever their number.
func (s *Store) removeMany(ctx context.Context, instanceID string, ids []string) (int, error) {
	gets := make([]*redis.StringCmd, len(ids))
	// Errors per command below: the pipeline's own is the first one, a
	// harmless redis.Nil for an id that is gone.
	_, _ = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			gets[i] = p.Get(ctx, s.recKey(instanceID, id))
		}
		return nil
	})
	var found []*Listener
	for i, c := range gets {
		raw, err := c.Bytes()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("listener: get %s: %w", ids[i], err)
		}
		l := new(Listener)
		if err := json.Unmarshal(raw, l); err != nil {
			return 0, fmt.Errorf("listener: decode %s: %w", ids[i], err)
		}
		found = append(found, l)
	}
	if len(found) == 0 {
		return 0, nil
	}
	releases := make([]redisx.ScriptCall, len(found))
	for i, l := range found {
		s.cache.Delete(s.recKey(instanceID, l.ID))
		releases[i] = s.indexCall(instanceID, l.Key, l.ID, l)
	}
	for i, c := range s.writes.RunMany(ctx, releaseScript, releases) {
		if err := c.Err(); err != nil {
			return 0, fmt.Errorf("listener: remove %s: %w", found[i].ID, err)
		}
	}
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, l := range found {
			p.SRem(ctx, s.sessKey(instanceID, l.SessionID), l.ID)
			p.SRem(ctx, s.instKey(instanceID), l.ID)
			p.Del(ctx, s.recKey(instanceID, l.ID))
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("listener: remove: %w", err)
	}
	return len(found), nil
}

// RemoveSession removes every listener of a session and returns how many
// there were. It is idempotent: expiry sweeps and admin deletes may race.
func (s *Store) RemoveSession(ctx context.Context, instanceID, sessionID string) (int, error) {
	ls, err := s.List(ctx, instanceID, sessionID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, l := range ls {
		if l.SessionID != sessionID {
			continue // moved to another session by a re-registration of its id
		}
		switch err := s.Remove(ctx, instanceID, l.ID); {
		case err == nil:
			n++
		case !errors.Is(err, ErrNotFound):
			return n, err
		}
	}
	if err := s.rdb.Del(ctx, s.sessKey(instanceID, sessionID)).Err(); err != nil {
		return n, fmt.Errorf("listener: remove session %s: %w", sessionID, err)
	}
	return n, nil
}

// Candidates returns the listeners of an instance indexed under any of keys,
// oldest first. It costs one pipelined round trip for the index sets and, for
// records not cached, one more. The returned listeners may be shared with
// the cache: callers must not modify them. Filters and session liveness are
// the caller's to check.
func (s *Store) Candidates(ctx context.Context, instanceID string, keys []string) ([]*Listener, error) {
	return s.candidates(ctx, instanceID, keys, nil)
}

// LiveCandidates is Candidates keeping only the listeners whose session
// record exists (EXISTS sessionKey(instance, session)), checked in the same
// round trips: the sessions last seen under each index key are probed
// together with the index sets, so a steady stream of events costs one
// round trip, not two. The probe is a guess that only saves time: every
// returned listener's session was checked in this call, never earlier.
func (s *Store) LiveCandidates(ctx context.Context, instanceID string, keys []string, sessionKey func(instanceID, sessionID string) string) ([]*Listener, error) {
	return s.candidates(ctx, instanceID, keys, sessionKey)
}

// sessionProbe queues EXISTS of session records into pipelines, once each.
type sessionProbe struct {
	ctx      context.Context
	instance string
	key      func(instanceID, sessionID string) string
	cmds     map[string]*redis.IntCmd
}

func (sp *sessionProbe) queue(p redis.Pipeliner, sessions ...string) {
	for _, sess := range sessions {
		if _, ok := sp.cmds[sess]; !ok {
			sp.cmds[sess] = p.Exists(sp.ctx, sp.key(sp.instance, sess))
		}
	}
}

// unprobed lists the sessions of ls not queued yet.
func (sp *sessionProbe) unprobed(ls []*Listener) []string {
	var out []string
	for _, l := range ls {
		if _, ok := sp.cmds[l.SessionID]; !ok && !slices.Contains(out, l.SessionID) {
			out = append(out, l.SessionID)
		}
	}
	return out
}

func (s *Store) candidates(ctx context.Context, instanceID string, keys []string, sessionKey func(string, string) string) ([]*Listener, error) {
	var probe *sessionProbe
	if sessionKey != nil {
		probe = &sessionProbe{ctx: ctx, instance: instanceID, key: sessionKey, cmds: map[string]*redis.IntCmd{}}
	}
	sets := make([]*redis.StringSliceCmd, len(keys))
	// read queues the index set reads of the keys that want them.
	read := func(p redis.Pipeliner, want func(i int) bool) {
		for i, k := range keys {
			if !want(i) {
				continue
			}
			ix := s.indexKey(instanceID, k)
			sets[i] = p.SMembers(ctx, ix)
			if probe != nil {
				if guess, ok := s.sessionGuess.Get(ix); ok {
					probe.queue(p, guess...)
				}
			}
		}
	}
	// Through the coalescer: concurrent webhooks share this round trip.
	var check *shapeCheck
	if err := s.lookups.Pipelined(ctx, func(p redis.Pipeliner) {
		check = s.queueShapeCheck(ctx, p, instanceID)
		read(p, func(i int) bool { return check.known.wants(keys[i]) })
	}); err != nil {
		return nil, fmt.Errorf("listener: match: %w", err)
	}
	shapes, grew, err := s.current(ctx, instanceID, check)
	if err != nil {
		return nil, fmt.Errorf("listener: match: key shapes: %w", err)
	}
	if grew {
		// A shape was registered since this process last read the set:
		// the keys of that shape, skipped above, are read now.
		unread := func(i int) bool { return sets[i] == nil && shapes.wants(keys[i]) }
		for i := range keys {
			if unread(i) {
				if err := s.lookups.Pipelined(ctx, func(p redis.Pipeliner) { read(p, unread) }); err != nil {
					return nil, fmt.Errorf("listener: match: %w", err)
				}
				break
			}
		}
	}
	type hit struct{ id, key string }
	var hits []hit
	seen := map[hit]bool{} // by id and key: a stale entry must not hide the real one
	for i, c := range sets {
		if c == nil {
			continue
		}
		for _, id := range c.Val() {
			if h := (hit{id, keys[i]}); !seen[h] {
				seen[h] = true
				hits = append(hits, h)
			}
		}
	}
	if len(hits) == 0 {
		return nil, nil
	}
	out := make([]*Listener, 0, len(hits))
	missing := hits[:0:0]
	// A record indexed under another key than the one it was found under
	// is a stale entry of a re-registered id (Add could not release it):
	// it must not match the old key's events.
	for _, h := range hits {
		if l, ok := s.cache.Get(s.recKey(instanceID, h.id)); ok {
			if l.Key == h.key {
				out = append(out, l)
			}
		} else {
			missing = append(missing, h)
		}
	}
	var late []string // sessions of cached records that the first round trip did not probe
	if probe != nil {
		late = probe.unprobed(out)
	}
	recs := make([]*redis.StringCmd, len(missing))
	if len(missing) > 0 || len(late) > 0 {
		// Errors per command below: the pipeline's own is the first
		// command's, often a harmless redis.Nil.
		_, _ = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, h := range missing {
				recs[i] = p.Get(ctx, s.recKey(instanceID, h.id))
			}
			if probe != nil {
				probe.queue(p, late...)
			}
			return nil
		})
	}
	for i, c := range recs {
		h, key := missing[i], s.recKey(instanceID, missing[i].id)
		raw, err := c.Bytes()
		if errors.Is(err, redis.Nil) {
			// A dangling index entry left by an interrupted removal.
			ix := s.indexKey(instanceID, h.key)
			if err := s.rdb.SRem(ctx, ix, h.id).Err(); err != nil {
				s.log.WarnContext(ctx, "listener: prune dangling index entry", "key", ix, "listener", h.id, "err", err)
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("listener: load candidate %s: %w", key, err)
		}
		l := new(Listener)
		if err := json.Unmarshal(raw, l); err != nil {
			s.log.WarnContext(ctx, "listener: undecodable record skipped", "key", key, "err", err)
			continue
		}
		s.cache.Put(key, l)
		if l.Key == h.key {
			out = append(out, l)
		}
	}
	if probe != nil {
		var err error
		if out, err = s.keepLive(ctx, instanceID, out, probe); err != nil {
			return nil, err
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, nil
}

// keepLive drops the listeners whose session record does not exist,
// probing (one more round trip) the sessions of records loaded just now,
// and remembers under each index key the sessions found there, for the next
// event's first round trip.
func (s *Store) keepLive(ctx context.Context, instanceID string, ls []*Listener, probe *sessionProbe) ([]*Listener, error) {
	if late := probe.unprobed(ls); len(late) > 0 {
		if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			probe.queue(p, late...)
			return nil
		}); err != nil {
			return nil, fmt.Errorf("listener: match: session liveness: %w", err)
		}
	}
	guesses := map[string][]string{}
	live := ls[:0]
	for _, l := range ls {
		ix := s.indexKey(instanceID, l.Key)
		if !slices.Contains(guesses[ix], l.SessionID) {
			guesses[ix] = append(guesses[ix], l.SessionID)
		}
		n, err := probe.cmds[l.SessionID].Result()
		if err != nil {
			return nil, fmt.Errorf("listener: match: session liveness: %w", err)
		}
		if n == 1 {
			live = append(live, l)
		}
	}
	for ix, sessions := range guesses {
		s.sessionGuess.Put(ix, sessions)
	}
	return live, nil
}

// List returns every listener of an instance, or of one of its sessions when
// sessionID is not empty, oldest first.
func (s *Store) List(ctx context.Context, instanceID, sessionID string) ([]*Listener, error) {
	set := s.instKey(instanceID)
	if sessionID != "" {
		set = s.sessKey(instanceID, sessionID)
	}
	ids, err := s.rdb.SMembers(ctx, set).Result()
	if err != nil {
		return nil, fmt.Errorf("listener: list: %w", err)
	}
	out := make([]*Listener, 0, len(ids))
	for _, id := range ids {
		l, err := s.Get(ctx, instanceID, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, nil
}
