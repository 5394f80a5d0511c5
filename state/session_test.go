package state

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/neru-dev/neru/internal/testenv"
)

// sessionKey is the Redis key of key in session sid of tenant A.
func (e *env) sessionKey(sid, key string) string {
	return e.prefix + "st:{inst-a:s:" + sid + "}:" + key
}

func (e *env) registryKey(sid string) string {
	return e.prefix + "st:{inst-a:s:" + sid + "}__keys"
}

// TestSessionExpiry: every write to session state leaves the key, and the
// registry, expiring exactly when the session ends. Other namespaces and the
// global session do not expire.
func TestSessionExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	end := e.end.UnixMilli()
	writes := []struct{ key, op, args string }{
		{"s", "SET", `["1"]`}, {"n", "INCRBY", `["1"]`}, {"n", "DECRBY", `["1"]`},
		{"h", "HSET", `["f","v"]`}, {"h", "HINCRBY", `["n","1"]`}, {"h", "HDEL", `["f"]`},
		{"l", "RPUSH", `["a","b","c","d"]`}, {"l", "LPUSH", `["z"]`}, {"l", "LSET", `["0","y"]`},
		{"l", "LINSERT", `["AFTER","y","x"]`}, {"l", "LREM", `["1","x"]`}, {"l", "LTRIM", `["0","-1"]`},
		{"l", "LPOP", `["1"]`}, {"l", "RPOP", `["1"]`},
	}
	for _, w := range writes {
		// Start from an expiry that is not the session's, so each write is seen to set it.
		e.rdb.PExpireAt(e.ctx, e.sessionKey("S", w.key), e.end.Add(-time.Minute))
		e.exec(tenantA, w.op, "state:S", w.key, w.args)
		if got := e.expireTime(e.sessionKey("S", w.key)); got != end {
			t.Errorf("%s: key expires at %d, want the session's end %d", w.op, got, end)
		}
		e.exec(tenantA, w.op, "my-ns", w.key, w.args)
		if got := e.expireTime(e.prefix + "st:{inst-a:ns:my-ns}:" + w.key); got != -1 {
			t.Errorf("%s in a custom namespace: key expires at %d, want never", w.op, got)
		}
	}
	if got := e.expireTime(e.registryKey("S")); got != end {
		t.Errorf("registry expires at %d, want %d", got, end)
	}
	if n, err := e.store.CountSessionKeys(e.ctx, "inst-a", "S"); err != nil || n != 4 {
		t.Errorf("CountSessionKeys = %d, %v; want 4 (s, n, h, l)", n, err)
	}

	e.exec(tenantA, "SET", "state:"+globalSession, "k", `["1"]`)
	if got := e.expireTime(e.sessionKey(globalSession, "k")); got != -1 {
		t.Errorf("global session key expires at %d, want never", got)
	}
	if got := e.expireTime(e.registryKey(globalSession)); got != -1 {
		t.Errorf("global session registry expires at %d, want never", got)
	}
}

