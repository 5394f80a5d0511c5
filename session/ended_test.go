package session_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/neru-dev/neru/internal/testenv"
	"github.com/neru-dev/neru/listener"
	"github.com/neru-dev/neru/queue"
	"github.com/neru-dev/neru/scheduler"
	"github.com/neru-dev/neru/session"
	"github.com/neru-dev/neru/state"
)

// schedule and enqueue give session sess a schedule and a queue with an item.
func (e *env) scheduleAndQueue(t *testing.T, sess, name string) {
	t.Helper()
	ctx := context.Background()
	cb, _ := json.Marshal(listener.Callback{ID: "cb-" + name, SessionID: sess, Path: "/onJob"})
	sc, err := scheduler.Parse("i1", fmt.Appendf(nil, `{"id":%q,"startAt":"2030-01-01T00:00:00Z","callback":%s}`, name, cb))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.schedules.Create(ctx, "i1", sc); err != nil {
		t.Fatal(err)
	}
	q, err := queue.ParseCreate("i1", fmt.Appendf(nil, `{"name":%q,"callback":%s,"rate":{"maxInflight":1,"msgPerSecond":1},"active":false}`, name, cb))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.queues.Create(ctx, "i1", q); err != nil {
		t.Fatal(err)
	}
	if err := e.queues.Enqueue(ctx, "i1", name, [][]byte{[]byte(`{"n":1}`)}); err != nil {
		t.Fatal(err)
	}
}

// expiredAt asserts err is an *session.ExpiredError of id ending at about at.
func expiredAt(t *testing.T, what string, err error, id string, at time.Time) {
	t.Helper()
	var ee *session.ExpiredError
	if !errors.Is(err, session.ErrExpired) || !errors.As(err, &ee) {
		t.Fatalf("%s: %v, want ErrExpired", what, err)
	}
	if ee.ID != id || ee.At.Sub(at).Abs() > time.Second {
		t.Fatalf("%s: expired %q at %v, want %q at %v", what, ee.ID, ee.At, id, at)
	}
	if want := "session " + id + " expired at "; !strings.Contains(err.Error(), want) {
		t.Fatalf("%s: message %q does not say %q", what, err, want)
	}
}

