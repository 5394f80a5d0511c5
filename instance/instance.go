package instance

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/neru-dev/neru/internal/ttlcache"
)

var (
	// ErrNotFound: no instance with that id or application id.
	ErrNotFound = errors.New("instance not found")
	// ErrExists: the id or the application id is taken.
	ErrExists = errors.New("instance already exists")
	// ErrInvalid wraps every validation failure of an Instance.
	ErrInvalid = errors.New("invalid instance")
)

// validID keeps ids usable as NATS subject tokens and Redis key parts.
var validID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Instance is one deployed app.
type Instance struct {
	ID            string `json:"id"`
	BaseURL       string `json:"baseUrl"`
	ApplicationID string `json:"applicationId"`
	AccountID     string `json:"accountId,omitempty"`
	// PublicKey is the PEM of the RSA key the app's SDK signs its JWT with.
	PublicKey string `json:"publicKey,omitempty"`
	// Unauthenticated marks an instance for loopback development: SDK calls
	// without a JWT (neru in DEBUG mode) are accepted for it. `neru dev` sets it.
	Unauthenticated bool `json:"unauthenticated,omitempty"`
	// SessionIdle switches the instance's sessions to sliding expiry: every
	// delivery to a session and every SDK command in it push its end to
	// now+SessionIdle (never earlier). Zero: fixed expiry (session.DefaultTTL,
	// or the ttl of session_created). See package session.
	SessionIdle Duration `json:"sessionIdle,omitzero"`
	// MaxSessions caps the instance's live sessions; past it, new sessions
	// are refused with 429 (existing ones keep working). Zero: no cap.
	MaxSessions int `json:"maxSessions,omitempty"`
	// OnDead says what a dead delivery (sent to the DLQ) does to its
	// session's later deliveries: OnDeadSkip ("" too) lets them flow on;
	// OnDeadHold keeps them waiting behind it, in order, until it is
	// replayed (it then goes first) or discarded. See package worker.
	OnDead    string    `json:"onDead,omitempty"`
	CreatedAt time.Time `json:"createdAt"`

	// SignatureSecrets verify the instance's provider webhooks (Vonage's
	// HS256 JWT); any one verifies, so a secret can be rotated. Empty:
	// unsigned webhooks are accepted. Stored with the record, never written
	// by the Instance's own JSON (admin responses show fingerprints).
	SignatureSecrets []string `json:"-"`
	// DeliverySecrets sign every request to the app (secrets.go); the
	// first is current. Generated at creation; never in the Instance's JSON.
	DeliverySecrets []DeliverySecret `json:"-"`
}

// MaxSignatureSecrets bounds the secrets an instance may hold at once.
const MaxSignatureSecrets = 5

// What a dead delivery does to its session (Instance.OnDead).
const (
	OnDeadSkip = "skip"
	OnDeadHold = "hold"
)

// Holds reports whether the instance holds a session behind a dead delivery.
func (in *Instance) Holds() bool { return in.OnDead == OnDeadHold }

// MinSessionIdle is the shortest sliding session lifetime an instance may set.
const MinSessionIdle = time.Second

// Validate checks an instance before it is stored.
func (in *Instance) Validate() error {
	if !validID.MatchString(in.ID) {
		return fmt.Errorf("%w: id must match %s", ErrInvalid, validID)
	}
	u, err := url.Parse(in.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: baseUrl must be an absolute http(s) URL", ErrInvalid)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%w: baseUrl must not have a query or fragment", ErrInvalid)
	}
	in.BaseURL = strings.TrimRight(in.BaseURL, "/")
	if in.ApplicationID == "" || len(in.ApplicationID) > 128 || strings.ContainsAny(in.ApplicationID, "{}/ ") {
		return fmt.Errorf("%w: applicationId is required (at most 128 characters, no spaces, slashes or braces)", ErrInvalid)
	}
	// Account ids key account-wide state: keep them to the id alphabet, so
	// no id can alias another tenant's keys (see package state).
	if in.AccountID != "" && !validID.MatchString(in.AccountID) {
		return fmt.Errorf("%w: accountId must match %s", ErrInvalid, validID)
	}
	if in.PublicKey != "" {
		if _, err := ParsePublicKey(in.PublicKey); err != nil {
			return fmt.Errorf("%w: publicKey: %v", ErrInvalid, err)
		}
	}
	if err := in.validateSignatureSecrets(); err != nil {
		return err
	}
	return in.validateSettings()
}