// TestSessionAppExpire: the app's EXPIRE works on session state as on plain
// Redis. The session's expiry is invisible to NX/XX/GT/LT, and it caps the
// app's expiry. A later write keeps the app's TTL, except SET, which drops it
// as Redis does.
func TestSessionAppExpire(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	end := e.end.UnixMilli()
	key := e.sessionKey("S", "l")
	ns := "state:S"

	e.exec(tenantA, "RPUSH", ns, "l", `["a"]`)
	for _, opt := range []string{"XX", "GT"} { // neither applies to a key without the app's TTL
		if got := e.exec(tenantA, "EXPIRE", ns, "l", `["60","`+opt+`"]`); got != `0` {
			t.Errorf("EXPIRE 60 %s = %s, want 0", opt, got)
		}
		if got := e.expireTime(key); got != end {
			t.Errorf("after EXPIRE %s: expires at %d, want the session's end %d back", opt, got, end)
		}
	}
	if got := e.exec(tenantA, "EXPIRE", ns, "l", `["60","NX"]`); got != `1` {
		t.Errorf("EXPIRE 60 NX = %s, want 1", got)
	}
	appTTL := e.expireTime(key)
	if appTTL <= 0 || appTTL > time.Now().Add(time.Minute).UnixMilli() {
		t.Errorf("after EXPIRE 60: expires at %d, want within a minute", appTTL)
	}
	e.exec(tenantA, "RPUSH", ns, "l", `["b"]`)
	if got := e.expireTime(key); got != appTTL {
		t.Errorf("RPUSH changed the app's expiry %d to %d", appTTL, got)
	}
	if got := e.exec(tenantA, "EXPIRE", ns, "l", `["30","GT"]`); got != `0` {
		t.Errorf("EXPIRE 30 GT after EXPIRE 60 = %s, want 0", got)
	}
	if got := e.exec(tenantA, "EXPIRE", ns, "l", `["864000"]`); got != `1` {
		t.Errorf("EXPIRE 10 days = %s, want 1", got)
	}
	if got := e.expireTime(key); got != end {
		t.Errorf("EXPIRE past the session's end: expires at %d, want capped at %d", got, end)
	}

	e.exec(tenantA, "SET", ns, "s", `["1"]`)
	e.exec(tenantA, "EXPIRE", ns, "s", `["60"]`)
	e.exec(tenantA, "SET", ns, "s", `["2"]`)
	if got := e.expireTime(e.sessionKey("S", "s")); got != end {
		t.Errorf("SET after EXPIRE: expires at %d, want the session's end %d", got, end)
	}
	if got := e.exec(tenantA, "EXPIRE", ns, "s", `["60","NX"]`); got != `1` {
		t.Errorf("EXPIRE NX after SET dropped the app's TTL = %s, want 1", got)
	}

	if got := e.exec(tenantA, "EXPIRE", ns, "s", `["0"]`); got != `1` {
		t.Errorf("EXPIRE 0 = %s, want 1", got)
	}
	if n := e.rdb.HExists(e.ctx, e.registryKey("S"), e.sessionKey("S", "s")).Val(); n {
		t.Errorf("registry still lists a deleted key")
	}
}

// TestDeleteSession removes one session's state and nothing else.
func TestDeleteSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, ns := range []string{"state:S1", "state:S2", "application:x"} {
		e.exec(tenantA, "SET", ns, "k", `["1"]`)
		e.exec(tenantA, "HSET", ns, "h", `["f","v"]`)
		e.exec(tenantA, "RPUSH", ns, "l", `["a"]`)
	}
	e.exec(tenantB, "SET", "state:S1", "k", `["1"]`)

	if err := e.store.DeleteSession(e.ctx, "inst-a", "S1"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		tn   Tenant
		ns   string
		want string
	}{
		{tenantA, "state:S1", `null`},
		{tenantA, "state:S2", `"1"`},
		{tenantA, "application:x", `"1"`},
		{tenantB, "state:S1", `"1"`},
	} {
		if got := e.exec(c.tn, "GET", c.ns, "k", `[]`); got != c.want {
			t.Errorf("%s %s after DeleteSession(S1): GET = %s, want %s", c.tn.InstanceID, c.ns, got, c.want)
		}
	}
	if n := e.rdb.Exists(e.ctx, e.registryKey("S1"), e.sessionKey("S1", "h"), e.sessionKey("S1", "l")).Val(); n != 0 {
		t.Errorf("%d keys of S1 survived", n)
	}
	for sid, want := range map[string]int64{"S1": 0, "S2": 3} {
		if n, err := e.store.CountSessionKeys(e.ctx, "inst-a", sid); err != nil || n != want {
			t.Errorf("CountSessionKeys(%s) = %d, %v; want %d", sid, n, err, want)
		}
	}
	if err := e.store.DeleteSession(e.ctx, "inst-a", "never-used"); err != nil {
		t.Errorf("DeleteSession of an empty session: %v", err)
	}
}

// TestCountSessionKeys counts only keys that still exist.
func TestCountSessionKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, k := range []string{"a", "b", "c"} {
		e.exec(tenantA, "SET", "state:S", k, `["1"]`)
	}
	e.rdb.Del(e.ctx, e.sessionKey("S", "b")) // as if the app's TTL had run out
	if n, err := e.store.CountSessionKeys(e.ctx, "inst-a", "S"); err != nil || n != 2 {
		t.Errorf("CountSessionKeys = %d, %v; want 2", n, err)
	}
}

// TestExpireSession: extending a sliding session moves the state that
// follows the session, and leaves the app's own expiries alone.
func TestExpireSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.exec(tenantA, "SET", "state:S", "follows", `["1"]`)
	e.exec(tenantA, "SET", "state:S", "own", `["1"]`)
	e.exec(tenantA, "EXPIRE", "state:S", "own", `["60"]`)
	appTTL := e.expireTime(e.sessionKey("S", "own"))

	later := e.end.Add(time.Hour)
	if err := e.store.ExpireSession(e.ctx, "inst-a", "S", later); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]int64{
		e.sessionKey("S", "follows"): later.UnixMilli(),
		e.sessionKey("S", "own"):     appTTL,
		e.registryKey("S"):           later.UnixMilli(),
	} {
		if got := e.expireTime(key); got != want {
			t.Errorf("%s expires at %d, want %d", key, got, want)
		}
	}
}

