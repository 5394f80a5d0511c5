package session_test

import (
	"context"
	"errors"
	"fmt"
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

// env is a session store wired as the platform wires it: listeners and
// state are real stores on the same Redis, the policy is the test's.
type env struct {
	rdb       redis.UniversalClient
	ks        string
	sessions  *session.Store
	listeners *listener.Store
	schedules *scheduler.Store
	queues    *queue.Store
	state     *state.Store
	policy    session.Policy
}

func newEnv(t *testing.T, open func(testing.TB) (redis.UniversalClient, string), pol session.Policy) *env {
	t.Helper()
	e := &env{policy: pol}
	e.rdb, e.ks = open(t)
	e.listeners = listener.NewStore(e.rdb, e.ks)
	e.schedules = scheduler.NewStore(e.rdb, e.ks, 0)
	e.queues = queue.NewStore(e.rdb, e.ks, queue.Limits{})
	e.state = state.NewStore(e.rdb, e.ks, state.SessionTTLFunc(func(ctx context.Context, inst, id string) (time.Time, bool, error) {
		return e.sessions.EnsureExpiry(ctx, inst, id)
	}))
	e.sessions = session.NewStore(e.rdb, e.ks, time.Hour,
		session.WithPolicies(session.PoliciesFunc(func(context.Context, string) (session.Policy, error) { return e.policy, nil })),
		session.WithRemover("listeners", e.listeners), session.WithRemover("schedules", e.schedules),
		session.WithRemover("queues", e.queues), session.WithState(e.state))
	return e
}

var tenant = state.Tenant{AccountID: "acct", InstanceID: "i1"}

func (e *env) setState(t *testing.T, sess, key string) {
	t.Helper()
	v := `"v"`
	if _, err := e.state.Exec(context.Background(), tenant, state.Command{Operation: "SET", Namespace: "state:" + sess, Key: key, Args: state.Args{&v}}); err != nil {
		t.Fatal(err)
	}
}

func (e *env) listen(t *testing.T, sess, id string) {
	t.Helper()
	l := listener.New("i1", "vonage-messaging", "subscribe-inbound-messages", "msg-in|sms|1|"+id,
		listener.Callback{ID: id, SessionID: sess, Path: "/onMessage"})
	if err := e.listeners.Add(context.Background(), l); err != nil {
		t.Fatal(err)
	}
}

func TestLifecycle(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			t.Run("list pages through every session once", func(t *testing.T) {
				e := newEnv(t, b.Open, session.Policy{})
				ctx := context.Background()
				want := map[string]bool{session.GlobalID: true}
				if _, err := e.sessions.Ensure(ctx, "i1", session.GlobalID); err != nil {
					t.Fatal(err)
				}
				for i := range 40 {
					id := fmt.Sprint("s", i)
					want[id] = true
					if _, err := e.sessions.Create(ctx, "i1", id, time.Duration(i+1)*time.Minute); err != nil {
						t.Fatal(err)
					}
				}
				if n, err := e.sessions.Count(ctx, "i1"); err != nil || n != 40 {
					t.Fatalf("Count = %d %v, want 40 (the global session is not counted)", n, err)
				}
				got, cursor, pages := map[string]bool{}, "", 0
				for {
					page, next, err := e.sessions.List(ctx, "i1", cursor, 7)
					if err != nil {
						t.Fatal(err)
					}
					if len(page) > 7 {
						t.Fatalf("page of %d, limit 7", len(page))
					}
					for _, s := range page {
						if got[s.ID] {
							t.Fatalf("%s listed twice", s.ID)
						}
						got[s.ID] = true
						if (s.ID == session.GlobalID) != s.ExpiresAt.IsZero() {
							t.Fatalf("%s: expiresAt %v", s.ID, s.ExpiresAt)
						}
					}
					pages++
					if cursor = next; cursor == "" {
						break
					}
				}
				if len(got) != len(want) || pages < 6 {
					t.Fatalf("listed %d of %d sessions in %d pages", len(got), len(want), pages)
				}
				if _, _, err := e.sessions.List(ctx, "i1", "garbage", 7); !errors.Is(err, session.ErrBadCursor) {
					t.Fatalf("bad cursor: %v", err)
				}
				if page, _, _ := e.sessions.List(ctx, "i2", "", 7); len(page) != 0 {
					t.Fatalf("instance i2 lists i1's sessions: %v", page)
				}
			})
			t.Run("max sessions refuses new sessions only", func(t *testing.T) {
				e := newEnv(t, b.Open, session.Policy{MaxSessions: 3})
				ctx := context.Background()
				for i := range 3 {
					if _, err := e.sessions.Ensure(ctx, "i1", fmt.Sprint("s", i)); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := e.sessions.Ensure(ctx, "i1", "s3"); !errors.Is(err, session.ErrTooMany) {
					t.Fatalf("4th session: %v, want ErrTooMany", err)
				}
				if _, err := e.sessions.Create(ctx, "i1", "s3", time.Minute); !errors.Is(err, session.ErrTooMany) {
					t.Fatalf("4th session_created: %v, want ErrTooMany", err)
				}
				if err := e.sessions.Touch(ctx, "i1", "s3"); !errors.Is(err, session.ErrTooMany) {
					t.Fatalf("4th session by a command: %v, want ErrTooMany", err)
				}
				// Existing sessions and the global session keep working.
				for _, id := range []string{"s0", session.GlobalID} {
					if _, err := e.sessions.Ensure(ctx, "i1", id); err != nil {
						t.Fatalf("%s: %v", id, err)
					}
				}
				if _, err := e.sessions.Create(ctx, "i1", "s1", time.Minute); err != nil {
					t.Fatalf("session_created of an existing session: %v", err)
				}
				// A state write in a new session is refused too.
				v := "1"
				if _, err := e.state.Exec(ctx, tenant, state.Command{Operation: "SET", Namespace: "state:s9", Key: "k", Args: state.Args{&v}}); !errors.Is(err, session.ErrTooMany) {
					t.Fatalf("state write in a new session: %v, want ErrTooMany", err)
				}
				// Room again once one ends.
				if err := e.sessions.Delete(ctx, "i1", "s0"); err != nil {
					t.Fatal(err)
				}
				if _, err := e.sessions.Ensure(ctx, "i1", "s3"); err != nil {
					t.Fatalf("after a delete: %v", err)
				}
			})
			t.Run("the sweep removes what expired sessions leave", func(t *testing.T) {
				e := newEnv(t, b.Open, session.Policy{})
				ctx := context.Background()
				for _, id := range []string{"short1", "short2"} {
					if _, err := e.sessions.Create(ctx, "i1", id, 200*time.Millisecond); err != nil {
						t.Fatal(err)
					}
					e.listen(t, id, "l-"+id)
					e.setState(t, id, "k")
					if err := e.sessions.Record(ctx, []session.Outcome{{InstanceID: "i1", SessionID: id, DeliveryID: "d", Status: session.StatusDelivered}}); err != nil {
						t.Fatal(err)
					}
				}
				for _, id := range []string{"long", session.GlobalID} {
					if _, err := e.sessions.Ensure(ctx, "i1", id); err != nil {
						t.Fatal(err)
					}
					e.listen(t, id, "l-"+id)
					e.setState(t, id, "k")
				}
				testenv.Eventually(t, 20*time.Second, func() bool {
					alive, _ := e.sessions.Alive(ctx, "i1", []string{"short1", "short2"})
					return !alive["short1"] && !alive["short2"]
				}, "short sessions still alive")
				n, err := e.sessions.Sweep(ctx, "w1", time.Now(), time.Minute)
				if err != nil || n != 2 {
					t.Fatalf("sweep removed %d sessions (%v), want 2", n, err)
				}
				for _, id := range []string{"short1", "short2"} {
					if ls, _ := e.listeners.List(ctx, "i1", id); len(ls) != 0 {
						t.Fatalf("%s: %d listeners left", id, len(ls))
					}
					if k, _ := e.state.CountSessionKeys(ctx, "i1", id); k != 0 {
						t.Fatalf("%s: %d state keys left", id, k)
					}
					if left, _ := e.sessions.Recent(ctx, "i1", id); len(left) != 0 {
						t.Fatalf("%s: recent deliveries left", id)
					}
				}
				for _, id := range []string{"long", session.GlobalID} {
					ls, _ := e.listeners.List(ctx, "i1", id)
					k, _ := e.state.CountSessionKeys(ctx, "i1", id)
					if len(ls) != 1 || k != 1 {
						t.Fatalf("%s lost its listener or state: %d listeners, %d keys", id, len(ls), k)
					}
				}
				if n, _ := e.sessions.Count(ctx, "i1"); n != 1 {
					t.Fatalf("%d live sessions indexed, want 1 (long)", n)
				}
				// Another worker in the same tick finds the shards taken;
				// a later sweep finds nothing left to do.
				if n, err := e.sessions.Sweep(ctx, "w2", time.Now(), time.Minute); err != nil || n != 0 {
					t.Fatalf("second sweep: %d %v", n, err)
				}
			})
			t.Run("sliding expiry extends on use and moves the state", func(t *testing.T) {
				e := newEnv(t, b.Open, session.Policy{Idle: time.Second})
				ctx := context.Background()
				start := time.Now()
				if err := e.sessions.Touch(ctx, "i1", "slide"); err != nil {
					t.Fatal(err)
				}
				s, err := e.sessions.Get(ctx, "i1", "slide")
				if err != nil || s.ExpiresAt.After(start.Add(1100*time.Millisecond)) {
					t.Fatalf("a new sliding session lives the idle time: %+v %v", s, err)
				}
				e.setState(t, "slide", "k")
				// Used continuously for 2.5 idle periods: by commands, then by deliveries.
				testenv.Eventually(t, 20*time.Second, func() bool {
					if time.Since(start) < 1200*time.Millisecond {
						return e.sessions.Touch(ctx, "i1", "slide") != nil
					}
					out := []session.Outcome{{InstanceID: "i1", SessionID: "slide", DeliveryID: "d", Status: session.StatusDelivered}}
					return e.sessions.Record(ctx, out) != nil || time.Since(start) > 2500*time.Millisecond
				}, "touching")
				s, err = e.sessions.Get(ctx, "i1", "slide")
				if err != nil || time.Until(s.ExpiresAt) < 800*time.Millisecond {
					t.Fatalf("after use the session should live ~1s more: %+v %v", s, err)
				}
				if k, _ := e.state.CountSessionKeys(ctx, "i1", "slide"); k != 1 {
					t.Fatal("the state expired with the session's first end")
				}
				// Failures do not extend it, and it ends about a second after its last use.
				last := time.Now()
				testenv.Eventually(t, 10*time.Second, func() bool {
					_ = e.sessions.Record(ctx, []session.Outcome{{InstanceID: "i1", SessionID: "slide", DeliveryID: "d", Status: session.StatusFailed}})
					_, err := e.sessions.Get(ctx, "i1", "slide")
					return errors.Is(err, session.ErrNotFound)
				}, "sliding session never ended")
				if idle := time.Since(last); idle < 800*time.Millisecond {
					t.Fatalf("ended %s after its last use, want about 1s", idle)
				}
				// A delivery outcome does not bring it back.
				if err := e.sessions.Record(ctx, []session.Outcome{{InstanceID: "i1", SessionID: "slide", DeliveryID: "d2", Status: session.StatusDelivered}}); err != nil {
					t.Fatal(err)
				}
				if _, err := e.sessions.Get(ctx, "i1", "slide"); !errors.Is(err, session.ErrNotFound) {
					t.Fatalf("an outcome re-created the session: %v", err)
				}
			})
			t.Run("fixed expiry is not extended", func(t *testing.T) {
				e := newEnv(t, b.Open, session.Policy{})
				ctx := context.Background()
				s, err := e.sessions.Create(ctx, "i1", "fixed", time.Minute)
				if err != nil {
					t.Fatal(err)
				}
				if err := e.sessions.Touch(ctx, "i1", "fixed"); err != nil {
					t.Fatal(err)
				}
				_ = e.sessions.Record(ctx, []session.Outcome{{InstanceID: "i1", SessionID: "fixed", Status: session.StatusDelivered}})
				if got, _ := e.sessions.Get(ctx, "i1", "fixed"); !got.ExpiresAt.Equal(s.ExpiresAt) {
					t.Fatalf("expiry moved from %v to %v", s.ExpiresAt, got.ExpiresAt)
				}
			})
			t.Run("recent deliveries keep the newest 50", func(t *testing.T) {
				e := newEnv(t, b.Open, session.Policy{})
				ctx := context.Background()
				var batch []session.Outcome
				for i := range 60 {
					batch = append(batch, session.Outcome{InstanceID: "i1", SessionID: "s", DeliveryID: fmt.Sprint("d", i), Status: session.StatusDelivered, Attempt: 1})
				}
				if err := e.sessions.Record(ctx, batch); err != nil {
					t.Fatal(err)
				}
				got, err := e.sessions.Recent(ctx, "i1", "s")
				if err != nil || len(got) != session.RecentKept || got[0].DeliveryID != "d59" || got[49].DeliveryID != "d10" {
					t.Fatalf("recent: %d entries (%v), first %+v", len(got), err, got)
				}
			})
			t.Run("reset keeps listeners, delete removes everything", func(t *testing.T) {
				e := newEnv(t, b.Open, session.Policy{})
				ctx := context.Background()
				if _, err := e.sessions.Ensure(ctx, "i1", "s"); err != nil {
					t.Fatal(err)
				}
				e.listen(t, "s", "l1")
				e.setState(t, "s", "k1")
				e.setState(t, "s", "k2")
				if n, err := e.sessions.StateKeys(ctx, "i1", "s"); err != nil || n != 2 {
					t.Fatalf("state keys %d %v", n, err)
				}
				if err := e.sessions.Reset(ctx, "i1", "s"); err != nil {
					t.Fatal(err)
				}
				if n, _ := e.sessions.StateKeys(ctx, "i1", "s"); n != 0 {
					t.Fatalf("%d state keys after reset", n)
				}
				if ls, _ := e.listeners.List(ctx, "i1", "s"); len(ls) != 1 {
					t.Fatal("reset removed the listener")
				}
				e.setState(t, "s", "k3")
				if err := e.sessions.Delete(ctx, "i1", "s"); err != nil {
					t.Fatal(err)
				}
				if _, err := e.sessions.Get(ctx, "i1", "s"); !errors.Is(err, session.ErrNotFound) {
					t.Fatalf("deleted session: %v", err)
				}
				ls, _ := e.listeners.List(ctx, "i1", "s")
				n, _ := e.sessions.StateKeys(ctx, "i1", "s")
				if len(ls) != 0 || n != 0 {
					t.Fatalf("after delete: %d listeners, %d state keys", len(ls), n)
				}
				if err := e.sessions.Delete(ctx, "i1", "s"); !errors.Is(err, session.ErrNotFound) {
					t.Fatalf("second delete: %v", err)
				}
				if err := e.sessions.Reset(ctx, "i1", "nope"); !errors.Is(err, session.ErrNotFound) {
					t.Fatalf("reset of an unknown session: %v", err)
				}
			})
		})
	}
}

// BenchmarkRecord is the recorder's cost per delivery outcome (one batch of
// 512 over 100 sessions per call), fixed expiry.
func BenchmarkRecord(b *testing.B) {
	rdb, ks := testenv.Redis(b)
	s := session.NewStore(rdb, ks, time.Hour)
	batch := make([]session.Outcome, 512)
	for i := range batch {
		batch[i] = session.Outcome{InstanceID: "i1", SessionID: fmt.Sprint("s", i%100), DeliveryID: fmt.Sprintf("%032x", i),
			Path: "/onMessage", Kind: "messages.inbound", Status: session.StatusDelivered, Attempt: 1, At: time.Now()}
	}
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if err := s.Record(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/outcome")
}
