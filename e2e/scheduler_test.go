package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/neru-dev/neru/internal/testenv"
	"github.com/neru-dev/neru/scheduler"
)

// fakeClock is a hand-moved clock for schedule runners: the tests drive
// cron minutes without waiting for them.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

var schedT0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// schedRunner is a schedule runner of the harness' platform on clock c,
// passing every 10ms when run.
func (h *harness) schedRunner(c *fakeClock) *scheduler.Runner {
	h.t.Helper()
	r, err := scheduler.NewRunner(scheduler.Config{Now: c.Now, Tick: 10 * time.Millisecond},
		scheduler.NewStore(h.p.Redis, h.p.Config.Keyspace, 0), h.p.Events, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

// runRunner runs r until the returned stop is called (or the test ends).
func (h *harness) runRunner(r *scheduler.Runner) (stop func()) { return h.runBackground(r.Run) }

// neruCommand posts a neru Command envelope (one action) as the dev instance.
func (h *harness) neruCommand(provider, action string, payload any) reply {
	h.t.Helper()
	env := map[string]any{
		"header":  map[string]string{"instanceId": "e2e", "sessionId": "s-cmd"},
		"actions": []any{map[string]any{"provider": provider, "action": action, "payload": payload}},
	}
	return h.sdkPost(provider, "", "", mustJSON(env), "X-Neru-SessionId", "s-cmd")
}

// schedule is the create payload of both SDKs.
func schedule(id, session, startAt string, interval any) map[string]any {
	p := map[string]any{
		"startAt":  startAt,
		"callback": map[string]any{"filters": []any{}, "id": "cb-" + id, "sessionId": session, "instanceId": "e2e", "path": "onSchedule"},
		"payload":  map[string]any{"text": "test payload", "job": id},
	}
	if id != "" {
		p["id"] = id
	}
	if interval != nil {
		p["interval"] = interval
	}
	return p
}

// scheduled is one request the app got on /onSchedule.
type scheduled struct {
	Session, Hash, Delivery string
	Body                    map[string]string
}

func (h *harness) scheduledHits() []scheduled {
	var out []scheduled
	for _, r := range h.app.requests("/onSchedule") {
		s := scheduled{Session: r.Session, Delivery: r.Delivery}
		_ = json.Unmarshal(r.Body, &s.Body)
		out = append(out, s)
	}
	return out
}

// A schedule with an interval fires at each due time, through the event
// stream and the worker, with the session and a request hash per
// invocation, until maxInvocations; then it is gone.
func TestScheduleIntervalFiresUntilMaxInvocations(t *testing.T) {
	h := start(t)
	h.startWorker()
	hashes := make(chan string, 10)
	h.app.handle("/onSchedule", func(w http.ResponseWriter, r *http.Request) {
		hashes <- r.Header.Get(scheduler.HeaderRequestHash)
	})
	// vcr: bare POST /v2/create; its startAt returns response.id.
	every := map[string]any{"cron": "*/1 * * * *", "until": map[string]any{"date": "2030-01-02T00:00:00.000Z", "maxInvocations": 3}}
	r := h.sdkPost("vonage-scheduler", "/v2/create", "", mustJSON(schedule("my-job-1", "sess-A", "2030-01-01T00:00:00.000Z", every)))
	if r.Status != 200 || string(bytes.TrimSpace(r.Body)) != `{"id":"my-job-1"}` {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	clk := &fakeClock{t: schedT0.Add(-time.Minute)}
	runner := h.schedRunner(clk)
	get := func() map[string]any {
		r := h.sdkPost("vonage-scheduler", "/v2/get", "", []byte(`{"id":"my-job-1"}`))
		var v map[string]any
		_ = json.Unmarshal(r.Body, &v)
		v["status"] = r.Status
		return v
	}
	for i := range 3 {
		if n, err := runner.RunOnce(context.Background()); err != nil || n != 0 {
			t.Fatalf("invocation %d fired early: %d %v", i, n, err)
		}
		clk.Set(schedT0.Add(time.Duration(i) * time.Minute))
		if n, err := runner.RunOnce(context.Background()); err != nil || n != 1 {
			t.Fatalf("invocation %d: fired %d, %v", i, n, err)
		}
		testenv.Eventually(t, 20*time.Second, func() bool { return len(h.scheduledHits()) == i+1 }, "invocation %d delivered", i)
		if i < 2 {
			v := get()
			exec, _ := v["execution"].(map[string]any)
			if v["status"] != 200 || exec["invocation_counter"] != float64(i+1) || v["next_at"] != schedT0.Add(time.Duration(i+1)*time.Minute).Format("2006-01-02T15:04:05.000Z") {
				t.Fatalf("after invocation %d: %v", i, v)
			}
		}
	}
	clk.Set(schedT0.Add(time.Hour))
	if n, err := runner.RunOnce(context.Background()); err != nil || n != 0 {
		t.Fatalf("fired %d after maxInvocations (%v)", n, err)
	}
	if v := get(); v["status"] != 404 {
		t.Fatalf("finished schedule still there: %v", v)
	}
	testenv.Eventually(t, 20*time.Second, func() bool { return h.streamMsgs() == 0 }, "stream drained")
	hits := h.scheduledHits()
	if len(hits) != 3 {
		t.Fatalf("app got %d invocations, want 3", len(hits))
	}
	seen := map[string]bool{}
	for range hits {
		hash := <-hashes
		if hash == "" || seen[hash] {
			t.Fatalf("request hash %q missing or repeated", hash)
		}
		seen[hash] = true
	}
	for _, s := range hits {
		if s.Session != "sess-A" || s.Body["text"] != "test payload" || !seen[s.Delivery] {
			t.Fatalf("invocation %+v: want session sess-A, the payload, delivery id = request hash", s)
		}
	}
}

// neru's startAt returns the callback id: without an id of its own, that is
// the schedule id, so the app can cancel with it. A cancelled schedule never
// fires; schedules live in Redis, so a runner started later (a restarted
// worker) fires what is pending.
func TestScheduleCancelAndRestart(t *testing.T) {
	h := start(t)
	h.startWorker()
	noID := schedule("", "sess-B", "2030-01-01T00:00:00.000Z", map[string]any{"cron": "* * * * *"})
	noID["callback"].(map[string]any)["id"] = "765db490-1871-4732-9006-c29770cbfcae"
	if r := h.neruCommand("vonage-scheduler", "create", noID); r.Status != 200 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	if r := h.neruCommand("vonage-scheduler", "create", schedule("keep", "sess-B", "2030-01-01T00:01:00.000Z", nil)); r.Status != 200 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	var page struct {
		List       []string
		NextCursor int64 `json:"next_cursor"`
		PageSize   int   `json:"page_size"`
	}
	r := h.neruCommand("vonage-scheduler", "list", map[string]any{"page_size": 1})
	if err := json.Unmarshal(r.Body, &page); err != nil || r.Status != 200 || len(page.List) != 1 || page.NextCursor == 0 || page.PageSize != 1 {
		t.Fatalf("list page 1: %d %s", r.Status, r.Body)
	}
	first := page.List[0]
	r = h.neruCommand("vonage-scheduler", "list", map[string]any{"page_size": 1, "cursor": fmt.Sprint(page.NextCursor)})
	if err := json.Unmarshal(r.Body, &page); err != nil || len(page.List) != 1 || page.NextCursor != 0 {
		t.Fatalf("list page 2: %d %s", r.Status, r.Body)
	}
	if first != "765db490-1871-4732-9006-c29770cbfcae" || page.List[0] != "keep" {
		t.Fatalf("listed %s, %s", first, page.List[0])
	}

	clk := &fakeClock{t: schedT0.Add(-time.Hour)}
	stop := h.runRunner(h.schedRunner(clk))
	if r := h.neruCommand("vonage-scheduler", "cancel", map[string]string{"id": "765db490-1871-4732-9006-c29770cbfcae"}); r.Status != 200 {
		t.Fatalf("cancel: %d %s", r.Status, r.Body)
	}
	// Cancelling again (or a schedule that ran out) does not make the SDK throw.
	if r := h.neruCommand("vonage-scheduler", "cancel", map[string]string{"id": "765db490-1871-4732-9006-c29770cbfcae"}); r.Status != 200 {
		t.Fatalf("second cancel: %d %s", r.Status, r.Body)
	}
	stop()

	clk.Set(schedT0.Add(5 * time.Minute))
	later := h.schedRunner(clk)
	h.runRunner(later)
	testenv.Eventually(t, 20*time.Second, func() bool { return len(h.scheduledHits()) == 1 }, "the pending schedule fired")
	testenv.Eventually(t, 20*time.Second, func() bool { return h.streamMsgs() == 0 && later.Fired() == 1 }, "stream drained, pass settled")
	if hits := h.scheduledHits(); len(hits) != 1 || hits[0].Body["job"] != "keep" || later.Fired() != 1 {
		t.Fatalf("hits %+v, fired %d: want only the uncancelled one-shot", hits, later.Fired())
	}
}

// Two runners (two worker processes) fire each due time once.
func TestScheduleTwoRunnersFireOnce(t *testing.T) {
	h := start(t)
	h.startWorker()
	const jobs = 10
	for i := range jobs {
		id := fmt.Sprintf("job-%d", i)
		if r := h.sdkPost("vonage-scheduler", "/v2/create", "", mustJSON(schedule(id, "sess-"+id, "2030-01-01T00:00:00.000Z", nil))); r.Status != 200 {
			t.Fatalf("create %s: %d %s", id, r.Status, r.Body)
		}
	}
	clk := &fakeClock{t: schedT0}
	a, b := h.schedRunner(clk), h.schedRunner(clk)
	h.runRunner(a)
	h.runRunner(b)
	testenv.Eventually(t, 30*time.Second, func() bool { return len(h.scheduledHits()) >= jobs }, "all %d fired", jobs)
	testenv.Eventually(t, 20*time.Second, func() bool { return h.streamMsgs() == 0 }, "stream drained")
	// A pass counts what it published once it has settled it all, which
	// may be after the worker delivered it.
	testenv.Eventually(t, 20*time.Second, func() bool { return a.Fired()+b.Fired() >= jobs }, "runners settled")
	if n := len(h.scheduledHits()); n != jobs || a.Fired()+b.Fired() != jobs {
		t.Fatalf("app got %d, runners published %d + %d; want %d once each", n, a.Fired(), b.Fired(), jobs)
	}
}

func (h *harness) schedStore() *scheduler.Store {
	return scheduler.NewStore(h.p.Redis, h.p.Config.Keyspace, 0)
}