func TestEnded(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			t.Run("an expired session stays dead until session_created", func(t *testing.T) {
				e := newEnv(t, b.Open, session.Policy{})
				ctx := context.Background()
				created, err := e.sessions.Create(ctx, "i1", "short", 300*time.Millisecond)
				if err != nil {
					t.Fatal(err)
				}
				e.listen(t, "short", "l-short")
				e.setState(t, "short", "k")
				e.scheduleAndQueue(t, "short", "job")
				testenv.Eventually(t, 20*time.Second, func() bool {
					_, err := e.sessions.Get(ctx, "i1", "short")
					return errors.Is(err, session.ErrNotFound)
				}, "session still alive after its TTL")
				// Expired, not swept yet: already dead, nothing recreates it.
				_, err = e.sessions.Ensure(ctx, "i1", "short")
				expiredAt(t, "Ensure before the sweep", err, "short", created.ExpiresAt)
				expiredAt(t, "Touch before the sweep", e.sessions.Touch(ctx, "i1", "short"), "short", created.ExpiresAt)
				v := `"v"`
				_, err = e.state.Exec(ctx, tenant, state.Command{Operation: "SET", Namespace: "state:short", Key: "k2", Args: state.Args{&v}})
				expiredAt(t, "state write before the sweep", err, "short", created.ExpiresAt)

				if n, err := e.sessions.Sweep(ctx, "w1", time.Now(), time.Minute); err != nil || n != 1 {
					t.Fatalf("sweep removed %d (%v), want 1", n, err)
				}
				_, err = e.sessions.Ensure(ctx, "i1", "short")
				expiredAt(t, "Ensure after the sweep", err, "short", created.ExpiresAt)
				if at, ended, err := e.sessions.Ended(ctx, "i1", "short"); err != nil || !ended || at.Sub(created.ExpiresAt).Abs() > time.Millisecond {
					t.Fatalf("Ended = %v %v %v, want the session's expiry %v", at, ended, err, created.ExpiresAt)
				}
				if _, err := e.schedules.Get(ctx, "i1", "job"); !errors.Is(err, scheduler.ErrNotFound) {
					t.Fatalf("the expired session's schedule survived: %v", err)
				}
				if _, err := e.queues.Details(ctx, "i1", "job"); !errors.Is(err, queue.ErrNotFound) {
					t.Fatalf("the expired session's queue survived: %v", err)
				}
				if ls, _ := e.listeners.List(ctx, "i1", "short"); len(ls) != 0 {
					t.Fatalf("%d listeners left", len(ls))
				}

				// A fresh session_created starts it again, empty.
				if _, err := e.sessions.Create(ctx, "i1", "short", time.Minute); err != nil {
					t.Fatal(err)
				}
				if _, ended, _ := e.sessions.Ended(ctx, "i1", "short"); ended {
					t.Fatal("a re-created session still reported ended")
				}
				if _, err := e.sessions.Ensure(ctx, "i1", "short"); err != nil {
					t.Fatalf("Ensure after session_created: %v", err)
				}
				if n, _ := e.state.CountSessionKeys(ctx, "i1", "short"); n != 0 {
					t.Fatalf("the fresh session inherited %d state keys", n)
				}
			})
			t.Run("a deleted session stays dead and takes its schedules and queues", func(t *testing.T) {
				e := newEnv(t, b.Open, session.Policy{})
				ctx := context.Background()
				id := "user alice {support desk}"
				if _, err := e.sessions.Ensure(ctx, "i1", id); err != nil {
					t.Fatal(err)
				}
				e.listen(t, id, "l1")
				e.scheduleAndQueue(t, id, "mine")
				e.scheduleAndQueue(t, "other", "theirs")
				before := time.Now()
				if err := e.sessions.Delete(ctx, "i1", id); err != nil {
					t.Fatal(err)
				}
				_, err := e.sessions.Ensure(ctx, "i1", id)
				expiredAt(t, "Ensure after delete", err, id, before)
				if _, err := e.schedules.Get(ctx, "i1", "mine"); !errors.Is(err, scheduler.ErrNotFound) {
					t.Fatalf("schedule of the deleted session: %v", err)
				}
				if _, err := e.queues.Details(ctx, "i1", "mine"); !errors.Is(err, queue.ErrNotFound) {
					t.Fatalf("queue of the deleted session: %v", err)
				}
				if _, err := e.schedules.Get(ctx, "i1", "theirs"); err != nil {
					t.Fatalf("another session's schedule went too: %v", err)
				}
				if d, err := e.queues.Details(ctx, "i1", "theirs"); err != nil || d == nil {
					t.Fatalf("another session's queue went too: %v", err)
				}
				if err := e.sessions.Delete(ctx, "i1", id); !errors.Is(err, session.ErrNotFound) {
					t.Fatalf("second delete: %v", err)
				}
				// Deleting a session that never existed leaves no tombstone.
				if err := e.sessions.Delete(ctx, "i1", "never"); !errors.Is(err, session.ErrNotFound) {
					t.Fatalf("delete of an unknown session: %v", err)
				}
				if _, err := e.sessions.Ensure(ctx, "i1", "never"); err != nil {
					t.Fatalf("an unknown session was tombstoned by its delete: %v", err)
				}
			})
			t.Run("a queue or schedule moved to a newer session stays", func(t *testing.T) {
				e := newEnv(t, b.Open, session.Policy{})
				ctx := context.Background()
				e.scheduleAndQueue(t, "start1", "q")
				e.scheduleAndQueue(t, "start2", "q") // the app's next start
				for _, id := range []string{"start1", "start2"} {
					if _, err := e.sessions.Ensure(ctx, "i1", id); err != nil {
						t.Fatal(err)
					}
				}
				if err := e.sessions.Delete(ctx, "i1", "start1"); err != nil {
					t.Fatal(err)
				}
				if _, err := e.schedules.Get(ctx, "i1", "q"); err != nil {
					t.Fatalf("the schedule of start2 went with start1: %v", err)
				}
				if _, err := e.queues.Details(ctx, "i1", "q"); err != nil {
					t.Fatalf("the queue of start2 went with start1: %v", err)
				}
				if err := e.sessions.Delete(ctx, "i1", "start2"); err != nil {
					t.Fatal(err)
				}
				if _, err := e.schedules.Get(ctx, "i1", "q"); !errors.Is(err, scheduler.ErrNotFound) {
					t.Fatalf("schedule after its session's delete: %v", err)
				}
			})
			t.Run("the global session never ends", func(t *testing.T) {
				e := newEnv(t, b.Open, session.Policy{})
				ctx := context.Background()
				if _, err := e.sessions.Ensure(ctx, "i1", session.GlobalID); err != nil {
					t.Fatal(err)
				}
				_ = e.sessions.Delete(ctx, "i1", session.GlobalID)
				if _, ended, _ := e.sessions.Ended(ctx, "i1", session.GlobalID); ended {
					t.Fatal("the global session reported ended")
				}
				if _, err := e.sessions.Ensure(ctx, "i1", session.GlobalID); err != nil {
					t.Fatalf("the global session after a delete: %v", err)
				}
			})
			t.Run("tombstones are swept and bounded in time", func(t *testing.T) {
				e := newEnv(t, b.Open, session.Policy{})
				ctx := context.Background()
				if _, err := e.sessions.Ensure(ctx, "i1", "a"); err != nil {
					t.Fatal(err)
				}
				// A tombstone from 25 h ago in a's shard: dead no more, and
				// swept when the next session of that shard ends.
				// Found by its entry, shard by shard: KEYS reaches one node of
				// a cluster, which need not hold a's shard.
				tombs := ""
				for k := range session.IndexShards {
					if e.rdb.ZScore(ctx, fmt.Sprintf("%ssx:{i1:%d}", e.ks, k), "a").Err() == nil {
						tombs = fmt.Sprintf("%sse:{i1:%d}", e.ks, k)
					}
				}
				if tombs == "" {
					t.Fatal("no index key for session a")
				}
				old := time.Now().Add(-25 * time.Hour)
				e.rdb.ZAdd(ctx, tombs, redisZ(old, "old"))
				if _, ended, _ := e.sessions.Ended(ctx, "i1", "old"); ended {
					t.Fatal("a 25 h old tombstone still counts")
				}
				if err := e.sessions.Delete(ctx, "i1", "a"); err != nil {
					t.Fatal(err)
				}
				if _, err := e.rdb.ZScore(ctx, tombs, "old").Result(); err == nil {
					t.Fatal("the old tombstone was not swept")
				}
				at := e.rdb.PExpireTime(ctx, tombs).Val()
				if d := time.Until(time.UnixMilli(int64(at / time.Millisecond))); d < session.TombstoneTTL-time.Minute || d > session.TombstoneTTL {
					t.Fatalf("tombstone set expires in %s, want %s after its newest entry", d, session.TombstoneTTL)
				}
			})
		})
	}
}

