package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// GlobalID is the session the SDKs use for instance-wide work. It never expires.
const GlobalID = "00000000-0000-0000-0000-000000000000"

// DefaultTTL is the SDKs' default session lifetime (createSession(ttl = 604800)).
const DefaultTTL = 7 * 24 * time.Hour

var (
	// ErrNotFound: the session does not exist or has expired.
	ErrNotFound = errors.New("session not found")
	// ErrInvalidID: the id is empty, too long or has characters we reserve.
	ErrInvalidID = errors.New("invalid session id")
)

// Session is one session of one instance.
type Session struct {
	ID         string    `json:"id"`
	InstanceID string    `json:"instanceId"`
	CreatedAt  time.Time `json:"createdAt"`
	// ExpiresAt is zero for the global session.
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
}

// ValidateID rejects ids that could break key or header framing.
func ValidateID(id string) error {
	if id == "" || len(id) > 128 || strings.ContainsAny(id, "{}\r\n\t ") {
		return fmt.Errorf("%w: %q (1-128 characters, no spaces or braces)", ErrInvalidID, id)
	}
	return nil
}

// Store keeps sessions in Redis.
type Store struct {
	rdb        redis.UniversalClient
	ks         string
	defaultTTL time.Duration
}

// NewStore returns a Store whose keys start with keyspace. defaultTTL applies
// to sessions created implicitly (0 means DefaultTTL).
func NewStore(rdb redis.UniversalClient, keyspace string, defaultTTL time.Duration) *Store {
	if defaultTTL <= 0 {
		defaultTTL = DefaultTTL
	}
	return &Store{rdb: rdb, ks: keyspace, defaultTTL: defaultTTL}
}

// Key is the Redis key of a session record.
func (s *Store) Key(instanceID, id string) string {
	return s.ks + "s:{" + instanceID + ":" + id + "}"
}

// Create creates the session, or resets the expiry of an existing one, to
// now+ttl. A ttl <= 0 uses the default. The global session ignores ttl.
func (s *Store) Create(ctx context.Context, instanceID, id string, ttl time.Duration) (*Session, error) {
	return s.put(ctx, instanceID, id, ttl, false)
}

// Ensure returns the session, creating it with the default TTL if it does not
// exist: the SDKs use sessions without ever announcing them.
func (s *Store) Ensure(ctx context.Context, instanceID, id string) (*Session, error) {
	return s.put(ctx, instanceID, id, 0, true)
}

func (s *Store) put(ctx context.Context, instanceID, id string, ttl time.Duration, onlyIfNew bool) (*Session, error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	if ttl <= 0 {
		ttl = s.defaultTTL
	}
	now := time.Now().UTC()
	sess := &Session{ID: id, InstanceID: instanceID, CreatedAt: now}
	var exp time.Duration // 0 = no expiry, as go-redis treats it
	if id != GlobalID {
		sess.ExpiresAt = now.Add(ttl)
		exp = ttl
	}
	rec, _ := json.Marshal(sess)
	key := s.Key(instanceID, id)
	if !onlyIfNew {
		if err := s.rdb.Set(ctx, key, rec, exp).Err(); err != nil {
			return nil, fmt.Errorf("session: create %s: %w", id, err)
		}
		return sess, nil
	}
	created, err := s.rdb.SetNX(ctx, key, rec, exp).Result()
	if err != nil {
		return nil, fmt.Errorf("session: ensure %s: %w", id, err)
	}
	if created {
		return sess, nil
	}
	return s.Get(ctx, instanceID, id)
}

// Get returns a live session or ErrNotFound.
func (s *Store) Get(ctx context.Context, instanceID, id string) (*Session, error) {
	raw, err := s.rdb.Get(ctx, s.Key(instanceID, id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("session: get %s: %w", id, err)
	}
	sess := new(Session)
	if err := json.Unmarshal(raw, sess); err != nil {
		return nil, fmt.Errorf("session: decode %s: %w", id, err)
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
