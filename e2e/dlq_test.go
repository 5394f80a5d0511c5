package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/neru-dev/neru/cmd/neru/cli"
	"github.com/neru-dev/neru/internal/testenv"
	"github.com/neru-dev/neru/platform"
	"github.com/neru-dev/neru/sdk"
)

type deadEntry struct {
	Seq       uint64 `json:"seq"`
	ID        string `json:"id"`
	SessionID string `json:"sessionId"`
	Path      string `json:"path"`
	Attempts  int    `json:"attempts"`
	Reason    string `json:"reason"`
	Body      any    `json:"body"`
}

func (h *harness) dead(query string) []deadEntry {
	h.t.Helper()
	var page struct{ Deliveries []deadEntry }
	if code := h.sessAdmin(http.MethodGet, "/instances/e2e/dlq"+query, nil, &page); code != 200 {
		h.t.Fatalf("dlq list: %d", code)
	}
	return page.Deliveries
}

// Replaying from the DLQ delivers exactly the dead events, with their
// delivery ids, inside the stream's duplicate window; a replay that dies
// again is dead again.
func TestDLQReplay(t *testing.T) {
	h := start(t, func(c *platform.Config) { c.Worker.MaxAttempts = 2 })
	ctx := context.Background()
	doomed, fine := h.sdk.NewSession(), h.sdk.NewSession()
	for i, s := range []*sdk.Session{doomed, fine} {
		if _, err := s.OnMessage(ctx, "/onMessage", sdk.Contact{Type: "sms", Number: fmt.Sprint("44770090800", i)}, sdk.Contact{Type: "sms"}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	down := true // the app refuses the doomed session's events while down
	accepted := map[string]int{}
	h.app.handle("/onMessage", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if down && r.Header.Get("x-neru-sessionid") == doomed.ID {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		accepted[r.Header.Get("x-neru-delivery-id")]++
	})
	h.startWorker()
	for n := range 3 {
		h.webhook("/messages/inbound", inboundSMS("447700908000", ourNumber, fmt.Sprint("doomed-", n)))
	}
	h.webhook("/messages/inbound", inboundSMS("447700908001", ourNumber, "fine"))
	testenv.Eventually(t, 30*time.Second, func() bool { return len(h.dead("")) == 3 }, "3 dead deliveries")
	dead := h.dead("?session=" + doomed.ID)
	if len(dead) != 3 || len(h.dead("?session="+fine.ID)) != 0 {
		t.Fatalf("dead by session: %+v", dead)
	}
	for i, d := range dead {
		if d.SessionID != doomed.ID || d.Attempts != 2 || !strings.Contains(d.Reason, "503") || d.Path != "/onMessage" {
			t.Fatalf("dead %d: %+v", i, d)
		}
	}
	if page := h.dead("?limit=2"); len(page) != 2 {
		t.Fatalf("limit 2: %d", len(page))
	}
	var shown deadEntry
	if code := h.sessAdmin(http.MethodGet, fmt.Sprintf("/instances/e2e/dlq/%d", dead[0].Seq), nil, &shown); code != 200 ||
		!strings.Contains(fmt.Sprint(shown.Body), "doomed-0") || shown.ID != dead[0].ID {
		t.Fatalf("show: %d %+v", code, shown)
	}
	// Another instance cannot see them.
	if code := h.sessAdmin(http.MethodGet, fmt.Sprintf("/instances/nobody/dlq/%d", dead[0].Seq), nil, nil); code != http.StatusNotFound {
		t.Fatalf("other instance: %d", code)
	}

	// Replayed while the app is still down: it dies again, and is dead again
	// (the DLQ's duplicate window must not swallow the second death).
	if code := h.sessAdmin(http.MethodPost, fmt.Sprintf("/instances/e2e/dlq/%d/replay", dead[0].Seq), nil, nil); code != 200 {
		t.Fatalf("replay: %d", code)
	}
	testenv.Eventually(t, 30*time.Second, func() bool {
		d := h.dead("")
		return len(d) == 3 && d[2].ID == dead[0].ID && d[2].Seq != dead[0].Seq
	}, "the replayed delivery did not die again")

	// The app recovers: replay one, then the rest of the session (CLI).
	mu.Lock()
	down = false
	fineID := ""
	for id := range accepted {
		fineID = id
	}
	mu.Unlock()
	again := h.dead("")
	if code := h.sessAdmin(http.MethodPost, fmt.Sprintf("/instances/e2e/dlq/%d/replay", again[0].Seq), nil, nil); code != 200 {
		t.Fatalf("replay: %d", code)
	}
	var out bytes.Buffer
	if err := cli.DLQ(ctx, h.gateway.URL, "e2e", []string{"replay", "--session", doomed.ID}, &out); err != nil || !strings.Contains(out.String(), "replayed 2") {
		t.Fatalf("neru dlq replay --session: %v %s", err, out.String())
	}
	testenv.Eventually(t, 30*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(accepted) == 4
	}, "replayed deliveries did not arrive")
	mu.Lock()
	defer mu.Unlock()
	for _, d := range dead {
		if accepted[d.ID] != 1 {
			t.Fatalf("dead delivery %s accepted %d times after replay, want 1", d.ID, accepted[d.ID])
		}
	}
	if accepted[fineID] != 1 || len(accepted) != 4 {
		t.Fatalf("app accepted %v: want the 3 dead deliveries and the fine one, once each", accepted)
	}
	if n := len(h.dead("")); n != 0 {
		t.Fatalf("%d left in the DLQ after replay", n)
	}
	if err := cli.DLQ(ctx, h.gateway.URL, "e2e", []string{"replay", "--all"}, &out); err != nil {
		t.Fatal(err)
	}
}
