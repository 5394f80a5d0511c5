package queue

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/neru-dev/neru/instance"
	"github.com/neru-dev/neru/internal/httpx"
	"github.com/neru-dev/neru/internal/testenv"
)

// instances is a hand-written fake: every id resolves to one app.
type instances struct{ url string }

func (f instances) Get(_ context.Context, id string) (*instance.Instance, error) {
	return &instance.Instance{ID: id, BaseURL: f.url}, nil
}

// app records what it receives and how many requests overlap.
type app struct {
	srv *httptest.Server

	mu      sync.Mutex
	got     []hit
	handler func(w http.ResponseWriter, h hit)

	now, max atomic.Int64
}

type hit struct {
	Path, Session, Delivery string
	Attempt                 int
	Body                    string
}

func newApp(t *testing.T, handler func(w http.ResponseWriter, h hit)) *app {
	a := &app{handler: handler}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := a.now.Add(1)
		defer a.now.Add(-1)
		for m := a.max.Load(); n > m && !a.max.CompareAndSwap(m, n); m = a.max.Load() {
		}
		body, _ := io.ReadAll(r.Body)
		attempt, _ := strconv.Atoi(r.Header.Get("x-neru-attempt"))
		h := hit{r.URL.Path, r.Header.Get("x-neru-sessionid"), r.Header.Get("x-neru-delivery-id"), attempt, string(body)}
		if a.handler != nil {
			a.handler(w, h)
		}
		a.mu.Lock()
		a.got = append(a.got, h)
		a.mu.Unlock()
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *app) hits() []hit {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]hit(nil), a.got...)
}