func (in *Instance) validateSignatureSecrets() error {
	if len(in.SignatureSecrets) > MaxSignatureSecrets {
		return fmt.Errorf("%w: at most %d signatureSecrets", ErrInvalid, MaxSignatureSecrets)
	}
	for _, s := range in.SignatureSecrets {
		if len(s) < 8 || len(s) > 512 {
			return fmt.Errorf("%w: a signature secret has 8 to 512 characters", ErrInvalid)
		}
	}
	return nil
}

func (in *Instance) validateSettings() error {
	if in.SessionIdle != 0 && time.Duration(in.SessionIdle) < MinSessionIdle {
		return fmt.Errorf("%w: sessionIdle must be 0 (fixed expiry) or at least %s", ErrInvalid, MinSessionIdle)
	}
	if in.MaxSessions < 0 {
		return fmt.Errorf("%w: maxSessions must be 0 (no cap) or positive", ErrInvalid)
	}
	if in.OnDead != "" && in.OnDead != OnDeadSkip && in.OnDead != OnDeadHold {
		return fmt.Errorf("%w: onDead must be %q or %q", ErrInvalid, OnDeadSkip, OnDeadHold)
	}
	return nil
}

// Duration is a time.Duration written in JSON as a Go duration string
// ("30m", "1h30m"). It also reads a number, as seconds.
type Duration time.Duration

// MarshalJSON writes d as "1h30m0s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "90m" or 5400.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var secs float64
		if err := json.Unmarshal(b, &secs); err != nil {
			return fmt.Errorf("%w: a duration is a string such as \"30m\" or a number of seconds", ErrInvalid)
		}
		*d = Duration(secs * float64(time.Second))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%w: duration %q: %v", ErrInvalid, s, err)
	}
	*d = Duration(v)
	return nil
}

// ParsePublicKey reads an RSA public key from PEM (PKIX or PKCS#1).
func ParsePublicKey(pemText string) (*rsa.PublicKey, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return nil, errors.New("not PEM")
	}
	if k, err := x509.ParsePKCS1PublicKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, errors.New("not an RSA key")
	}
	return rk, nil
}

// Store keeps instances in Redis.
type Store struct {
	rdb redis.UniversalClient
	ks  string
	log *slog.Logger
	// cache holds records by "id:<id>" and "app:<application id>".
	cache *ttlcache.Cache[string, *Instance]
}

const (
	cacheTTL = 2 * time.Second
	cacheMax = 10_000
)

// Option configures a Store.
type Option func(*Store)

// WithLogger sets where the store reports failed best-effort calls (a
// create's rollback), at warn with the key. Default slog.Default().
func WithLogger(l *slog.Logger) Option { return func(s *Store) { s.log = l } }

// NewStore returns a Store whose keys start with keyspace.
func NewStore(rdb redis.UniversalClient, keyspace string, opts ...Option) *Store {
	s := &Store{rdb: rdb, ks: keyspace, log: slog.Default(), cache: ttlcache.New[string, *Instance](cacheMax, cacheTTL)}
	for _, o := range opts {
		o(s)
	}
	return s
}

func (s *Store) recKey(id string) string  { return s.ks + "inst:{" + id + "}" }
func (s *Store) appKey(app string) string { return s.ks + "inst:app:{" + app + "}" }
func (s *Store) allKey() string           { return s.ks + "inst:all" }

// Create stores a new instance. Its id and application id must be unused.
func (s *Store) Create(ctx context.Context, in *Instance) error {
	if err := in.Validate(); err != nil {
		return err
	}
	if in.CreatedAt.IsZero() {
		in.CreatedAt = time.Now().UTC()
	}
	if len(in.DeliverySecrets) == 0 {
		in.DeliverySecrets = []DeliverySecret{{Secret: NewDeliverySecret()}}
	}
	rec, err := encodeRecord(in)
	if err != nil {
		return err
	}
	// The application id claim comes first: it is the one two instances race for.
	ok, err := s.rdb.SetNX(ctx, s.appKey(in.ApplicationID), in.ID, 0).Result()
	if err != nil {
		return fmt.Errorf("instance: create: %w", err)
	}
	if !ok {
		return fmt.Errorf("%w: application id %q is used by another instance", ErrExists, in.ApplicationID)
	}
	ok, err = s.rdb.SetNX(ctx, s.recKey(in.ID), rec, 0).Result()
	if err != nil || !ok {
		// Give the application id back. If that fails too, it stays
		// claimed by an instance that does not exist: say which key.
		if err := s.rdb.Del(ctx, s.appKey(in.ApplicationID)).Err(); err != nil {
			s.log.WarnContext(ctx, "instance: create rollback failed; the application id stays claimed", "key", s.appKey(in.ApplicationID), "instance", in.ID, "err", err)
		}
		if err != nil {
			return fmt.Errorf("instance: create: %w", err)
		}
		return fmt.Errorf("%w: id %q", ErrExists, in.ID)
	}
	return s.rdb.SAdd(ctx, s.allKey(), in.ID).Err()
}

