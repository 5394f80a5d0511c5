package state

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/neru-dev/neru/internal/redisx"
	"github.com/neru-dev/neru/session"
)

// registrySuffix follows a session's hash tag to name the session's registry:
// <keyspace>st:{<instance>:s:<session>}__keys. App keys always follow "}:", so
// no app key can be the registry.
const registrySuffix = "__keys"

// writeScript runs one write to a session key, keeps the key inside the
// session's lifetime and records it in the registry. The rules are in doc.go,
// "Session expiry".
//
// KEYS[1] is the key and KEYS[2] the registry. ARGV[1] is the session's end in
// Unix ms ("" = never), ARGV[2] the operation and ARGV[3…] its args.
var writeScript = redis.NewScript(`
local key, reg, at, op = KEYS[1], KEYS[2], ARGV[1], ARGV[2]
local own = redis.call('HGET', reg, key) == 'app' -- the key's TTL is the app's
if op == 'EXPIRE' and not own then
  -- The app never expired this key, so for NX/XX/GT/LT it has no TTL:
  -- hide the session's. It is put back below if EXPIRE does not apply.
  redis.call('PERSIST', key)
end
local reply = redis.pcall(op, key, unpack(ARGV, 3))
if type(reply) == 'table' and reply.err and op ~= 'EXPIRE' then
  return reply -- the write failed, so nothing has changed
end
if op == 'EXPIRE' and reply == 1 then own = true end
local ttl = redis.call('PTTL', key)
if ttl == -2 then
  redis.call('HDEL', reg, key) -- gone: DEL, last element popped, EXPIRE <= 0
else
  if ttl == -1 then own = false end -- new, SET dropped the TTL, or EXPIRE did not apply
  if at ~= '' then
    if own then
      redis.call('PEXPIREAT', key, at, 'LT') -- the app's TTL, capped at the session's end
    else
      redis.call('PEXPIREAT', key, at)
    end
  end
  redis.call('HSET', reg, key, own and 'app' or '')
end
if at ~= '' then redis.call('PEXPIREAT', reg, at) end
return reply
`)

// The scripts below reach the keys that the registry lists. They cannot pass
// those keys in KEYS, because they learn them only from the registry. The keys
// share the registry's hash tag, so each script still stays on one Cluster
// slot. unpack takes at most 500 keys at a time, to stay within Lua's stack.

var deleteScript = redis.NewScript(`
local keys = redis.call('HKEYS', KEYS[1])
for i = 1, #keys, 500 do
  redis.call('DEL', unpack(keys, i, math.min(i + 499, #keys)))
end
return redis.call('DEL', KEYS[1])
`)

var countScript = redis.NewScript(`
local keys = redis.call('HKEYS', KEYS[1])
local n = 0
for i = 1, #keys, 500 do
  n = n + redis.call('EXISTS', unpack(keys, i, math.min(i + 499, #keys)))
end
return n
`)

var expireScript = redis.NewScript(`
local kv = redis.call('HGETALL', KEYS[1])
for i = 1, #kv, 2 do
  if kv[i + 1] == 'app' then
    redis.call('PEXPIREAT', kv[i], ARGV[1], 'LT')
  else
    redis.call('PEXPIREAT', kv[i], ARGV[1])
  end
end
return redis.call('PEXPIREAT', KEYS[1], ARGV[1])
`)

// extendScript is expireScript for an end that only moves later: keys
// whose TTL is the session's move to ARGV[1] if that is later (GT); keys
// whose TTL is the app's keep it (it was capped at an earlier end).
var extendScript = redis.NewScript(`
local kv = redis.call('HGETALL', KEYS[1])
for i = 1, #kv, 2 do
  if kv[i + 1] ~= 'app' then
    redis.call('PEXPIREAT', kv[i], ARGV[1], 'GT')
  end
end
return redis.call('PEXPIREAT', KEYS[1], ARGV[1], 'GT')
`)

// sessionWrite runs c, a write in a session namespace, through writeScript.
func (s *Store) sessionWrite(ctx context.Context, instanceID string, c call) (*redis.Cmd, error) {
	at, ok, err := s.sessions.ExpiresAt(ctx, instanceID, c.session)
	if errors.Is(err, session.ErrExpired) {
		return nil, err // as it is: its text is the app's answer (410)
	}
	if err != nil {
		return nil, fmt.Errorf("state: expiry of session %q: %w", c.session, err)
	}
	argv := append([]any{unixMilli(at, ok), c.op}, c.args...)
	res := s.trips.Run(ctx, writeScript, []string{c.key, c.reg}, argv...)
	// The script may have run after the session's end, although the
	// session was alive when at was read: then its write expired at once
	// (PEXPIREAT in the past), and answering its reply would tell the app
	// it stored something. The session has ended by now anyway.
	if ok && !at.After(time.Now()) {
		return nil, &session.ExpiredError{ID: c.session, At: at}
	}
	return res, nil
}

