package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/neru-dev/neru/internal/redisx"
	"github.com/neru-dev/neru/internal/ttlcache"
)

// GlobalID is the session the SDKs use for instance-wide work. It never expires.
const GlobalID = "00000000-0000-0000-0000-000000000000"

// DefaultTTL is the SDKs' default session lifetime (createSession(ttl = 604800)).
const DefaultTTL = 7 * 24 * time.Hour

var (
	// ErrNotFound: the session does not exist or has expired.
	ErrNotFound = errors.New("session not found")
	// ErrInvalidID: the id is empty, too long, not UTF-8 or has a control
	// character (see ValidateID).
	ErrInvalidID = errors.New("invalid session id")
	// ErrTooMany: the instance has MaxSessions live sessions, so a new one is
	// refused. Existing sessions are not affected.
	ErrTooMany = errors.New("too many sessions")
)

// Session is one session of one instance.
type Session struct {
	ID         string    `json:"id"`
	InstanceID string    `json:"instanceId"`
	CreatedAt  time.Time `json:"createdAt"`
	// ExpiresAt is zero for the global session. It is read from the record
	// key's own expiry, which is the one source of truth.
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
}

// Policy is how an instance's sessions live.
type Policy struct {
	// Idle > 0 makes expiry sliding: every use pushes the end to now+Idle.
	// Sessions created implicitly then start with Idle instead of the
	// default TTL.
	Idle time.Duration
	// MaxSessions > 0 caps the live sessions of the instance.
	MaxSessions int
}

// Policies tells the store each instance's Policy. It must be safe for
// concurrent use and cheap: it is asked on every session creation and use
// (the instance store caches its records). An unknown instance should get the
// zero Policy, not an error.
type Policies interface {
	SessionPolicy(ctx context.Context, instanceID string) (Policy, error)
}

// PoliciesFunc adapts a function to Policies.
type PoliciesFunc func(ctx context.Context, instanceID string) (Policy, error)

// SessionPolicy calls f.
func (f PoliciesFunc) SessionPolicy(ctx context.Context, instanceID string) (Policy, error) {
	return f(ctx, instanceID)
}

// Remover removes what belongs to a session when it ends, and returns how
// much there was: its listeners (package listener), schedules (package
// scheduler) and queues (package queue). RemoveSession must be idempotent.
type Remover interface {
	RemoveSession(ctx context.Context, instanceID, sessionID string) (int, error)
}

// State is the session-scoped state a session's end removes or moves;
// package state's Store implements it. Each call is atomic per session.
// ExpireSession moves every key of the session to end at at; ExtendSession
// does so only where that is later.
type State interface {
	DeleteSession(ctx context.Context, instanceID, sessionID string) error
	CountSessionKeys(ctx context.Context, instanceID, sessionID string) (int64, error)
	ExpireSession(ctx context.Context, instanceID, sessionID string, at time.Time) error
	ExtendSession(ctx context.Context, instanceID, sessionID string, at time.Time) error
}

// Option configures a Store.
type Option func(*Store)

// WithPolicies gives the store each instance's sliding expiry and session
// cap. Without it every instance has fixed expiry and no cap.
func WithPolicies(p Policies) Option { return func(s *Store) { s.policies = p } }

// WithRemover lets expiry and Delete remove what r keeps of a session
// (name says what, in errors). Removers run in the order given.
func WithRemover(name string, r Remover) Option {
	return func(s *Store) { s.removers = append(s.removers, namedRemover{name, r}) }
}

type namedRemover struct {
	name string
	r    Remover
}

// WithState lets expiry, Delete and Reset remove a session's state, and
// sliding expiry move it. Without it state ends only by its own key TTLs.
func WithState(st State) Option { return func(s *Store) { s.state = st } }

