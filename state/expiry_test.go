package state

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/neru-dev/neru/internal/testenv"
	"github.com/neru-dev/neru/session"
)

// TestReadAtTheSessionsEnd: from the app's view a session's state ends at
// one instant. A read that the SDK endpoint let in while the session was
// alive, but that runs after its end, finds the state gone: it must answer
// session_expired, not the null of a key that was never written (compat
// TestSessionTTLAnySecond saw state.get return null before 410). Reads of
// existing state do not ask whether the session ended; a session that
// never had state and is alive still reads empty.
func TestReadAtTheSessionsEnd(t *testing.T) {
	for _, b := range []struct {
		name string
		open func(testing.TB) (redis.UniversalClient, string)
	}{{"redis", testenv.Redis}, {"redis-cluster", testenv.RedisCluster}} {
		t.Run(b.name, func(t *testing.T) {
			e := newEnvOn(t, b.open)
			end := time.Now().Add(300 * time.Millisecond).Truncate(time.Millisecond)
			var asked atomic.Int64
			e.store = NewStore(e.rdb, e.prefix, SessionTTLFunc(func(context.Context, string, string) (time.Time, bool, error) {
				return end, true, nil
			}), WithSessionEnds(SessionEndsFunc(func(_ context.Context, inst, id string) (time.Time, bool, error) {
				asked.Add(1)
				// As session.Store.Ended: ended once its end has passed.
				return end, id == "S" && !time.Now().Before(end), nil
			})))

			e.exec(tenantA, "SET", "state:S", "k", `["v"]`)
			e.exec(tenantA, "HSET", "state:S", "h", `["f","v"]`)
			if got := e.exec(tenantA, "GET", "state:S", "k", `[]`); got != `"v"` {
				t.Fatalf("GET before the end = %s", got)
			}
			if got := e.exec(tenantA, "GET", "state:S", "missing", `[]`); got != `null` {
				t.Fatalf("GET of a key never written in a session with state = %s", got)
			}
			if n := asked.Load(); n != 0 {
				t.Fatalf("reads of a session with state asked %d times whether it ended, want 0", n)
			}
			if got := e.exec(tenantA, "GET", "state:Other", "k", `[]`); got != `null` {
				t.Fatalf("GET in a live session without state = %s, want null", got)
			}

			// The session's end passes between the endpoint's check and the
			// read: the keys and the registry expire by themselves.
			testenv.Eventually(t, 5*time.Second, func() bool {
				return e.expireTime(e.registryKey("S")) == -2
			}, "the session's state never expired")
			for _, r := range []struct{ op, key, args string }{
				{"GET", "k", `[]`}, {"HGETALL", "h", `[]`}, {"HGET", "h", `["f"]`}, {"LRANGE", "l", `["0","-1"]`},
			} {
				err := e.execErr(tenantA, r.op, "state:S", r.key, r.args)
				var ee *session.ExpiredError
				if !errors.As(err, &ee) || !errors.Is(err, session.ErrExpired) || ee.ID != "S" || !ee.At.Equal(end) {
					t.Fatalf("%s after the session's end: %v, want session S expired at %s", r.op, err, end)
				}
			}
		})
	}
}

// TestWriteAfterTheSessionsEnd: a write whose session was alive when its
// end was read, but that ran after it, stored nothing (its key expired at
// once) and must say so with session_expired rather than "OK".
func TestWriteAfterTheSessionsEnd(t *testing.T) {
	e := newEnv(t)
	end := time.Now().Add(-time.Millisecond).Truncate(time.Millisecond) // passed on the way to Redis
	e.store = NewStore(e.rdb, e.prefix, SessionTTLFunc(func(context.Context, string, string) (time.Time, bool, error) {
		return end, true, nil
	}))
	err := e.execErr(tenantA, "SET", "state:S", "k", `["v"]`)
	if !errors.Is(err, session.ErrExpired) {
		t.Fatalf("SET after the session's end: %v, want session_expired", err)
	}
	for _, k := range []string{e.sessionKey("S", "k"), e.registryKey("S")} {
		if got := e.expireTime(k); got != -2 {
			t.Errorf("%s left behind (PEXPIRETIME %d)", k, got)
		}
	}
}