func newDispatcher(t *testing.T, st *Store, a *app, cfg Config) *Dispatcher {
	t.Helper()
	cfg.AppNetworks = httpx.Loopback
	if cfg.Tick == 0 {
		cfg.Tick, cfg.LeaseTTL = 50*time.Millisecond, 500*time.Millisecond
	}
	if cfg.RetryBackoff == 0 {
		cfg.RetryBackoff = 10 * time.Millisecond
	}
	d, err := NewDispatcher(cfg, st, instances{a.srv.URL}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// run runs d until the test ends or stop is called.
func run(t *testing.T, d *Dispatcher) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("dispatcher: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// The in-flight limit is enforced in Redis: two dispatchers serving the
// same queue at once (no lease between them) still never have more than
// maxInflight items at the app together.
func TestInflightLimitHoldsAcrossDispatchers(t *testing.T) {
	rdb, ks := testenv.Redis(t)
	ctx := context.Background()
	st := NewStore(rdb, ks, Limits{})
	a := newApp(t, func(w http.ResponseWriter, h hit) { time.Sleep(40 * time.Millisecond) })
	if err := st.Create(ctx, "inst", newQueue(t, "q", Rate{3, 1000})); err != nil {
		t.Fatal(err)
	}
	if err := st.Enqueue(ctx, "inst", "q", items(40)); err != nil {
		t.Fatal(err)
	}
	r := Ref{"inst", "q"}
	var wg sync.WaitGroup
	loopCtx, stop := context.WithCancel(ctx)
	for range 2 {
		d := newDispatcher(t, st, a, Config{})
		l := &loop{wake: make(chan struct{}, 1)}
		wg.Go(func() { d.serve(loopCtx, r, l) })
	}
	testenv.Eventually(t, 30*time.Second, func() bool { return len(a.hits()) == 40 }, "40 items delivered")
	stop()
	wg.Wait()
	if m := a.max.Load(); m != 3 {
		t.Fatalf("at most %d requests overlapped, want exactly maxInflight = 3", m)
	}
	seen := map[string]bool{}
	for _, h := range a.hits() {
		if h.Path != "/onItem" || h.Session != "sess-1" || h.Attempt != 1 || seen[h.Delivery] {
			t.Fatalf("hit %+v (repeat: %v)", h, seen[h.Delivery])
		}
		seen[h.Delivery] = true
	}
	testenv.Eventually(t, 10*time.Second, func() bool {
		d, _ := st.Details(ctx, "inst", "q")
		return d.Stats.TotalSent == 40 && d.Stats.CurrentInflight == 0
	}, "all 40 acknowledged")
}

// An item that keeps failing is tried 4 times (3 retries) and lands in the
// dead-letter list; the others are unaffected.
func TestFailingItemGoesToDeadLetters(t *testing.T) {
	rdb, ks := testenv.Redis(t)
	ctx := context.Background()
	st := NewStore(rdb, ks, Limits{})
	a := newApp(t, func(w http.ResponseWriter, h hit) {
		var it struct{ Fail bool }
		_ = json.Unmarshal([]byte(h.Body), &it)
		if it.Fail {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	if err := st.Create(ctx, "inst", newQueue(t, "q", Rate{5, 100})); err != nil {
		t.Fatal(err)
	}
	if err := st.Enqueue(ctx, "inst", "q", [][]byte{[]byte(`{"n":1}`), []byte(`{"fail":true,"n":2}`), []byte(`{"n":3}`)}); err != nil {
		t.Fatal(err)
	}
	d := newDispatcher(t, st, a, Config{})
	run(t, d)
	testenv.Eventually(t, 30*time.Second, func() bool {
		dl, _ := st.DeadLetters(ctx, "inst", "q", 10)
		return len(dl) == 1
	}, "the failing item in the dead-letter list")
	dl, _ := st.DeadLetters(ctx, "inst", "q", 10)
	if dl[0] != `{"fail":true,"n":2}` {
		t.Fatalf("dead letter %q", dl[0])
	}
	var attempts []int
	for _, h := range a.hits() {
		if h.Body == dl[0] {
			attempts = append(attempts, h.Attempt)
		}
	}
	if len(attempts) != 4 || attempts[0] != 1 || attempts[3] != 4 {
		t.Fatalf("attempts %v, want 1..4", attempts)
	}
	det, _ := st.Details(ctx, "inst", "q")
	if det.Stats.TotalSent != 2 || det.Stats.TotalError != 4 || det.Stats.Waiting != 0 || det.Stats.CurrentInflight != 0 {
		t.Fatalf("stats %+v", det.Stats)
	}
	// Counters move once the app's answer is back, a moment after the app
	// and the store saw the outcome.
	testenv.Eventually(t, 10*time.Second, func() bool { s, f, dd := d.Metrics(); return s == 2 && f == 4 && dd == 1 }, "metrics")
	if sent, failed, dead := d.Metrics(); sent != 2 || failed != 4 || dead != 1 {
		t.Fatalf("metrics %d %d %d", sent, failed, dead)
	}
}

// A dispatcher that dies mid-delivery holds nothing for long: its item's
// lease expires and another dispatcher delivers it.
func TestItemOfADeadDispatcherIsDelivered(t *testing.T) {
	rdb, ks := testenv.Redis(t)
	ctx := context.Background()
	st := NewStore(rdb, ks, Limits{})
	a := newApp(t, nil)
	if err := st.Create(ctx, "inst", newQueue(t, "q", Rate{1, 100})); err != nil {
		t.Fatal(err)
	}
	if err := st.Enqueue(ctx, "inst", "q", items(2)); err != nil {
		t.Fatal(err)
	}
	// The dying dispatcher leases item 0 and is never heard of again.
	if res, it, _, err := st.take(ctx, Ref{"inst", "q"}, 300*time.Millisecond); err != nil || res != taken || string(it.body) != `{"n":0}` {
		t.Fatalf("take: %v %+v %v", res, it, err)
	}
	run(t, newDispatcher(t, st, a, Config{}))
	testenv.Eventually(t, 20*time.Second, func() bool { return len(a.hits()) == 2 }, "both items delivered")
	if hs := a.hits(); hs[0].Body != `{"n":0}` || hs[1].Body != `{"n":1}` {
		t.Fatalf("order %+v: the recovered item goes first", hs)
	}
}

// Stopping a dispatcher cuts deliveries that outlast DrainTime and returns
// their items to the head of the queue, without counting an attempt.
func TestShutdownReturnsItemsInFlight(t *testing.T) {
	rdb, ks := testenv.Redis(t)
	ctx := context.Background()
	st := NewStore(rdb, ks, Limits{})
	hang := make(chan struct{})
	a := newApp(t, func(w http.ResponseWriter, h hit) { <-hang })
	defer close(hang)
	if err := st.Create(ctx, "inst", newQueue(t, "q", Rate{1, 100})); err != nil {
		t.Fatal(err)
	}
	if err := st.Enqueue(ctx, "inst", "q", items(1)); err != nil {
		t.Fatal(err)
	}
	stop := run(t, newDispatcher(t, st, a, Config{DrainTime: 100 * time.Millisecond}))
	testenv.Eventually(t, 20*time.Second, func() bool { return a.now.Load() == 1 }, "item in flight")
	stop()
	d, _ := st.Details(ctx, "inst", "q")
	if d.Stats.CurrentInflight != 0 || d.Stats.Waiting != 1 || d.Stats.TotalError != 0 {
		t.Fatalf("after shutdown: %+v", d.Stats)
	}
}

// With several dispatchers running, every queue is served by exactly one
// of them, and everything is delivered once.
func TestDispatchersSplitQueues(t *testing.T) {
	rdb, ks := testenv.Redis(t)
	ctx := context.Background()
	st := NewStore(rdb, ks, Limits{})
	a := newApp(t, nil)
	const queues, per = 8, 5
	for i := range queues {
		name := "q" + strconv.Itoa(i)
		if err := st.Create(ctx, "inst", newQueue(t, name, Rate{2, 200})); err != nil {
			t.Fatal(err)
		}
		if err := st.Enqueue(ctx, "inst", name, items(per)); err != nil {
			t.Fatal(err)
		}
	}
	ds := []*Dispatcher{newDispatcher(t, st, a, Config{}), newDispatcher(t, st, a, Config{}), newDispatcher(t, st, a, Config{})}
	for _, d := range ds {
		run(t, d)
	}
	testenv.Eventually(t, 30*time.Second, func() bool { return len(a.hits()) == queues*per }, "all items delivered")
	seen := map[string]bool{}
	for _, h := range a.hits() {
		if seen[h.Delivery] {
			t.Fatalf("delivered twice: %+v", h)
		}
		seen[h.Delivery] = true
	}
	// A dispatcher counts an item once the app's answer is back, a moment
	// after the app saw it.
	served := func() (n int64) {
		for _, d := range ds {
			sent, _, _ := d.Metrics()
			n += sent
		}
		return n
	}
	testenv.Eventually(t, 10*time.Second, func() bool { return served() == queues*per }, "dispatchers report %d sent", served())
	if n := served(); n != queues*per {
		t.Fatalf("dispatchers report %d sent, want %d", n, queues*per)
	}
}