// Store keeps sessions in Redis. It is safe for concurrent use.
type Store struct {
	rdb        redis.UniversalClient
	ks         string
	defaultTTL time.Duration

	policies Policies
	removers []namedRemover
	state    State

	// known caches, per process, the expiry of sessions recently seen alive
	// (zero: never expires), so Touch on every SDK command and delivery
	// costs no round trip. Keyed by instance NUL session.
	known *ttlcache.Cache[string, time.Time]
	// trips sends the reads on every request's path (Get for each SDK
	// command, Ended for each delivery attempt) of concurrent callers in
	// shared round trips: one each was the worker's largest cost (a write
	// and a read syscall per delivery, on both sides).
	trips *redisx.Coalescer
	// changes counts each session's recent forgets (a Create that moved
	// its end, a sweep, a delete). A sighting read before a change must not
	// be cached after it: Touch's read of the 7-day session an app's first
	// state.set made, cached after the SDK's session_created moved its end
	// to 4 s, kept it alive here for knownFor. mu orders the two.
	changes *ttlcache.Cache[string, uint64]
	mu      sync.Mutex
}

const (
	knownFor = 5 * time.Second // how long a cached sighting is trusted
	knownMax = 1 << 16         // sightings kept at most
)

// tripRunners is how many shared round trips (Store.trips) may be in flight
// at once; more concurrent callers wait for one and go out together.
const tripRunners = 2

