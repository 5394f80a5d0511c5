package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/neru-dev/neru/delivery"
	"github.com/neru-dev/neru/instance"
	"github.com/neru-dev/neru/internal/httpx"
	"github.com/neru-dev/neru/internal/testenv"
)

// With the defaults, a delivery that always fails is retried until MaxAge,
// not for a fixed number of attempts: the last attempt lands at MaxAge
// (the final delay is cut to meet it), and the delays stay under BackoffMax.
func TestRetryScheduleSpansMaxAge(t *testing.T) {
	cfg := Config{}
	cfg.setDefaults()
	w := &Worker{cfg: cfg}
	const perAttempt = 50 * time.Millisecond // time an attempt itself takes
	age, attempt := time.Duration(0), 1
	var last time.Duration
	for {
		age += perAttempt
		last = age
		if reason := w.deadReason(errors.New("app answered 503"), attempt, age); reason != "" {
			break
		}
		d := w.retryDelay(attempt, age)
		if d > cfg.BackoffMax || d < 0 {
			t.Fatalf("attempt %d: delay %s outside [0, %s]", attempt, d, cfg.BackoffMax)
		}
		age += d
		attempt++
		if attempt > 10000 {
			t.Fatal("never gave up")
		}
	}
	if last < cfg.MaxAge || last > cfg.MaxAge+perAttempt {
		t.Fatalf("last attempt at %s, want at MaxAge %s", last, cfg.MaxAge)
	}
	// 24h of delays averaging 3/4 of a 3m cap: about 640 attempts.
	if lo, hi := int(cfg.MaxAge/cfg.BackoffMax), int(cfg.MaxAge/(cfg.BackoffMax/2))+20; attempt < lo || attempt > hi {
		t.Fatalf("%d attempts over %s, want %d-%d", attempt, cfg.MaxAge, lo, hi)
	}

	// NERU_MAX_ATTEMPTS still caps when set; a permanent failure is dead at once.
	w.cfg.MaxAttempts = 3
	if w.deadReason(errors.New("x"), 2, time.Minute) != "" || w.deadReason(errors.New("x"), 3, time.Minute) == "" {
		t.Fatal("MaxAttempts 3 does not stop at the third attempt")
	}
	if w.deadReason(&PermanentError{Reason: "app answered 400"}, 1, 0) == "" {
		t.Fatal("a permanent failure is retried")
	}
}

// What goes to the DLQ at once, what is retried, what opens a circuit.
func TestFailureClassification(t *testing.T) {
	permanent := []error{&delivery.StatusError{Code: 400}, &delivery.StatusError{Code: 404},
		fmt.Errorf("%w: bad header", delivery.ErrUnsendable)}
	for _, err := range permanent {
		if !delivery.Permanent(err) {
			t.Errorf("%v: retried, want the DLQ at once", err)
		}
	}
	for _, code := range []int{408, 409, 425, 429, 500, 502, 503} {
		if delivery.Permanent(&delivery.StatusError{Code: code}) {
			t.Errorf("%d: sent to the DLQ, want retries", code)
		}
	}
	for err, want := range map[error]outcome{
		nil:                                     answered,
		&delivery.StatusError{Code: 500}:        answered,
		&PermanentError{Reason: "400"}:          answered,
		&delivery.StatusError{Code: 503}:        notAnswered,
		errors.New("connection refused"):        notAnswered,
		fmt.Errorf("%w: redis down", errLookup): unknown,
	} {
		if got := classify(err); got != want {
			t.Errorf("classify(%v) = %d, want %d", err, got, want)
		}
	}
}

// A header value HTTP cannot carry is a request that can never be sent:
// the DLQ at once, not 24 hours of retries.
func TestUnsendableRequestIsPermanent(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	d := &delivery.Delivery{ID: "d", InstanceID: "i", SessionID: "s", Path: "/on", Body: []byte(`{}`),
		Headers: map[string]string{"X-Bad": "a\r\nb"}}
	_, err := delivery.NewClient(time.Second, httpx.Loopback, nil).Post(context.Background(), &instance.Instance{ID: "i", BaseURL: srv.URL}, d, 1, 0)
	if !delivery.Permanent(err) {
		t.Fatalf("invalid header value: %v, want a permanent error", err)
	}
}