// Get returns an instance by id. Results are cached for two seconds, so a
// deleted instance may still route for that long.
func (s *Store) Get(ctx context.Context, id string) (*Instance, error) {
	if !validID.MatchString(id) {
		return nil, ErrNotFound
	}
	return s.load(ctx, "id:"+id, func() (string, error) { return id, nil })
}

// ByApplication returns the instance that owns a Vonage application id.
func (s *Store) ByApplication(ctx context.Context, appID string) (*Instance, error) {
	return s.load(ctx, "app:"+appID, func() (string, error) {
		id, err := s.rdb.Get(ctx, s.appKey(appID)).Result()
		if errors.Is(err, redis.Nil) {
			return "", ErrNotFound
		}
		return id, err
	})
}

func (s *Store) load(ctx context.Context, ck string, resolve func() (string, error)) (*Instance, error) {
	if in, ok := s.cache.Get(ck); ok {
		return in, nil
	}
	id, err := resolve()
	if err != nil {
		return nil, err
	}
	raw, err := s.rdb.Get(ctx, s.recKey(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("instance: get %s: %w", id, err)
	}
	in, err := decodeRecord(raw)
	if err != nil {
		return nil, fmt.Errorf("instance: decode %s: %w", id, err)
	}
	s.cache.Put(ck, in)
	return in, nil
}

// List returns every instance, sorted by id.
func (s *Store) List(ctx context.Context) ([]*Instance, error) {
	ids, err := s.rdb.SMembers(ctx, s.allKey()).Result()
	if err != nil {
		return nil, fmt.Errorf("instance: list: %w", err)
	}
	out := make([]*Instance, 0, len(ids))
	for _, id := range ids {
		in, err := s.Get(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Settings are the instance fields that may change after creation.
// A nil field is left as it is.
type Settings struct {
	SessionIdle *Duration `json:"sessionIdle,omitempty"`
	MaxSessions *int      `json:"maxSessions,omitempty"`
	OnDead      *string   `json:"onDead,omitempty"`
	// SignatureSecrets replaces the webhook signature secrets (an empty
	// list removes them all).
	SignatureSecrets *[]string `json:"signatureSecrets,omitempty"`
	// RotateDeliverySecret makes a new delivery secret current; the old
	// ones keep signing for this long (their overlap). Nil: no rotation.
	RotateDeliverySecret *time.Duration `json:"-"`
}

// Update applies settings to an instance and returns the result. Other
// processes see the change within their cache time (two seconds).
func (s *Store) Update(ctx context.Context, id string, set Settings) (*Instance, error) {
	cur, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	in := *cur
	if set.SessionIdle != nil {
		in.SessionIdle = *set.SessionIdle
	}
	if set.MaxSessions != nil {
		in.MaxSessions = *set.MaxSessions
	}
	if set.OnDead != nil {
		in.OnDead = *set.OnDead
	}
	if set.SignatureSecrets != nil {
		in.SignatureSecrets = slices.Clone(*set.SignatureSecrets)
	}
	if set.RotateDeliverySecret != nil {
		in.DeliverySecrets = rotate(in.DeliverySecrets, time.Now().Add(*set.RotateDeliverySecret))
	}
	if err := in.validateSettings(); err != nil {
		return nil, err
	}
	if err := in.validateSignatureSecrets(); err != nil {
		return nil, err
	}
	rec, err := encodeRecord(&in)
	if err != nil {
		return nil, err
	}
	// XX: an instance deleted meanwhile stays deleted.
	ok, err := s.rdb.SetXX(ctx, s.recKey(id), rec, redis.KeepTTL).Result()
	if err != nil {
		return nil, fmt.Errorf("instance: update %s: %w", id, err)
	}
	if !ok {
		return nil, ErrNotFound
	}
	s.cache.Delete("id:" + id)
	s.cache.Delete("app:" + in.ApplicationID)
	return &in, nil
}

// Delete removes an instance. Its sessions, listeners and state age out with
// their TTLs; its listeners stop matching at once because webhooks for its
// application id no longer resolve.
func (s *Store) Delete(ctx context.Context, id string) error {
	in, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		// One key per DEL: the keys live in different cluster slots.
		p.Del(ctx, s.recKey(id))
		p.Del(ctx, s.appKey(in.ApplicationID))
		p.SRem(ctx, s.allKey(), id)
		return nil
	}); err != nil {
		return fmt.Errorf("instance: delete %s: %w", id, err)
	}
	s.cache.Delete("id:" + id)
	s.cache.Delete("app:" + in.ApplicationID)
	return nil
}