// NewStore returns a Store whose keys start with keyspace. defaultTTL applies
// to sessions created implicitly (0 means DefaultTTL).
func NewStore(rdb redis.UniversalClient, keyspace string, defaultTTL time.Duration, opts ...Option) *Store {
	if defaultTTL <= 0 {
		defaultTTL = DefaultTTL
	}
	s := &Store{rdb: rdb, ks: keyspace, defaultTTL: defaultTTL, known: ttlcache.New[string, time.Time](knownMax, knownFor),
		changes: ttlcache.New[string, uint64](knownMax, 6*knownFor), trips: redisx.NewCoalescer(rdb, tripRunners)}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Key is the Redis key of a session record.
func (s *Store) Key(instanceID, id string) string {
	return s.ks + "s:{" + instanceID + ":" + KeyPart(id) + "}"
}

func (s *Store) policy(ctx context.Context, instanceID string) (Policy, error) {
	if s.policies == nil {
		return Policy{}, nil
	}
	p, err := s.policies.SessionPolicy(ctx, instanceID)
	if err != nil {
		return Policy{}, fmt.Errorf("session: policy of instance %s: %w", instanceID, err)
	}
	return p, nil
}

// Create creates the session, or resets the expiry of an existing one, to
// now+ttl (the SDK's session_created; see RequestedTTL). A ttl <= 0 uses
// the default. The global session ignores ttl. A session that had ended
// starts afresh: what it left behind and its tombstone go first. A new
// session past the instance's cap is ErrTooMany.
func (s *Store) Create(ctx context.Context, instanceID, id string, ttl time.Duration) (*Session, error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	if _, ended, err := s.Ended(ctx, instanceID, id); err != nil {
		return nil, err
	} else if ended {
		if err := s.revive(ctx, instanceID, id); err != nil {
			return nil, err
		}
	}
	return s.put(ctx, instanceID, id, ttl, true)
}

// Ensure returns the session, creating it if it does not exist: the SDKs use
// sessions without ever announcing them. A new session lives for the
// default TTL, or for the instance's idle time when its expiry slides. A new
// session past the instance's cap is ErrTooMany.
func (s *Store) Ensure(ctx context.Context, instanceID, id string) (*Session, error) {
	got, err := s.EnsureMany(ctx, instanceID, []string{id})
	if err != nil {
		return nil, err
	}
	return got[id], nil
}

// EnsureAll makes every session in ids exist from now on, as EnsureMany
// does (all or nothing, the same errors), without reading again the
// sessions this process saw alive in the last few seconds: the sightings
// Touch trusts. An app registering listeners in bulk names the same
// sessions batch after batch.
func (s *Store) EnsureAll(ctx context.Context, instanceID string, ids []string) error {
	now := time.Now()
	epochs := make(map[string]uint64, len(ids))
	var unseen []string
	for _, id := range ids {
		if _, dup := epochs[id]; dup || s.fresh(instanceID, id, 0, now) {
			continue
		}
		epochs[id] = s.epoch(instanceID, id)
		unseen = append(unseen, id)
	}
	if len(unseen) == 0 {
		return nil
	}
	got, err := s.EnsureMany(ctx, instanceID, unseen)
	if err != nil {
		return err
	}
	for id, sess := range got {
		s.rememberSince(instanceID, id, sess.ExpiresAt, epochs[id])
	}
	return nil
}

// EnsureMany is Ensure for many sessions of one instance at once (an app
// registering listeners in bulk), all or nothing: every id is checked and
// looked up before anything is written, so an invalid id, a session that
// has ended (the first one in ids, as an *ExpiredError) or new sessions
// that would together pass the instance's cap (ErrTooMany) fail the call
// and create nothing. Repeated ids are one session. It returns the
// sessions by id.
//
// Its cost does not grow with the number of ids: one shared round trip
// when every session exists, and when some are new three more (index,
// record, index), plus two when the instance has a cap.
func (s *Store) EnsureMany(ctx context.Context, instanceID string, ids []string) (map[string]*Session, error) {
	type lookup struct {
		raw       *redis.StringCmd
		at        *redis.Cmd
		tomb, due *redis.FloatCmd
	}
	uniq := make([]string, 0, len(ids))
	looked := make(map[string]*lookup, len(ids))
	for _, id := range ids {
		if err := ValidateID(id); err != nil {
			return nil, err
		}
		if _, dup := looked[id]; !dup {
			looked[id] = &lookup{}
			uniq = append(uniq, id)
		}
	}
	// The record and what Ended reads of a missing one, in one round trip:
	// reading the tombstone and index entry of sessions that turn out to
	// exist costs two cheap commands each, not a second round trip.
	err := s.trips.Pipelined(ctx, func(p redis.Pipeliner) {
		for _, id := range uniq {
			l, key, shard := looked[id], s.Key(instanceID, id), shardOf(id)
			l.raw = p.Get(ctx, key)
			l.at = p.Do(ctx, "PEXPIRETIME", key)
			if id != GlobalID {
				l.tomb = p.ZScore(ctx, s.tombKey(instanceID, shard), id)
				l.due = p.ZScore(ctx, s.indexKey(instanceID, shard), id)
			}
		}
	})
	if errors.Is(err, redisx.ErrGaveUp) {
		return nil, fmt.Errorf("session: ensure: %w", err)
	}
	out := make(map[string]*Session, len(uniq))
	var missing []string
	now := time.Now()
	for _, id := range uniq {
		l := looked[id]
		sess, err := decodeSession(instanceID, id, l.raw, l.at, l.at.Err())
		if err == nil {
			out[id] = sess
			continue
		}
		if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		// Only a missing session can have ended, and an ended one stays dead.
		if id != GlobalID {
			at, ended, err := endedFrom(id, l.tomb, l.due, now)
			if err != nil {
				return nil, err
			}
			if ended {
				return nil, &ExpiredError{ID: id, At: at}
			}
		}
		missing = append(missing, id)
	}
	if len(missing) == 0 {
		return out, nil
	}
	created, err := s.putMany(ctx, instanceID, missing, 0, false)
	if err != nil {
		return nil, err
	}
	maps.Copy(out, created)
	return out, nil
}

// EnsureExpiry is Ensure shaped as the state store's SessionTTL: when the
// session ends, with ok=false for the global session.
//
// Every state write asks, and its session nearly always exists: then the
// record's PEXPIRETIME alone, in the shared round trip, is the answer
// (what Ensure would return as ExpiresAt). Only a missing record goes
// through Ensure, which creates it or finds it ended.
func (s *Store) EnsureExpiry(ctx context.Context, instanceID, id string) (at time.Time, ok bool, err error) {
	var pt *redis.Cmd
	if err := s.trips.Pipelined(ctx, func(p redis.Pipeliner) { pt = p.Do(ctx, "PEXPIRETIME", s.Key(instanceID, id)) }); err != nil {
		return time.Time{}, false, fmt.Errorf("session: expiry of %s: %w", id, err)
	}
	switch ms, _ := pt.Int64(); {
	case ms > 0:
		return time.UnixMilli(ms).UTC(), true, nil
	case ms == -1:
		return time.Time{}, false, nil // a record that never expires
	}
	sess, err := s.Ensure(ctx, instanceID, id)
	if err != nil {
		return time.Time{}, false, err
	}
	return sess.ExpiresAt, !sess.ExpiresAt.IsZero(), nil
}

// put is putMany of one session.
func (s *Store) put(ctx context.Context, instanceID, id string, ttl time.Duration, reset bool) (*Session, error) {
	got, err := s.putMany(ctx, instanceID, []string{id}, ttl, reset)
	if err != nil {
		return nil, err
	}
	return got[id], nil
}

// putMany creates sessions of one instance (distinct ids) ending at now+ttl
// (ttl <= 0: the default, or the instance's idle time) and returns them by
// id. With reset (Create) the ones that exist end there too; without, they
// are left as they are (Ensure). The cap is checked for all the new ones
// before anything is written, and each step below is one round trip for
// all ids, in the order that keeps the index and the records consistent.
func (s *Store) putMany(ctx context.Context, instanceID string, ids []string, ttl time.Duration, reset bool) (map[string]*Session, error) {
	epochs := make(map[string]uint64, len(ids))
	for _, id := range ids {
		if err := ValidateID(id); err != nil {
			return nil, err
		}
		epochs[id] = s.epoch(instanceID, id)
	}
	now := time.Now()
	out := make(map[string]*Session, len(ids))
	global := slices.Contains(ids, GlobalID)
	ids = slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return id == GlobalID })
	var exp time.Time
	if len(ids) > 0 {
		pol, err := s.policy(ctx, instanceID)
		if err != nil {
			return nil, err
		}
		if ttl <= 0 {
			ttl = s.defaultTTL
			if pol.Idle > 0 {
				ttl = pol.Idle
			}
		}
		// Whole milliseconds, as Redis keeps it: a sighting cached with the
		// nanoseconds would outlive the record by up to a millisecond.
		exp = now.Add(ttl).Truncate(time.Millisecond)
		if pol.MaxSessions > 0 {
			if err := s.checkCap(ctx, instanceID, ids, pol.MaxSessions); err != nil {
				return nil, err
			}
		}
	}
	if global {
		// The global session never expires, has no index entry and is not
		// counted against the cap.
		rec, _ := json.Marshal(&Session{ID: GlobalID, InstanceID: instanceID, CreatedAt: now.UTC()})
		if err := s.rdb.SetNX(ctx, s.Key(instanceID, GlobalID), rec, 0).Err(); err != nil {
			return nil, fmt.Errorf("session: ensure %s: %w", GlobalID, err)
		}
		sess, err := s.Get(ctx, instanceID, GlobalID)
		if err != nil {
			return nil, err
		}
		out[GlobalID] = sess
	}
	if len(ids) == 0 {
		return out, nil
	}
	// Index first, record last: a crash in between leaves an index entry
	// that the sweep drops, never a session the sweep misses. The entry
	// must never end later than the record: Ended reads a due entry
	// without a record as "ended", and an entry still in the future as
	// "never existed", which Ensure would create afresh (with its state
	// gone). So an implicit creation only adds a missing entry (NX): it
	// may lose the SET below to a session_created whose end is earlier
	// (the SDK's first state.set races it), and it does not move the end
	// of a session that exists either. Create sets the end it asks for.
	mode := "NX"
	if reset {
		mode = ""
	}
	if err := s.indexMany(ctx, instanceID, ids, exp, mode); err != nil {
		return nil, err
	}
	// PXAT, not PX: the record ends exactly where the index says. Errors
	// per command below: the pipeline's own is the first one, redis.Nil for
	// a session that existed.
	sets := make([]*redis.Cmd, len(ids))
	_, _ = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			rec, _ := json.Marshal(&Session{ID: id, InstanceID: instanceID, CreatedAt: now.UTC()})
			sets[i] = p.Do(ctx, "SET", s.Key(instanceID, id), rec, "NX", "PXAT", exp.UnixMilli())
		}
		return nil
	})
	var created, existed []string
	for i, id := range ids {
		switch err := sets[i].Err(); {
		case err == nil:
			created = append(created, id)
		case errors.Is(err, redis.Nil):
			existed = append(existed, id) // or was created meanwhile by someone else
		default:
			return nil, fmt.Errorf("session: create %s: %w", id, err)
		}
	}
	if !reset && len(created) > 0 {
		// A concurrent implicit creation's NX entry may be a little later
		// than the record that won: pull it in (LT), never out.
		if err := s.indexMany(ctx, instanceID, created, exp, "LT"); err != nil {
			return nil, err
		}
	}
	for _, id := range created {
		s.rememberSince(instanceID, id, exp, epochs[id])
		out[id] = &Session{ID: id, InstanceID: instanceID, CreatedAt: now.UTC(), ExpiresAt: exp.UTC()}
	}
	for _, id := range existed {
		if reset {
			if err := s.resetEnd(ctx, instanceID, id, exp); err != nil {
				return nil, err
			}
		}
		sess, err := s.Get(ctx, instanceID, id)
		if err != nil {
			return nil, err
		}
		out[id] = sess
	}
	return out, nil
}