// app is a test app that can be taken down (connections are dropped) and
// records, per delivery id, the x-neru-attempt headers it saw.
type app struct {
	srv      *httptest.Server
	down     atomic.Bool
	fail     func(r *http.Request) int // status to answer, 0 for 200
	retrying atomic.Int32              // retries (attempt > 1) in flight
	maxDown  atomic.Int32              // most retries in flight at once while down

	mu       sync.Mutex
	got      []string // delivery ids answered 200, in order
	attempts map[string][]int
}

func newApp(t *testing.T) *app {
	a := &app{attempts: map[string][]int{}}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(delivery.HeaderDelivery)
		att, _ := strconv.Atoi(r.Header.Get(delivery.HeaderAttempt))
		// Only retries count towards maxDown: a first attempt let through
		// while the circuit was still closed may reach the app late, after
		// it opened, but every retry waits on the open circuit.
		var n int32
		if att > 1 {
			n = a.retrying.Add(1)
			defer a.retrying.Add(-1)
		}
		a.mu.Lock()
		a.attempts[id] = append(a.attempts[id], att)
		a.mu.Unlock()
		if a.down.Load() {
			for m := a.maxDown.Load(); n > m && !a.maxDown.CompareAndSwap(m, n); m = a.maxDown.Load() {
			}
			time.Sleep(20 * time.Millisecond) // so that overlapping probes would show
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close() // no answer at all
			}
			return
		}
		if a.fail != nil {
			if code := a.fail(r); code != 0 {
				w.WriteHeader(code)
				return
			}
		}
		a.mu.Lock()
		a.got = append(a.got, id)
		a.mu.Unlock()
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *app) delivered() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.got...)
}

type rig struct {
	js        jetstream.JetStream
	rdb       redis.UniversalClient
	ks        string
	instances *instance.Store
	dlq       *delivery.DLQ
	pub       *delivery.Publisher
}

const rigPartitions = 4

