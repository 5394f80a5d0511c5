package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/neru-dev/neru/internal/redisx"
	"github.com/neru-dev/neru/session"
)

// tripRunners is how many shared round trips of session commands may be in
// flight at once; more concurrent commands wait for one and go out together,
// so a busy command endpoint pays one write and one read for many of them.
const tripRunners = 2

// Limits on what a client may send. MaxArgs stays below the 8000 values
// that Lua's unpack can pass on, because session writes run as a script.
const (
	MaxKeyLen       = 512
	MaxNamespaceLen = 256
	MaxArgs         = 4096
)

// Tenant is who is asking: it comes from the verified JWT and the instance
// record, never from the request body. Keys are prefixed with it.
type Tenant struct {
	AccountID  string
	InstanceID string
}

// SessionTTL tells the store when a session ends, so that the session's state
// ends with it. ExpiresAt returns ok=false for a session that never expires,
// such as the global session 00000000-0000-0000-0000-000000000000. Apps use
// sessions they never announced (protocol §4), so an unknown session should get
// the default expiry, not an error. An error fails the write and is returned
// wrapped. It must be safe for concurrent use. ctx bounds the lookup.
type SessionTTL interface {
	ExpiresAt(ctx context.Context, instanceID, sessionID string) (at time.Time, ok bool, err error)
}

// SessionTTLFunc adapts a function to [SessionTTL].
type SessionTTLFunc func(ctx context.Context, instanceID, sessionID string) (time.Time, bool, error)

// ExpiresAt calls f.
func (f SessionTTLFunc) ExpiresAt(ctx context.Context, instanceID, sessionID string) (time.Time, bool, error) {
	return f(ctx, instanceID, sessionID)
}

// SessionEnds tells a read in a session namespace that found the session
// without state whether the session has ended (session.Store.Ended): then
// the read answers session.ErrExpired instead of an empty reply. It must
// not create the session, and must be safe for concurrent use.
type SessionEnds interface {
	Ended(ctx context.Context, instanceID, sessionID string) (endedAt time.Time, ended bool, err error)
}

// SessionEndsFunc adapts a function to [SessionEnds].
type SessionEndsFunc func(ctx context.Context, instanceID, sessionID string) (time.Time, bool, error)

// Ended calls f.
func (f SessionEndsFunc) Ended(ctx context.Context, instanceID, sessionID string) (time.Time, bool, error) {
	return f(ctx, instanceID, sessionID)
}

// Option configures a Store.
type Option func(*Store)

// WithSessionEnds makes reads in a session that has ended fail with
// session.ErrExpired (see "Session expiry" in the package doc). Without
// it such a read answers as Redis does: empty.
func WithSessionEnds(e SessionEnds) Option { return func(s *Store) { s.ends = e } }

// Store runs state commands against Redis. It is safe for concurrent use.
type Store struct {
	rdb      redis.UniversalClient
	trips    *redisx.Coalescer // session reads and writes: one round trip for many concurrent commands
	prefix   string            // <keyspace>st:
	sessions SessionTTL
	ends     SessionEnds // nil: reads do not check
}