// checkCap refuses new sessions among ids (those without a record) that
// would take the instance past limit live sessions. Sessions that exist are
// never refused: the cap only gets in the way of new ones.
func (s *Store) checkCap(ctx context.Context, instanceID string, ids []string, limit int) error {
	exists := make([]*redis.IntCmd, len(ids))
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			exists[i] = p.Exists(ctx, s.Key(instanceID, id))
		}
		return nil
	}); err != nil {
		return fmt.Errorf("session: create: %w", err)
	}
	fresh := 0
	for _, c := range exists {
		if c.Val() == 0 {
			fresh++
		}
	}
	if fresh == 0 {
		return nil
	}
	n, err := s.Count(ctx, instanceID)
	if err != nil {
		return err
	}
	if n+int64(fresh) <= int64(limit) {
		return nil
	}
	if fresh == 1 {
		return fmt.Errorf("%w: instance %s has %d live sessions (maxSessions %d)", ErrTooMany, instanceID, n, limit)
	}
	return fmt.Errorf("%w: instance %s has %d live sessions, and %d new ones would pass maxSessions %d", ErrTooMany, instanceID, n, fresh, limit)
}

// resetEnd moves the end of a session that exists to exp (Create).
func (s *Store) resetEnd(ctx context.Context, instanceID, id string, exp time.Time) error {
	if err := s.index(ctx, instanceID, id, exp, ""); err != nil {
		return err
	}
	// session_created may come after the session's first use
	// (protocol §8.3): its state must end with it, earlier or later.
	// State first: were the record moved later first, its state could
	// expire at the old end under a live session (half of it, if
	// writes meanwhile took the new end).
	if s.state != nil {
		if err := s.state.ExpireSession(ctx, instanceID, id, exp); err != nil {
			return fmt.Errorf("session: move state of %s: %w", id, err)
		}
	}
	if err := s.rdb.PExpireAt(ctx, s.Key(instanceID, id), exp).Err(); err != nil {
		return fmt.Errorf("session: create %s: %w", id, err)
	}
	s.forget(instanceID, id)
	return nil
}

