package scheduler

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/neru-dev/neru/delivery"
	"github.com/neru-dev/neru/internal/testenv"
)

// clock is a hand-moved clock shared by runners.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time)     { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }
func (c *clock) Add(d time.Duration) { c.Set(c.Now().Add(d)) }

type env struct {
	ctx   context.Context
	rdb   redis.UniversalClient
	ks    string
	js    jetstream.JetStream
	clock *clock
	t0    time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	js, err := jetstream.New(testenv.NATS(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := delivery.EnsureStreams(ctx, js, delivery.StreamConfig{MemoryStorage: true}); err != nil {
		t.Fatal(err)
	}
	rdb, ks := testenv.Redis(t)
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	return &env{ctx: ctx, rdb: rdb, ks: ks, js: js, clock: &clock{t: t0.Add(-time.Hour)}, t0: t0}
}

func (e *env) store() *Store { return NewStore(e.rdb, e.ks, 0) }

func (e *env) runner(t *testing.T) *Runner {
	t.Helper()
	pub, err := delivery.NewPublisher(e.js, 4)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRunner(Config{Now: e.clock.Now, ClaimTTL: 30 * time.Second}, e.store(), pub, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// published returns the deliveries in NERU_EVENTS, oldest first.
func (e *env) published(t *testing.T) []*delivery.Delivery {
	t.Helper()
	s, err := e.js.Stream(e.ctx, delivery.EventsStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []*delivery.Delivery
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(e.ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		d, err := delivery.FromMsg(m.Header, m.Data)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

func runOnce(t *testing.T, r *Runner) int {
	t.Helper()
	n, err := r.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

const every = `{"startAt":"2030-01-01T00:00:00.000Z","callback":{"id":"cb-1","sessionId":"sess-1","path":"onSchedule"},"payload":{"text":"test payload"},"id":"my-job-1","interval":{"cron":"*/1 * * * *","until":{"date":"2030-01-02T00:00:00.000Z","maxInvocations":3}}}`

// A repeating schedule fires at each due time, once, until maxInvocations,
// then stops and is deleted. Time is a hand-moved clock, so the test does
// not wait for cron minutes.
func TestIntervalFiresUntilMaxInvocations(t *testing.T) {
	e := newEnv(t)
	if err := e.store().Create(e.ctx, "inst", mustParse(t, every)); err != nil {
		t.Fatal(err)
	}
	r := e.runner(t)
	if n := runOnce(t, r); n != 0 {
		t.Fatalf("fired %d an hour early", n)
	}
	for i := range 3 {
		e.clock.Set(e.t0.Add(time.Duration(i) * time.Minute).Add(time.Second))
		if n := runOnce(t, r); n != 1 {
			t.Fatalf("minute %d: fired %d, want 1", i, n)
		}
		if n := runOnce(t, r); n != 0 {
			t.Fatalf("minute %d: fired again (%d)", i, n)
		}
	}
	e.clock.Add(time.Hour)
	if n := runOnce(t, r); n != 0 {
		t.Fatalf("fired %d after maxInvocations", n)
	}
	if _, err := e.store().Get(e.ctx, "inst", "my-job-1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("finished schedule: %v", err)
	}
	ds := e.published(t)
	if len(ds) != 3 {
		t.Fatalf("%d deliveries, want 3", len(ds))
	}
	hashes := map[string]bool{}
	for _, d := range ds {
		h := d.Headers[HeaderRequestHash]
		if d.SessionID != "sess-1" || d.Path != "onSchedule" || d.InstanceID != "inst" || string(d.Body) != `{"text":"test payload"}` || h == "" || h != d.ID || d.Kind != Kind {
			t.Fatalf("delivery %+v", d)
		}
		hashes[h] = true
	}
	if len(hashes) != 3 {
		t.Fatalf("request hashes not distinct per invocation: %v", hashes)
	}
}

// Two runners passing at the same time publish each invocation once.
func TestTwoRunnersFireEachDueTimeOnce(t *testing.T) {
	e := newEnv(t)
	const jobs = 20
	for i := range jobs {
		if err := e.store().Create(e.ctx, "inst", mustParse(t, job(string(rune('a'+i)), "2030-01-01T00:00:00Z"))); err != nil {
			t.Fatal(err)
		}
	}
	a, b := e.runner(t), e.runner(t)
	e.clock.Set(e.t0)
	var wg sync.WaitGroup
	for range 5 {
		for _, r := range []*Runner{a, b} {
			wg.Go(func() { _, _ = r.RunOnce(e.ctx) })
		}
	}
	wg.Wait()
	if a.Fired()+b.Fired() != jobs {
		t.Fatalf("runners published %d + %d, want %d in all", a.Fired(), b.Fired(), jobs)
	}
	if n := len(e.published(t)); n != jobs {
		t.Fatalf("stream holds %d, want %d", n, jobs)
	}
}

// A runner that claimed an invocation and died before settling it: once
// the claim expires another runner publishes it again with the same id,
// JetStream keeps one copy, and the schedule moves on.
func TestCrashAfterClaimIsRecovered(t *testing.T) {
	e := newEnv(t)
	st := e.store()
	if err := st.Create(e.ctx, "inst", mustParse(t, every)); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(e.t0)
	// The dying runner: claims and publishes, never advances.
	dead := e.runner(t)
	cs, _, err := st.claimDue(e.ctx, []string{"inst"}, e.t0, e.t0.Add(30*time.Second), 10)
	if err != nil || len(cs) != 1 {
		t.Fatalf("claim: %v %v", cs, err)
	}
	cs, _ = st.load(e.ctx, cs)
	if ok := dead.publish(e.ctx, cs); len(ok) != 1 {
		t.Fatal("publish failed")
	}

	survivor := e.runner(t)
	e.clock.Set(e.t0.Add(20 * time.Second))
	if n := runOnce(t, survivor); n != 0 {
		t.Fatalf("fired %d while the claim was live", n)
	}
	e.clock.Set(e.t0.Add(31 * time.Second))
	if n := runOnce(t, survivor); n != 1 {
		t.Fatalf("recovery fired %d, want 1", n)
	}
	if ds := e.published(t); len(ds) != 1 {
		t.Fatalf("stream holds %d copies, want 1 (deduplicated)", len(ds))
	}
	v, err := st.Get(e.ctx, "inst", "my-job-1")
	if err != nil || v.Execution.InvocationCounter != 1 || v.NextAt != "2030-01-01T00:01:00.000Z" {
		t.Fatalf("after recovery: %+v %v", v, err)
	}
}

// Schedules live in Redis: a runner started later, in another process for
// all it knows, fires what is pending; cancel stops a schedule.
func TestRestartAndCancel(t *testing.T) {
	e := newEnv(t)
	if err := e.store().Create(e.ctx, "inst", mustParse(t, job("keep", "2030-01-01T00:00:00Z"))); err != nil {
		t.Fatal(err)
	}
	if err := e.store().Create(e.ctx, "inst", mustParse(t, every)); err != nil {
		t.Fatal(err)
	}
	first := e.runner(t)
	if n := runOnce(t, first); n != 0 {
		t.Fatalf("fired %d early", n)
	}
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan error, 1)
	go func() { done <- first.Run(ctx) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	if err := e.store().Cancel(e.ctx, "inst", "my-job-1"); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(e.t0.Add(5 * time.Minute))
	second := e.runner(t)
	if n := runOnce(t, second); n != 1 {
		t.Fatalf("new runner fired %d, want 1 (the pending one-shot)", n)
	}
	ds := e.published(t)
	if len(ds) != 1 || string(ds[0].Body) != `{"job":"keep"}` {
		t.Fatalf("published %+v", ds)
	}
}
