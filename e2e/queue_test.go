package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/neru-dev/neru/internal/httpx"
	"github.com/neru-dev/neru/internal/testenv"
	"github.com/neru-dev/neru/queue"
)

// queueCall sends a queue-service request as the SDKs do (Content-Type
// JSON even without a body), as the dev instance.
func (h *harness) queueCall(method, path string, body []byte) reply {
	h.t.Helper()
	target := h.command.URL + path
	if strings.Contains(path, "?") {
		target = strings.Replace(target, "?", "?func=queue-service.neru&async=false&", 1)
	} else {
		target += "?func=queue-service.neru&async=false"
	}
	req, err := http.NewRequest(method, target, bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Neru-SessionId", "s-queue")
	return do(h.t, http.DefaultClient, req)
}

func (h *harness) mustQueue(method, path string, body []byte) []byte {
	h.t.Helper()
	r := h.queueCall(method, path, body)
	if r.Status != 200 {
		h.t.Fatalf("%s %s: %d %s", method, path, r.Status, r.Body)
	}
	return r.Body
}

func (h *harness) queueDetails(name string) queue.Details {
	h.t.Helper()
	var d queue.Details
	if err := json.Unmarshal(h.mustQueue(http.MethodGet, "/queue/"+name, nil), &d); err != nil {
		h.t.Fatal(err)
	}
	return d
}

func createQueueBody(name string, maxInflight int, mps float64) []byte {
	return mustJSON(map[string]any{
		"name":     name,
		"callback": map[string]any{"filters": []any{}, "id": "cb-" + name, "sessionId": "sess-Q", "instanceId": "e2e", "path": "onQueueItem"},
		"active":   true,
		"rate":     map[string]any{"maxInflight": maxInflight, "msgPerSecond": mps},
	})
}

func enqueueBody(n int, extra string) []byte {
	var items []string
	for i := range n {
		items = append(items, fmt.Sprintf(`{"n":%d%s}`, i, extra))
	}
	return []byte("[" + strings.Join(items, ",") + "]")
}

// startQueues runs a dispatcher of the harness' platform with cfg (zero:
// the production wiring, platform.Queues) until the test ends.
func (h *harness) startQueues(cfg *queue.Config) *queue.Dispatcher {
	h.t.Helper()
	var d *queue.Dispatcher
	var err error
	if cfg == nil {
		d, err = h.p.Queues()
	} else {
		cfg.AppNetworks = httpx.Loopback
		d, err = queue.NewDispatcher(*cfg, queue.NewStore(h.p.Redis, h.p.Config.Keyspace, queue.Limits{}), h.p.Instances,
			slog.New(slog.NewTextHandler(io.Discard, nil)))
	}
	if err != nil {
		h.t.Fatal(err)
	}
	h.runBackground(d.Run)
	return d
}

// runBackground runs fn until the returned stop is called or the test ends.
func (h *harness) runBackground(fn func(context.Context) error) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				h.t.Errorf("background part: %v", err)
			}
		})
	}
	h.t.Cleanup(stop)
	return stop
}

// queueHits records the deliveries of /onQueueItem: when each started and
// how many overlapped.
type queueHits struct {
	mu       sync.Mutex
	at       []time.Time
	bodies   []string
	now, max atomic.Int64
}

func (q *queueHits) handler(hold time.Duration, fail func(body string) bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n := q.now.Add(1)
		defer q.now.Add(-1)
		for m := q.max.Load(); n > m && !q.max.CompareAndSwap(m, n); m = q.max.Load() {
		}
		body, _ := io.ReadAll(r.Body)
		q.mu.Lock()
		q.at = append(q.at, time.Now())
		q.bodies = append(q.bodies, string(body))
		q.mu.Unlock()
		time.Sleep(hold)
		if fail != nil && fail(string(body)) {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}
}

func (q *queueHits) count() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.at)
}

func (q *queueHits) all() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]string(nil), q.bodies...)
}

func (q *queueHits) times() []time.Time {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]time.Time(nil), q.at...)
}