// Get returns a live session or ErrNotFound.
func (s *Store) Get(ctx context.Context, instanceID, id string) (*Session, error) {
	key := s.Key(instanceID, id)
	var raw *redis.StringCmd
	var at *redis.Cmd
	err := s.trips.Pipelined(ctx, func(p redis.Pipeliner) {
		raw = p.Get(ctx, key)
		at = p.Do(ctx, "PEXPIRETIME", key)
	})
	if errors.Is(err, redisx.ErrGaveUp) {
		return nil, fmt.Errorf("session: get %s: %w", id, err)
	}
	return decodeSession(instanceID, id, raw, at, err)
}

// decodeSession reads a record and its PEXPIRETIME (Unix ms; -1 never).
func decodeSession(instanceID, id string, raw *redis.StringCmd, at *redis.Cmd, pipeErr error) (*Session, error) {
	b, err := raw.Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("session: get %s: %w", id, err)
	}
	if pipeErr != nil && !errors.Is(pipeErr, redis.Nil) {
		return nil, fmt.Errorf("session: get %s: %w", id, pipeErr)
	}
	sess := new(Session)
	if err := json.Unmarshal(b, sess); err != nil {
		return nil, fmt.Errorf("session: decode %s: %w", id, err)
	}
	sess.ExpiresAt = time.Time{}
	if ms, _ := at.Int64(); ms > 0 {
		sess.ExpiresAt = time.UnixMilli(ms).UTC()
	}
	return sess, nil
}