// NewStore returns a Store that keeps its keys under keyspace+"st:". The
// keyspace must not contain '{' or '}', because Redis Cluster would take the
// hash tag from it and put every tenant in one slot. NewStore panics if it does,
// or if sessions is nil: both are wiring mistakes.
func NewStore(rdb redis.UniversalClient, keyspace string, sessions SessionTTL, opts ...Option) *Store {
	if strings.ContainsAny(keyspace, "{}") {
		panic(fmt.Sprintf("state: keyspace %q contains a hash-tag brace", keyspace))
	}
	if sessions == nil {
		panic("state: NewStore needs a SessionTTL")
	}
	s := &Store{rdb: rdb, trips: redisx.NewCoalescer(rdb, tripRunners), prefix: keyspace + "st:", sessions: sessions}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Exec runs one command for tenant t and returns the exact JSON reply body.
// Client mistakes are [ErrUnknownOperation], [ErrUnsupported], [ErrBadArgs] or
// [ErrWrongType], and leave the data unchanged. Any other error is a server
// fault.
func (s *Store) Exec(ctx context.Context, t Tenant, cmd Command) (json.RawMessage, error) {
	c, err := s.prepare(t, cmd)
	if err != nil {
		return nil, err
	}
	var res *redis.Cmd
	switch {
	case c.session != "" && c.spec.write:
		res, err = s.sessionWrite(ctx, t.InstanceID, c)
	case c.session != "":
		res, err = s.sessionRead(ctx, t.InstanceID, c)
	default:
		res = s.rdb.Do(ctx, append([]any{c.op, c.key}, c.args...)...)
	}
	if err != nil {
		return nil, err
	}
	reply, err := res.Result()
	if errors.Is(err, redis.Nil) {
		reply, err = nil, nil
	}
	if err != nil {
		return nil, redisErr(c.op, err)
	}
	return encodeReply(reply)
}

// call is a checked command, ready to send.
type call struct {
	op      string // canonical (upper-case) name
	spec    opSpec
	key     string // the full Redis key
	session string // the session id, for a state:<session> namespace
	reg     string // the session's registry key, when session != ""
	args    []any
}

// prepare checks cmd and maps it to tenant t's key. It does not touch Redis.
func (s *Store) prepare(t Tenant, cmd Command) (call, error) {
	op := strings.ToUpper(cmd.Operation)
	spec, ok := ops[op]
	switch {
	case ok:
	case op == "":
		return call{}, badArgs("operation is missing")
	case strings.HasPrefix(op, "FT."):
		return call{}, fmt.Errorf("%w: %s: full-text search (RediSearch) is not available", ErrUnsupported, op)
	default:
		return call{}, fmt.Errorf("%w: %q", ErrUnknownOperation, cmd.Operation)
	}
	switch {
	case cmd.Key == "":
		return call{}, badArgs("%s: key is missing", op)
	case len(cmd.Key) > MaxKeyLen:
		return call{}, badArgs("%s: key is longer than %d bytes", op, MaxKeyLen)
	case len(cmd.Args) > MaxArgs:
		return call{}, badArgs("%s: more than %d args", op, MaxArgs)
	}
	tag, session, err := namespaceTag(t, cmd.Namespace)
	if err != nil {
		return call{}, err
	}
	args, err := spec.args(cmd.Args)
	if err != nil {
		return call{}, badArgs("%s: %v", op, err)
	}
	c := call{op: op, spec: spec, key: s.prefix + tag + ":" + cmd.Key, session: session, args: args}
	if session != "" {
		c.reg = s.prefix + tag + registrySuffix
	}
	return c, nil
}

// namespaceTag maps a client's namespace to the hash tag of tenant t's keys
// (see the table in doc.go). For a session namespace it also returns the
// session id.
func namespaceTag(t Tenant, ns string) (tag, sessionID string, err error) {
	id, isSession := strings.CutPrefix(ns, "state:")
	switch {
	case ns == "":
		return "", "", badArgs("namespace is missing")
	case len(ns) > MaxNamespaceLen && !isSession:
		return "", "", badArgs("namespace is longer than %d bytes", MaxNamespaceLen)
	case ns == "account":
		if err := checkTenantID("account", t.AccountID); err != nil {
			return "", "", err
		}
		return "{acct:" + t.AccountID + "}", "", nil
	}
	if err := checkTenantID("instance", t.InstanceID); err != nil {
		return "", "", err
	}
	if strings.HasPrefix(ns, "application:") {
		return "{" + t.InstanceID + ":app}", "", nil // the id after the colon is only a claim
	}
	if isSession {
		// Any session id the session store accepts (session.ValidateID).
		if err := session.ValidateID(id); err != nil {
			return "", "", badArgs("namespace state:<session id>: %v", err)
		}
		return sessionTag(t.InstanceID, id), id, nil
	}
	return "{" + t.InstanceID + ":ns:" + session.KeyPart(ns) + "}", "", nil
}

// sessionTag and the custom namespace tag write the client-chosen part with
// session.KeyPart, so the tag ends at its first '}' and distinct names stay
// distinct keys.
func sessionTag(instanceID, sessionID string) string {
	return "{" + instanceID + ":s:" + session.KeyPart(sessionID) + "}"
}

// checkTenantID rejects ids that would make the key layout ambiguous. A tenant
// comes from the platform, not the client, so a bad one is a server fault, not
// a client error. Colons would let "i:s:x" + session "y" alias "i" + session
// "x:s:y". An instance named "acct" would share the tag {acct:app} with an
// account named "app".
func checkTenantID(kind, id string) error {
	switch {
	case id == "":
		return fmt.Errorf("state: tenant has no %s id", kind)
	case strings.ContainsAny(id, ":{}"):
		return fmt.Errorf("state: tenant %s id %q contains ':', '{' or '}'", kind, id)
	case kind == "instance" && id == "acct":
		return errors.New(`state: tenant instance id "acct" is reserved`)
	}
	return nil
}