// A queue at msgPerSecond 5 delivers 50 items in about 10 s, never two
// starts closer than the rate allows, and never more than maxInflight at
// once, with two dispatchers (two worker processes) running. Pause holds
// the queue and resume lets it go on.
func TestQueueRateAcrossDispatchers(t *testing.T) {
	h := start(t)
	hits := &queueHits{}
	h.app.handle("/onQueueItem", hits.handler(50*time.Millisecond, nil))
	h.mustQueue(http.MethodPost, "/queue", createQueueBody("q1", 5, 5))
	h.startQueues(nil)
	h.startQueues(nil)
	h.mustQueue(http.MethodPost, "/queue/q1/enqueue", enqueueBody(50, ""))
	testenv.Eventually(t, 120*time.Second, func() bool { return hits.count() == 50 }, "50 items delivered")
	at := hits.times()
	if took := at[49].Sub(at[0]); took < 9*time.Second || took > 20*time.Second {
		t.Fatalf("50 items at 5/s took %s, want about 9.8s", took)
	}
	for i := 0; i+5 < len(at); i++ {
		// 5 intervals are 1s; arrival jitter at the app gets 200ms.
		if gap := at[i+5].Sub(at[i]); gap < 800*time.Millisecond {
			t.Fatalf("items %d..%d started within %s: faster than 5/s", i, i+5, gap)
		}
	}
	if m := hits.max.Load(); m > 5 {
		t.Fatalf("%d requests overlapped, maxInflight is 5", m)
	}
	testenv.Eventually(t, 20*time.Second, func() bool {
		d := h.queueDetails("q1")
		return d.Stats.TotalSent == 50 && d.Stats.CurrentInflight == 0 && d.Stats.TotalEnqueue == 50 && d.Stats.Waiting == 0
	}, "stats: 50 sent, none in flight")

	// Paused, nothing goes out; resumed, the rest does, at the new rate.
	h.mustQueue(http.MethodPut, "/queue/q1/pause", nil)
	h.mustQueue(http.MethodPost, "/queue/q1", []byte(`{"rate":{"maxInflight":2,"msgPerSecond":100}}`))
	h.mustQueue(http.MethodPost, "/queue/q1/enqueue", enqueueBody(10, `,"late":true`))
	for deadline := time.Now().Add(600 * time.Millisecond); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if n := hits.count(); n != 50 {
			t.Fatalf("delivered %d while paused", n)
		}
	}
	if d := h.queueDetails("q1"); d.Queue.Active || d.Queue.Rate != (queue.Rate{MaxInflight: 2, MsgPerSecond: 100}) || d.Stats.Waiting != 10 {
		t.Fatalf("paused queue: %+v", d)
	}
	h.mustQueue(http.MethodPut, "/queue/q1/resume", nil)
	testenv.Eventually(t, 30*time.Second, func() bool { return hits.count() == 60 }, "the rest after resume")
}

// maxInflight binds when the app is slow: with two dispatchers, never more
// than 2 items at the app together.
func TestQueueMaxInflightAcrossDispatchers(t *testing.T) {
	h := start(t)
	hits := &queueHits{}
	h.app.handle("/onQueueItem", hits.handler(150*time.Millisecond, nil))
	h.mustQueue(http.MethodPost, "/queue", createQueueBody("slow", 2, 100))
	h.mustQueue(http.MethodPost, "/queue/slow/enqueue", enqueueBody(12, ""))
	fast := &queue.Config{Tick: 50 * time.Millisecond, LeaseTTL: 500 * time.Millisecond}
	h.startQueues(fast)
	h.startQueues(&queue.Config{Tick: 50 * time.Millisecond, LeaseTTL: 500 * time.Millisecond})
	testenv.Eventually(t, 30*time.Second, func() bool { return hits.count() == 12 }, "12 items delivered")
	if m := hits.max.Load(); m != 2 {
		t.Fatalf("%d requests overlapped, want maxInflight = 2", m)
	}
}