// ExpiresAt reports when a session expires; ok is false for a session that
// never does. A missing session is ErrNotFound.
func (s *Store) ExpiresAt(ctx context.Context, instanceID, id string) (at time.Time, ok bool, err error) {
	sess, err := s.Get(ctx, instanceID, id)
	if err != nil {
		return time.Time{}, false, err
	}
	return sess.ExpiresAt, !sess.ExpiresAt.IsZero(), nil
}

// Alive reports which of the given sessions of one instance still exist, in
// one pipelined round trip.
func (s *Store) Alive(ctx context.Context, instanceID string, ids []string) (map[string]bool, error) {
	cmds := make(map[string]*redis.IntCmd, len(ids))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, id := range ids {
			if _, seen := cmds[id]; !seen {
				cmds[id] = p.Exists(ctx, s.Key(instanceID, id))
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("session: alive: %w", err)
	}
	out := make(map[string]bool, len(cmds))
	for id, c := range cmds {
		out[id] = c.Val() == 1
	}
	return out, nil
}

// Touch is called for every SDK command that names a session: it creates
// the session if it is unknown (Ensure, so the cap applies) and, when the
// instance's expiry slides, pushes its end to now+idle. Sightings are cached
// in the process for a few seconds, so most calls cost no round trip. An id
// that is not a valid session id is ignored: commands that worked without a
// session keep working.
func (s *Store) Touch(ctx context.Context, instanceID, id string) error {
	if ValidateID(id) != nil {
		return nil
	}
	pol, err := s.policy(ctx, instanceID)
	if err != nil {
		return err
	}
	now := time.Now()
	if s.fresh(instanceID, id, pol.Idle, now) {
		return nil
	}
	epoch := s.epoch(instanceID, id)
	sess, err := s.Ensure(ctx, instanceID, id)
	if err != nil {
		return err
	}
	exp := sess.ExpiresAt
	if pol.Idle > 0 && !exp.IsZero() {
		if _, err := s.extend(ctx, []extension{{instanceID, id, now.Add(pol.Idle), slack(pol.Idle)}}); err != nil {
			return err
		}
		return nil
	}
	s.rememberSince(instanceID, id, exp, epoch)
	return nil
}

// slack is how much later a sliding session's end must move before it is
// written: extending on every delivery would rewrite the session's state
// expiry each time. The session therefore lives between idle-slack and idle
// after its last use.
func slack(idle time.Duration) time.Duration { return max(idle/10, 10*time.Millisecond) }

// fresh reports whether a recent sighting shows the session alive and, for
// sliding expiry, ending late enough.
func (s *Store) fresh(instanceID, id string, idle time.Duration, now time.Time) bool {
	exp, ok := s.known.Get(instanceID + "\x00" + id)
	if !ok {
		return false
	}
	if exp.IsZero() {
		return true
	}
	if !exp.After(now) {
		return false
	}
	return idle <= 0 || !exp.Before(now.Add(idle-slack(idle)))
}

// remember records a sighting of a session alive until exp (zero: never
// ends), trusted for knownFor.
func (s *Store) remember(instanceID, id string, exp time.Time) {
	s.known.Put(instanceID+"\x00"+id, exp)
}

func (s *Store) forget(instanceID, id string) {
	k := instanceID + "\x00" + id
	s.mu.Lock()
	defer s.mu.Unlock()
	n, _ := s.changes.Get(k)
	s.changes.Put(k, n+1)
	s.known.Delete(k)
}

// epoch is the session's change count, read before a lookup whose result
// rememberSince may cache.
func (s *Store) epoch(instanceID, id string) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, _ := s.changes.Get(instanceID + "\x00" + id)
	return n
}