// sessionRead runs c, a read in a session namespace, followed by a look at
// the session's registry, in one shared round trip. The registry exists as
// long as the session has any state, and ends with it. Without it the
// session has no state: it never had any, or it had and has ended (its keys
// all expired at once, or a delete took them). Only then is the session
// asked whether it has ended: the session may well have been alive when the
// command was let in and ended before the read ran, and the app must not
// mistake the vanished state for state it never wrote.
//
// The two need no transaction, only their order (one connection runs them
// in turn; they share a hash tag, so one Cluster node): a read that found
// nothing because the session ended is followed by an EXISTS that finds the
// registry gone too, since keys and registry expire at the same instant or
// are deleted together, and a registry still there means the session's
// state was alive when the read ran. A read of existing state costs the one
// round trip it always did.
func (s *Store) sessionRead(ctx context.Context, instanceID string, c call) (*redis.Cmd, error) {
	var has *redis.IntCmd
	var res *redis.Cmd
	// The error is also each command's; a failed read (WRONGTYPE) is res's.
	err := s.trips.Pipelined(ctx, func(p redis.Pipeliner) {
		res = p.Do(ctx, append([]any{c.op, c.key}, c.args...)...)
		has = p.Exists(ctx, c.reg)
	})
	if errors.Is(err, redisx.ErrGaveUp) {
		return nil, fmt.Errorf("state: %s in session %q: %w", c.op, c.session, err)
	}
	if err := has.Err(); err != nil {
		return nil, fmt.Errorf("state: %s in session %q: %w", c.op, c.session, err)
	}
	if has.Val() == 0 && s.ends != nil {
		at, ended, err := s.ends.Ended(ctx, instanceID, c.session)
		if err != nil {
			return nil, fmt.Errorf("state: has session %q ended: %w", c.session, err)
		}
		if ended {
			return nil, &session.ExpiredError{ID: c.session, At: at}
		}
	}
	return res, nil
}

// DeleteSession deletes all state of a session, and its registry, in one step.
// A write that runs at the same time lands either before (and is deleted) or
// after (and starts new state).
func (s *Store) DeleteSession(ctx context.Context, instanceID, sessionID string) error {
	reg, err := s.registry(instanceID, sessionID)
	if err != nil {
		return err
	}
	if err := deleteScript.Run(ctx, s.rdb, []string{reg}).Err(); err != nil {
		return fmt.Errorf("state: delete session %q: %w", sessionID, err)
	}
	return nil
}

// CountSessionKeys returns how many of a session's keys exist. A key the app
// expired, or deleted, does not count.
func (s *Store) CountSessionKeys(ctx context.Context, instanceID, sessionID string) (int64, error) {
	reg, err := s.registry(instanceID, sessionID)
	if err != nil {
		return 0, err
	}
	n, err := countScript.Run(ctx, s.rdb, []string{reg}).Int64()
	if err != nil {
		return 0, fmt.Errorf("state: count session %q: %w", sessionID, err)
	}
	return n, nil
}

// ExpireSession moves the end of a session's state to at, for a sliding
// session that was extended. Writes apply the new expiry on their own. This
// call also moves the keys that are not written again. Keys whose TTL the app
// set keep it, capped at at. It does not remove an expiry. A session that stops
// expiring is not a case the session model has.
func (s *Store) ExpireSession(ctx context.Context, instanceID, sessionID string, at time.Time) error {
	reg, err := s.registry(instanceID, sessionID)
	if err != nil {
		return err
	}
	if err := expireScript.Run(ctx, s.rdb, []string{reg}, unixMilli(at, true)).Err(); err != nil {
		return fmt.Errorf("state: expire session %q: %w", sessionID, err)
	}
	return nil
}

// ExtendSession moves the end of a session's state to at, never earlier:
// the sliding extension calls it before it moves the session itself, so the
// state never ends before its session, even if the extension then does not
// apply.
func (s *Store) ExtendSession(ctx context.Context, instanceID, sessionID string, at time.Time) error {
	reg, err := s.registry(instanceID, sessionID)
	if err != nil {
		return err
	}
	if err := extendScript.Run(ctx, s.rdb, []string{reg}, unixMilli(at, true)).Err(); err != nil {
		return fmt.Errorf("state: extend session %q: %w", sessionID, err)
	}
	return nil
}

func (s *Store) registry(instanceID, sessionID string) (string, error) {
	if err := checkTenantID("instance", instanceID); err != nil {
		return "", err
	}
	if sessionID == "" {
		return "", badArgs("session id is missing")
	}
	return s.prefix + sessionTag(instanceID, sessionID) + registrySuffix, nil
}

// unixMilli is how the session scripts take an expiry: Unix milliseconds, or
// "" for none.
func unixMilli(at time.Time, ok bool) string {
	if !ok {
		return ""
	}
	return strconv.FormatInt(at.UnixMilli(), 10)
}