// A failing item is retried 3 times, then lands in the dead-letter list,
// which the SDK routes read and pop.
func TestQueueFailuresGoToDeadLetters(t *testing.T) {
	h := start(t)
	hits := &queueHits{}
	h.app.handle("/onQueueItem", hits.handler(0, func(body string) bool { return strings.Contains(body, `"fail":true`) }))
	h.mustQueue(http.MethodPost, "/queue", createQueueBody("q1", 5, 50))
	h.startQueues(&queue.Config{Tick: 50 * time.Millisecond, LeaseTTL: 500 * time.Millisecond, RetryBackoff: 20 * time.Millisecond})
	h.mustQueue(http.MethodPost, "/queue/q1/enqueue", []byte(`[{"n":1},{"n":2,"fail":true},{"n":3}]`))
	testenv.Eventually(t, 30*time.Second, func() bool {
		var dl []string
		_ = json.Unmarshal(h.mustQueue(http.MethodGet, "/queue/q1/deadletter", nil), &dl)
		return len(dl) == 1
	}, "one dead letter")
	var tries int
	for _, b := range hits.all() {
		if strings.Contains(b, `"fail":true`) {
			tries++
		}
	}
	if tries != 4 {
		t.Fatalf("failing item tried %d times, want 1 + 3 retries", tries)
	}
	d := h.queueDetails("q1")
	if d.Stats.TotalSent != 2 || d.Stats.TotalError != 4 || d.Stats.CurrentInflight != 0 {
		t.Fatalf("stats %+v", d.Stats)
	}
	// pop with an empty body and Content-Type: application/json (§8.5).
	if got := string(bytes.TrimSpace(h.mustQueue(http.MethodPost, "/queue/q1/deadletter/pop?count=5", nil))); got != `["{\"n\":2,\"fail\":true}"]` {
		t.Fatalf("pop: %s", got)
	}
	if got := string(bytes.TrimSpace(h.mustQueue(http.MethodGet, "/queue/q1/deadletter", nil))); got != `[]` {
		t.Fatalf("after pop: %s", got)
	}
}

// Bad input gets a clear 4xx JSON error and changes nothing.
func TestQueueErrors(t *testing.T) {
	h := start(t)
	h.mustQueue(http.MethodPost, "/queue", createQueueBody("q1", 1, 1))
	big := `[{"x":"` + strings.Repeat("y", queue.MaxItemBytes) + `"}]`
	for _, tc := range []struct {
		method, path, body string
		status             int
		code               string
	}{
		{http.MethodGet, "/queue/nope", "", 404, "not_found"},
		{http.MethodPost, "/queue/nope/enqueue", `[1]`, 404, "not_found"},
		{http.MethodPost, "/queue/q1/enqueue", big, 413, "too_large"},
		{http.MethodPost, "/queue/q1/enqueue", `{"a":1}`, 400, "bad_request"},
		{http.MethodPost, "/queue", `{"name":"q2","callback":{"sessionId":"s","path":"x"},"rate":{"maxInflight":0,"msgPerSecond":1}}`, 400, "bad_request"},
		{http.MethodPost, "/queue/q1/deadletter/pop?count=x", "", 400, "bad_count"},
		{http.MethodPatch, "/queue/q1", "", 404, "not_found"},
	} {
		r := h.queueCall(tc.method, tc.path, []byte(tc.body))
		if r.Status != tc.status || r.errCode() != tc.code {
			t.Errorf("%s %s: %d %s, want %d %s", tc.method, tc.path, r.Status, r.Body, tc.status, tc.code)
		}
	}
	if d := h.queueDetails("q1"); d.Stats.TotalEnqueue != 0 {
		t.Fatalf("refused enqueues counted: %+v", d.Stats)
	}
	if got := string(bytes.TrimSpace(h.mustQueue(http.MethodGet, "/queue", nil))); got != `["q1"]` {
		t.Fatalf("list: %s", got)
	}
}

func (h *harness) queueStore() *queue.Store {
	return queue.NewStore(h.p.Redis, h.p.Config.Keyspace, queue.Limits{})
}