// rememberSince is remember, unless the session changed since epoch: then
// what was read may already be stale, and the next call reads again.
func (s *Store) rememberSince(instanceID, id string, exp time.Time, epoch uint64) {
	k := instanceID + "\x00" + id
	s.mu.Lock()
	defer s.mu.Unlock()
	if n, _ := s.changes.Get(k); n == epoch {
		s.known.Put(k, exp)
	}
}

// extendScript pushes a session record's expiry to ARGV[1] (Unix ms) if that
// is at least ARGV[2] ms later than it is now. It returns the expiry the
// session has afterwards and whether it moved; -2 for a missing session, -1
// for one that never expires.
var extendScript = redis.NewScript(`
local t = redis.call('PEXPIRETIME', KEYS[1])
if t < 0 then return {t, 0} end
local at = tonumber(ARGV[1])
if at - t < tonumber(ARGV[2]) then return {t, 0} end
redis.call('PEXPIREAT', KEYS[1], at)
return {at, 1}
`)

type extension struct {
	instanceID, id string
	at             time.Time
	slack          time.Duration
}

// extend applies sliding extensions in one pipeline, then moves the index
// entries and the state of the sessions that moved. Missing sessions are not
// created. It returns how many sessions moved.
func (s *Store) extend(ctx context.Context, exts []extension) (int, error) {
	// State first, so that it never ends before its session: a record
	// pushed later while its state still had the old end would lose that
	// state at the old end (or the part that no write moved meanwhile).
	// ExtendSession only moves ends later, so if the record then does not
	// move (missing, ends later already, or within slack) the state at
	// most outlives it until the sweep removes it.
	if s.state != nil {
		for _, e := range exts {
			if err := s.state.ExtendSession(ctx, e.instanceID, e.id, e.at); err != nil {
				return 0, fmt.Errorf("session: move state of %s: %w", e.id, err)
			}
		}
	}
	cmds := make([]*redis.Cmd, len(exts))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, e := range exts {
			// Eval, not Run: a pipeline cannot fall back from EVALSHA on NOSCRIPT.
			cmds[i] = extendScript.Eval(ctx, p, []string{s.Key(e.instanceID, e.id)}, e.at.UnixMilli(), e.slack.Milliseconds())
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("session: extend: %w", err)
	}
	moved := 0
	var errs []error
	for i, e := range exts {
		res, err := cmds[i].Int64Slice()
		if err != nil || len(res) != 2 {
			errs = append(errs, fmt.Errorf("session: extend %s: %v", e.id, err))
			continue
		}
		switch {
		case res[0] == -2:
			s.forget(e.instanceID, e.id)
			continue
		case res[0] == -1:
			s.remember(e.instanceID, e.id, time.Time{})
			continue
		}
		at := time.UnixMilli(res[0])
		s.remember(e.instanceID, e.id, at)
		if res[1] == 0 {
			continue
		}
		moved++
		if err := s.index(ctx, e.instanceID, e.id, at, "GT"); err != nil {
			errs = append(errs, err)
		}
	}
	return moved, errors.Join(errs...)
}