func newRig(t *testing.T, a *app, in *instance.Instance) *rig {
	js := streams(t)
	rdb, ks := testenv.Redis(t)
	r := &rig{js: js, rdb: rdb, ks: ks, instances: instance.NewStore(rdb, ks)}
	in.BaseURL = a.srv.URL
	if err := r.instances.Create(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	pub, err := delivery.NewPublisher(js, rigPartitions)
	if err != nil {
		t.Fatal(err)
	}
	r.pub, r.dlq = pub, delivery.NewDLQ(js, pub)
	return r
}

func (r *rig) publish(t *testing.T, instanceID, sessionID, id string) {
	t.Helper()
	d := &delivery.Delivery{ID: id, InstanceID: instanceID, SessionID: sessionID, ListenerID: "l1", Path: "/on",
		Kind: "test", AcceptedAt: time.Now(), Body: []byte(`{}`)}
	if err := r.pub.Publish(context.Background(), []*delivery.Delivery{d}); err != nil {
		t.Fatal(err)
	}
}

// run starts a worker and returns a function stopping it.
func (r *rig) run(t *testing.T, cfg Config) (*Worker, func()) {
	t.Helper()
	cfg.Partitions, cfg.AppNetworks = rigPartitions, httpx.Loopback
	if cfg.ID == "" {
		cfg.ID = "w1"
	}
	cfg.LeaseTTL, cfg.DrainTime = time.Second, time.Second
	w, err := New(cfg, r.js, r.rdb, r.ks, r.instances, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return w, stop
}

// While an instance's app does not answer, its circuit opens and only one
// probe at a time reaches it, whatever the number of sessions waiting; the
// first answer closes it and every session resumes at once — not after its
// own backoff (30 s here) — in order.
func TestCircuitOpensProbesOneAtATimeAndCloses(t *testing.T) {
	a := newApp(t)
	a.down.Store(true)
	r := newRig(t, a, &instance.Instance{ID: "i1", ApplicationID: "a1"})
	w, _ := r.run(t, Config{BackoffBase: 30 * time.Second, BackoffMax: 30 * time.Second, CircuitThreshold: 3,
		CircuitProbe: 200 * time.Millisecond})
	const sessions = 20
	for s := range sessions {
		for e := range 2 {
			r.publish(t, "i1", "s"+strconv.Itoa(s), fmt.Sprintf("s%d-e%d", s, e))
		}
	}
	testenv.Eventually(t, 30*time.Second, func() bool {
		c := w.Circuits()
		return len(c) == 1 && c[0].Open && c[0].LastError != ""
	}, "the circuit did not open with the app down")
	// Each session tried once before the circuit opened, then waits on
	// its 30 s backoff or the circuit: let a few probes go by.
	probesFrom := func() int {
		a.mu.Lock()
		defer a.mu.Unlock()
		n := 0
		for _, v := range a.attempts {
			n += len(v)
		}
		return n
	}
	before := probesFrom()
	testenv.Eventually(t, 30*time.Second, func() bool { return probesFrom() >= before+3 },
		"no probes reached the app while the circuit was open")
	if m := a.maxDown.Load(); m != 1 {
		t.Fatalf("%d retries in flight at once while the circuit was open, want one probe at a time", m)
	}
	status := NewStatus(r.rdb, r.ks, rigPartitions)
	testenv.Eventually(t, 10*time.Second, func() bool {
		c, err := status.Circuits(context.Background(), "i1")
		return err == nil && len(c) == 1 && c[0].Open && c[0].Worker == "w1"
	}, "the open circuit is not published for the admin API")

	back := time.Now()
	a.down.Store(false)
	testenv.Eventually(t, 10*time.Second, func() bool { return len(a.delivered()) == 2*sessions },
		"sessions did not resume after the app came back")
	if took := time.Since(back); took > 5*time.Second {
		t.Fatalf("took %s to deliver after the app came back, want about a probe gap", took)
	}
	seen := map[string]int{}
	for _, id := range a.delivered() {
		var s, e int
		fmt.Sscanf(id, "s%d-e%d", &s, &e)
		if seen["s"+strconv.Itoa(s)] != e {
			t.Fatalf("session s%d got e%d out of order: %v", s, e, a.delivered())
		}
		seen["s"+strconv.Itoa(s)]++
	}
	if c := w.Circuits(); c[0].Open {
		t.Fatalf("circuit still open after the app answered: %+v", c[0])
	}
	testenv.Eventually(t, 10*time.Second, func() bool {
		c, err := status.Circuits(context.Background(), "i1")
		return err == nil && len(c) == 0
	}, "the closed circuit is still published")
}

// A delivery's attempt count survives a takeover: the next worker goes on
// counting where the last one stopped, although the consumer it recreates
// restarts JetStream's delivery count.
func TestAttemptCountSurvivesTakeover(t *testing.T) {
	a := newApp(t)
	var failing atomic.Bool
	failing.Store(true)
	a.fail = func(*http.Request) int {
		if failing.Load() {
			return http.StatusInternalServerError
		}
		return 0
	}
	r := newRig(t, a, &instance.Instance{ID: "i1", ApplicationID: "a1"})
	_, stop := r.run(t, Config{ID: "w1", BackoffBase: 10 * time.Millisecond, BackoffMax: 20 * time.Millisecond})
	r.publish(t, "i1", "s1", "d0")
	testenv.Eventually(t, 30*time.Second, func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return len(a.attempts["d0"]) >= 4
	}, "the app never saw four attempts")
	stop()
	a.mu.Lock()
	seen := a.attempts["d0"]
	lastBefore := seen[len(seen)-1]
	a.mu.Unlock()
	failing.Store(false)
	r.run(t, Config{ID: "w2"})
	testenv.Eventually(t, 30*time.Second, func() bool { return len(a.delivered()) == 1 }, "not delivered after the takeover")
	a.mu.Lock()
	defer a.mu.Unlock()
	if got := a.attempts["d0"][len(a.attempts["d0"])-1]; got <= lastBefore {
		t.Fatalf("x-neru-attempt %d after the takeover, want more than %d (attempts seen: %v)", got, lastBefore, a.attempts["d0"])
	}
}