// TestExtendSession: the move made before a session is extended only ever
// moves state later, so it cannot end state before its session even when
// the extension then does not apply.
func TestExtendSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.exec(tenantA, "SET", "state:S", "follows", `["1"]`)
	e.exec(tenantA, "SET", "state:S", "own", `["1"]`)
	e.exec(tenantA, "EXPIRE", "state:S", "own", `["60"]`)
	appTTL := e.expireTime(e.sessionKey("S", "own"))
	for _, tc := range []struct {
		name string
		at   time.Time
		want int64
	}{
		{"earlier: nothing moves", e.end.Add(-time.Hour), e.end.UnixMilli()},
		{"later: the session's keys move", e.end.Add(time.Hour), e.end.Add(time.Hour).UnixMilli()},
	} {
		if err := e.store.ExtendSession(e.ctx, "inst-a", "S", tc.at); err != nil {
			t.Fatal(err)
		}
		for key, want := range map[string]int64{
			e.sessionKey("S", "follows"): tc.want,
			e.sessionKey("S", "own"):     appTTL,
			e.registryKey("S"):           tc.want,
		} {
			if got := e.expireTime(key); got != want {
				t.Errorf("%s: %s expires at %d, want %d", tc.name, key, got, want)
			}
		}
	}
}

// TestSessionTTLError: when the session's expiry is unknown, a write fails
// with that error and changes nothing.
func TestSessionTTLError(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.ttlErr = errors.New("session store down")
	err := e.execErr(tenantA, "SET", "state:S", "k", `["1"]`)
	if !errors.Is(err, e.ttlErr) || isClientErr(err) {
		t.Errorf("err = %v, want the SessionTTL error", err)
	}
	if got := e.snapshot(); len(got) != 0 {
		t.Errorf("a failed write left %v", got)
	}
	if got := e.exec(tenantA, "GET", "state:S", "k", `[]`); got != `null` { // reads need no expiry
		t.Errorf("GET = %s", got)
	}
}

// TestSessionWriteMaxArgs: the largest write allowed still fits through the
// script's unpack.
func TestSessionWriteMaxArgs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	args := "[" + strings.Repeat(`"v",`, MaxArgs-1) + `"v"]`
	if got := e.exec(tenantA, "RPUSH", "state:S", "l", args); got != strconv.Itoa(MaxArgs) {
		t.Errorf("RPUSH of %d values = %s", MaxArgs, got)
	}
}

// On Redis Cluster, every session-scoped script (write, count, expire,
// delete) stays in the session's hash slot: the keys it learns from the
// registry share the registry's tag.
func TestSessionStateOnRedisCluster(t *testing.T) {
	t.Parallel()
	e := newEnvOn(t, testenv.RedisCluster)
	for _, k := range []string{"a", "b", "c"} {
		e.exec(tenantA, "SET", "state:S", k, `["1"]`)
		e.exec(tenantA, "HSET", "state:S", "h"+k, `["f","v"]`)
	}
	e.exec(tenantA, "SET", "application:x", "k", `["1"]`)
	e.exec(tenantA, "SET", "account", "k", `["1"]`)
	if n, err := e.store.CountSessionKeys(e.ctx, "inst-a", "S"); err != nil || n != 6 {
		t.Fatalf("CountSessionKeys = %d, %v; want 6", n, err)
	}
	later := e.end.Add(time.Hour)
	if err := e.store.ExpireSession(e.ctx, "inst-a", "S", later); err != nil {
		t.Fatal(err)
	}
	if got := e.expireTime(e.sessionKey("S", "a")); got != later.UnixMilli() {
		t.Errorf("after ExpireSession a key expires at %d, want %d", got, later.UnixMilli())
	}
	if err := e.store.DeleteSession(e.ctx, "inst-a", "S"); err != nil {
		t.Fatal(err)
	}
	if got := e.exec(tenantA, "GET", "state:S", "a", `[]`); got != `null` {
		t.Errorf("GET after DeleteSession = %s, want null", got)
	}
	if got := e.exec(tenantA, "GET", "application:x", "k", `[]`); got != `"1"` {
		t.Errorf("application state after DeleteSession(S) = %s, want \"1\"", got)
	}
}