// Delete ends a session now: it leaves a tombstone (see Ended), and its
// record, listeners, schedules, queues, state, recent deliveries and index
// entry go. A session that does not exist, or has already ended, is
// ErrNotFound, after whatever was left of it is removed. The global session
// gets no tombstone: it never ends, and is back at its next use.
func (s *Store) Delete(ctx context.Context, instanceID, id string) error {
	if err := ValidateID(id); err != nil {
		return err
	}
	_, wasEnded, err := s.Ended(ctx, instanceID, id)
	if err != nil {
		return err
	}
	tombstoned := false
	if id != GlobalID && !wasEnded {
		// The tombstone before the record goes, so that no use in between
		// can create the session afresh.
		if tombstoned, err = s.end(ctx, instanceID, id, "", time.Now()); err != nil {
			return err
		}
	}
	// The record next, so the session stops matching at once.
	n, err := s.rdb.Del(ctx, s.Key(instanceID, id)).Result()
	if err != nil {
		return fmt.Errorf("session: delete %s: %w", id, err)
	}
	s.forget(instanceID, id)
	if n == 0 && tombstoned {
		// It never existed: leave no tombstone for it.
		if err := s.rdb.ZRem(ctx, s.tombKey(instanceID, shardOf(id)), id).Err(); err != nil {
			return fmt.Errorf("session: delete %s: %w", id, err)
		}
	}
	if err := s.cleanup(ctx, instanceID, id); err != nil {
		return err
	}
	if id == GlobalID {
		if err := s.rdb.ZRem(ctx, s.indexKey(instanceID, shardOf(id)), id).Err(); err != nil {
			return fmt.Errorf("session: delete %s: %w", id, err)
		}
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// cleanup removes what a session that has ended leaves behind, apart from
// its index entry and tombstone: listeners, schedules, queues (the
// removers), state and recent deliveries. It is idempotent.
func (s *Store) cleanup(ctx context.Context, instanceID, id string) error {
	for _, r := range s.removers {
		if _, err := r.r.RemoveSession(ctx, instanceID, id); err != nil {
			return fmt.Errorf("session: remove %s of %s: %w", r.name, id, err)
		}
	}
	if s.state != nil {
		if err := s.state.DeleteSession(ctx, instanceID, id); err != nil {
			return fmt.Errorf("session: remove state of %s: %w", id, err)
		}
	}
	if err := s.rdb.Del(ctx, s.recentKey(instanceID, id)).Err(); err != nil {
		return fmt.Errorf("session: remove deliveries of %s: %w", id, err)
	}
	return nil
}

// ErrNoState: the store was built without a state store.
var ErrNoState = errors.New("session: no state store configured")

// Reset clears a live session's state and keeps its listeners and expiry.
func (s *Store) Reset(ctx context.Context, instanceID, id string) error {
	if _, err := s.Get(ctx, instanceID, id); err != nil {
		return err
	}
	if s.state == nil {
		return ErrNoState
	}
	if err := s.state.DeleteSession(ctx, instanceID, id); err != nil {
		return fmt.Errorf("session: reset %s: %w", id, err)
	}
	return nil
}

// StateKeys counts a session's state keys.
func (s *Store) StateKeys(ctx context.Context, instanceID, id string) (int64, error) {
	if s.state == nil {
		return 0, ErrNoState
	}
	return s.state.CountSessionKeys(ctx, instanceID, id)
}