func redisZ(at time.Time, member string) redis.Z {
	return redis.Z{Score: float64(at.UnixMilli()), Member: member}
}

// stateOrder is the real state store, noting for every ExpireSession where
// the session's record ended at that moment.
type stateOrder struct {
	*state.Store
	e      *env
	checks []string
}

func (o *stateOrder) check(ctx context.Context, inst, id string, at time.Time) {
	rec := o.e.rdb.PExpireTime(ctx, o.e.sessions.Key(inst, id)).Val()
	if rec >= time.Duration(at.UnixMilli())*time.Millisecond {
		o.checks = append(o.checks, fmt.Sprintf("%s: the record already ends at %v when its state is moved to %v", id, rec, at.UnixMilli()))
	}
}

func (o *stateOrder) ExpireSession(ctx context.Context, inst, id string, at time.Time) error {
	o.check(ctx, inst, id, at)
	return o.Store.ExpireSession(ctx, inst, id, at)
}

func (o *stateOrder) ExtendSession(ctx context.Context, inst, id string, at time.Time) error {
	o.check(ctx, inst, id, at)
	return o.Store.ExtendSession(ctx, inst, id, at)
}

// A session's end moving later moves its state first: the other way round,
// state would expire at the old end under a live session (all of it, or the
// keys no write had moved yet: half-deleted).
func TestStateMovesBeforeTheSession(t *testing.T) {
	e := &env{policy: session.Policy{Idle: 2 * time.Second}}
	e.rdb, e.ks = testenv.Redis(t)
	e.listeners = listener.NewStore(e.rdb, e.ks)
	e.state = state.NewStore(e.rdb, e.ks, state.SessionTTLFunc(func(ctx context.Context, inst, id string) (time.Time, bool, error) {
		return e.sessions.EnsureExpiry(ctx, inst, id)
	}))
	order := &stateOrder{Store: e.state, e: e}
	e.sessions = session.NewStore(e.rdb, e.ks, time.Hour,
		session.WithPolicies(session.PoliciesFunc(func(context.Context, string) (session.Policy, error) { return e.policy, nil })),
		session.WithState(order))
	ctx := context.Background()

	// session_created after first use, with a later end.
	if _, err := e.sessions.Ensure(ctx, "i1", "created"); err != nil {
		t.Fatal(err)
	}
	e.setState(t, "created", "k")
	if _, err := e.sessions.Create(ctx, "i1", "created", 5*time.Hour); err != nil {
		t.Fatal(err)
	}
	// A sliding session extended by a delivery outcome.
	if _, err := e.sessions.Create(ctx, "i1", "slide", time.Second); err != nil {
		t.Fatal(err)
	}
	e.setState(t, "slide", "k")
	start := time.Now()
	testenv.Eventually(t, 20*time.Second, func() bool {
		_ = e.sessions.Record(ctx, []session.Outcome{{InstanceID: "i1", SessionID: "slide", DeliveryID: "d", Status: session.StatusDelivered}})
		s, err := e.sessions.Get(ctx, "i1", "slide")
		return err == nil && s.ExpiresAt.After(start.Add(2*time.Second))
	}, "sliding session never extended")
	if len(order.checks) > 0 {
		t.Fatal(strings.Join(order.checks, "\n"))
	}
	for _, id := range []string{"created", "slide"} {
		s, _ := e.sessions.Get(ctx, "i1", id)
		k := e.rdb.PExpireTime(ctx, e.ks+"st:{i1:s:"+id+"}:k").Val()
		if got := time.UnixMilli(int64(k / time.Millisecond)); got.Before(s.ExpiresAt) {
			t.Fatalf("%s: state ends at %v, before its session (%v)", id, got, s.ExpiresAt)
		}
	}
}

// hashTag is the part of a key Redis Cluster hashes.
func hashTag(key string) string {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			return key[i+1 : i+1+j]
		}
	}
	return key
}

func TestAnySDKSessionID(t *testing.T) {
	e := newEnv(t, testenv.Redis, session.Policy{})
	ctx := context.Background()
	id := "user alice {support desk} " + strings.Repeat("é}{%", 975/5)
	if len(id) < 1000 || session.ValidateID(id) != nil {
		t.Fatalf("test id of %d bytes invalid: %v", len(id), session.ValidateID(id))
	}
	if _, err := e.sessions.Ensure(ctx, "i1", id); err != nil {
		t.Fatal(err)
	}
	e.listen(t, id, "l1")
	e.setState(t, id, "k")
	e.scheduleAndQueue(t, id, "job")
	if err := e.sessions.Record(ctx, []session.Outcome{{InstanceID: "i1", SessionID: id, DeliveryID: "d", Status: session.StatusDelivered}}); err != nil {
		t.Fatal(err)
	}
	got, err := e.state.Exec(ctx, tenant, state.Command{Operation: "GET", Namespace: "state:" + id, Key: "k"})
	if err != nil || string(got) != `"\"v\""` {
		t.Fatalf("state GET: %s %v", got, err)
	}
	ls, _ := e.listeners.List(ctx, "i1", id)
	if len(ls) != 1 || ls[0].SessionID != id {
		t.Fatalf("listeners of the session: %+v", ls)
	}
	page, _, err := e.sessions.List(ctx, "i1", "", 10)
	if err != nil || len(page) != 1 || page[0].ID != id {
		t.Fatalf("the session is not listed as given: %+v %v", page, err)
	}
	// Every key of the session is in the slot the platform chose: the
	// session's own tag, which holds the escaped id whole (the session
	// scripts stay on one node), or the instance's (the scheduler's and
	// the queues' per-session sets).
	esc := session.KeyPart(id)
	n := 0
	for _, k := range e.rdb.Keys(ctx, e.ks+"*").Val() {
		tag := hashTag(k)
		if !strings.Contains(k, esc) {
			continue
		}
		n++
		if tag != "i1:"+esc && tag != "i1:s:"+esc && tag != "i1" {
			t.Errorf("key %.60q… has hash tag %.60q…, not the session's", k, tag)
		}
	}
	if n < 4 { // record, listener set, recent list, state key and registry
		t.Fatalf("found %d keys of the session", n)
	}
	if err := e.sessions.Delete(ctx, "i1", id); err != nil {
		t.Fatal(err)
	}
	for _, k := range e.rdb.Keys(ctx, e.ks+"*").Val() {
		if strings.Contains(k, esc) {
			t.Errorf("key %.80q… outlived the session's delete", k)
		}
	}
	if _, err := e.sessions.Ensure(ctx, "i1", id); !errors.Is(err, session.ErrExpired) {
		t.Fatalf("Ensure after delete: %v", err)
	}
}
