package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/neru-dev/neru/cmd/neru/cli"
	"github.com/neru-dev/neru/internal/testenv"
	"github.com/neru-dev/neru/platform"
	"github.com/neru-dev/neru/sdk"
	"github.com/neru-dev/neru/session"
)

// sessAdmin calls the gateway's admin API and decodes a JSON reply into out.
func (h *harness) sessAdmin(method, path string, body, out any) int {
	h.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		rd = bytes.NewReader(mustJSON(body))
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequest(method, h.gateway.URL+"/admin/v1"+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	r := do(h.t, http.DefaultClient, req)
	if out != nil && len(r.Body) > 0 {
		if err := json.Unmarshal(r.Body, out); err != nil {
			h.t.Fatalf("%s %s: %d %s: %v", method, path, r.Status, r.Body, err)
		}
	}
	return r.Status
}

type adminSession struct {
	ID         string   `json:"id"`
	TTLSeconds *float64 `json:"ttlSeconds"`
	Listeners  []struct {
		ID, Path string
	} `json:"listeners"`
	StateKeys  *int64 `json:"stateKeys"`
	Deliveries []struct {
		ID, Status, Error string
		Attempt           int
	} `json:"deliveries"`
}

func (h *harness) adminSession(id string) (adminSession, int) {
	h.t.Helper()
	var s adminSession
	code := h.sessAdmin(http.MethodGet, "/instances/e2e/sessions/"+url.PathEscape(id), nil, &s)
	return s, code
}

// announce sends the session_created of createSession(ttl) as the SDKs do:
// expiresAt is now with its seconds set to ttl (session/doc.go, Exact TTL).
func (h *harness) announce(id string, ttl int) {
	h.t.Helper()
	h.announceAt(id, ttl, time.Now())
}

// announceAt is announce as sent at the SDK's clock reading now.
func (h *harness) announceAt(id string, ttl int, now time.Time) {
	h.t.Helper()
	ms := time.Duration(now.Nanosecond()) / time.Millisecond * time.Millisecond
	exp := now.Truncate(time.Minute).Add(time.Duration(ttl)*time.Second + ms)
	body := mustJSON(map[string]any{
		"event_type": "session_created", "source_type": "instance", "details": map[string]any{"expiresAt": exp.UTC().Format(time.RFC3339Nano)},
		"timestamp": now.UTC().Format(time.RFC3339Nano), "id": "ev-" + id, "session_id": id, "instance_id": "e2e",
	})
	if r := h.sdkPost("events-submission", "", "", body, "X-Neru-SessionId", id); r.Status != 200 {
		h.t.Fatalf("session_created: %d %s", r.Status, r.Body)
	}
}

func fastSweeps(c *platform.Config) { c.Worker.SweepInterval = 50 * time.Millisecond }

// At expiry a session's listeners stop matching and are removed, and its
// state is deleted; the global session never expires.
func TestSessionExpiry(t *testing.T) {
	h := start(t, fastSweeps)
	h.startWorker()
	ctx := context.Background()
	short := h.sdk.NewSession()
	h.announce(short.ID, 2)
	global := h.sdk.GlobalSession()
	for i, s := range []*sdk.Session{short, global} {
		if _, err := s.OnMessage(ctx, "/onMessage", sdk.Contact{Type: "sms", Number: fmt.Sprint("44770090500", i)}, sdk.Contact{Type: "sms"}); err != nil {
			t.Fatal(err)
		}
		if err := s.State().Set(ctx, "k", map[string]int{"n": i}); err != nil {
			t.Fatal(err)
		}
	}
	got, code := h.adminSession(short.ID)
	if code != 200 || len(got.Listeners) != 1 || got.StateKeys == nil || *got.StateKeys != 1 || got.TTLSeconds == nil || *got.TTLSeconds > 2 {
		t.Fatalf("before expiry: %d %+v", code, got)
	}
	if code, body := h.webhook("/messages/inbound", inboundSMS("447700905000", ourNumber, "hi")); code != 200 || !bytes.Contains(body, []byte(`"deliveries":1`)) {
		t.Fatalf("before expiry the listener matches: %d %s", code, body)
	}

	testenv.Eventually(t, 30*time.Second, func() bool {
		ls, _ := h.p.Listeners.List(ctx, "e2e", short.ID)
		n, _ := h.p.Sessions.StateKeys(ctx, "e2e", short.ID)
		return len(ls) == 0 && n == 0
	}, "expired session's listeners and state not removed")
	if _, code := h.adminSession(short.ID); code != http.StatusNotFound {
		t.Fatalf("expired session: %d, want 404", code)
	}
	if code, body := h.webhook("/messages/inbound", inboundSMS("447700905000", ourNumber, "hi")); code != 200 || !bytes.Contains(body, []byte(`"deliveries":0`)) {
		t.Fatalf("after expiry nothing matches: %d %s", code, body)
	}
	// The sweeps that ended it left the global session alone.
	g, code := h.adminSession(session.GlobalID)
	if code != 200 || g.TTLSeconds != nil || len(g.Listeners) != 1 || g.StateKeys == nil || *g.StateKeys != 1 {
		t.Fatalf("global session: %d %+v", code, g)
	}
	var v map[string]int
	if ok, err := global.State().Get(ctx, "k", &v); !ok || err != nil || v["n"] != 1 {
		t.Fatalf("global state: %v %v %v", v, ok, err)
	}
}

// Under sliding expiry every delivery and every command extends a session.
func TestSlidingSessions(t *testing.T) {
	h := start(t, fastSweeps)
	h.startWorker()
	ctx := context.Background()
	if code := h.sessAdmin(http.MethodPatch, "/instances/e2e", map[string]any{"sessionIdle": "1s"}, nil); code != 200 {
		t.Fatalf("set sessionIdle: %d", code)
	}
	byDelivery, byCommand, idle := h.sdk.NewSession(), h.sdk.NewSession(), h.sdk.NewSession()
	for i, s := range []*sdk.Session{byDelivery, byCommand, idle} {
		if _, err := s.OnMessage(ctx, "/onMessage", sdk.Contact{Type: "sms", Number: fmt.Sprint("44770090600", i)}, sdk.Contact{Type: "sms"}); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := h.adminSession(idle.ID); got.TTLSeconds == nil || *got.TTLSeconds > 1 {
		t.Fatalf("a new sliding session lives the idle time: %+v", got)
	}
	// Use two of them for 2.5 idle periods: one gets SMS, the other state writes.
	began, n := time.Now(), 0
	testenv.Eventually(t, 30*time.Second, func() bool {
		n++
		if code, _ := h.webhook("/messages/inbound", inboundSMS("447700906000", ourNumber, fmt.Sprint("m", n))); code != 200 {
			t.Fatal(code)
		}
		if err := byCommand.State().Set(ctx, "n", n); err != nil {
			t.Fatal(err)
		}
		return time.Since(began) > 2500*time.Millisecond
	}, "")
	for _, s := range []*sdk.Session{byDelivery, byCommand} {
		got, code := h.adminSession(s.ID)
		if code != 200 || len(got.Listeners) != 1 {
			t.Fatalf("session used for 2.5s with idle 1s is gone: %d %+v", code, got)
		}
	}
	if len(h.app.requests("/onMessage")) == 0 {
		t.Fatal("no SMS delivered")
	}
	if ls, _ := h.p.Listeners.List(ctx, "e2e", idle.ID); len(ls) != 0 {
		t.Fatal("the unused session outlived its idle time")
	}
	// Left alone, they end too, listeners and state with them.
	testenv.Eventually(t, 20*time.Second, func() bool {
		a, _ := h.p.Listeners.List(ctx, "e2e", byDelivery.ID)
		b, _ := h.p.Listeners.List(ctx, "e2e", byCommand.ID)
		k, _ := h.p.Sessions.StateKeys(ctx, "e2e", byCommand.ID)
		return len(a)+len(b) == 0 && k == 0
	}, "sliding sessions never ended")
}

// The admin API lists, shows, resets and deletes sessions, and the CLI
// drives it.
func TestSessionAdmin(t *testing.T) {
	h := start(t)
	ctx := context.Background()
	var ids []string
	for i := range 5 {
		s := h.sdk.NewSession()
		ids = append(ids, s.ID)
		if _, err := s.OnMessage(ctx, "/onMessage", sdk.Contact{Type: "sms", Number: fmt.Sprint("44770090700", i)}, sdk.Contact{Type: "sms"}); err != nil {
			t.Fatal(err)
		}
	}
	// Paging.
	seen := map[string]bool{}
	for cursor, pages := "", 0; ; pages++ {
		var page struct {
			Sessions []adminSession `json:"sessions"`
			Next     string         `json:"next"`
			Live     int            `json:"live"`
		}
		if code := h.sessAdmin(http.MethodGet, "/instances/e2e/sessions?limit=2&cursor="+url.QueryEscape(cursor), nil, &page); code != 200 || len(page.Sessions) > 2 || page.Live != 5 {
			t.Fatalf("list: %d %+v", code, page)
		}
		for _, s := range page.Sessions {
			seen[s.ID] = true
			if s.TTLSeconds == nil || *s.TTLSeconds < 6*24*3600 {
				t.Fatalf("%s: ttl %v, want the 7-day default", s.ID, s.TTLSeconds)
			}
		}
		if cursor = page.Next; cursor == "" {
			if pages < 2 {
				t.Fatalf("5 sessions in %d pages of 2", pages+1)
			}
			break
		}
	}
	if len(seen) != 5 {
		t.Fatalf("listed %d of 5 sessions", len(seen))
	}

	// Get: listeners, state and recent deliveries with status and attempts.
	s0 := h.sdk.Session(ids[0])
	if err := s0.State().Set(ctx, "a", 1); err != nil {
		t.Fatal(err)
	}
	if err := s0.State().Set(ctx, "b", 2); err != nil {
		t.Fatal(err)
	}
	failOnce := true
	h.app.handle("/onMessage", func(w http.ResponseWriter, r *http.Request) {
		h.app.mu.Lock()
		defer h.app.mu.Unlock()
		if failOnce {
			failOnce = false
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	h.startWorker()
	h.webhook("/messages/inbound", inboundSMS("447700907000", ourNumber, "hello"))
	var got adminSession
	testenv.Eventually(t, 20*time.Second, func() bool {
		got, _ = h.adminSession(ids[0])
		return len(got.Deliveries) == 2
	}, "two recorded attempts")
	d := got.Deliveries
	if d[0].Status != "delivered" || d[0].Attempt != 2 || d[1].Status != "failed" || d[1].Attempt != 1 || d[1].Error == "" || d[0].ID != d[1].ID {
		t.Fatalf("recent deliveries: %+v", d)
	}
	if len(got.Listeners) != 1 || got.StateKeys == nil || *got.StateKeys != 2 {
		t.Fatalf("session detail: %+v", got)
	}

	// The CLI shows the same.
	var out bytes.Buffer
	if err := cli.Sessions(ctx, h.gateway.URL, "e2e", []string{"get", ids[0]}, &out); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, "state keys  2") || !strings.Contains(s, "delivered") || !strings.Contains(s, "attempt 2") {
		t.Fatalf("neru sessions get:\n%s", s)
	}
	out.Reset()
	if err := cli.Sessions(ctx, h.gateway.URL, "e2e", []string{"list", "--limit", "2", "--all"}, &out); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if !strings.Contains(out.String(), id) {
			t.Fatalf("neru sessions list --all misses %s:\n%s", id, out.String())
		}
	}

	// Reset clears the state and keeps the listeners.
	if err := cli.Sessions(ctx, h.gateway.URL, "e2e", []string{"reset", ids[0]}, &out); err != nil {
		t.Fatal(err)
	}
	if got, _ = h.adminSession(ids[0]); *got.StateKeys != 0 || len(got.Listeners) != 1 {
		t.Fatalf("after reset: %+v", got)
	}
	// Delete removes listeners and state; the session is gone.
	if err := s0.State().Set(ctx, "c", 3); err != nil {
		t.Fatal(err)
	}
	if code := h.sessAdmin(http.MethodDelete, "/instances/e2e/sessions/"+ids[0], nil, nil); code != http.StatusNoContent {
		t.Fatalf("delete: %d", code)
	}
	if _, code := h.adminSession(ids[0]); code != http.StatusNotFound {
		t.Fatalf("deleted session: %d", code)
	}
	if n, _ := h.p.Sessions.StateKeys(ctx, "e2e", ids[0]); n != 0 {
		t.Fatalf("%d state keys after delete", n)
	}
	if code, body := h.webhook("/messages/inbound", inboundSMS("447700907000", ourNumber, "again")); !bytes.Contains(body, []byte(`"deliveries":0`)) {
		t.Fatalf("deleted session's listener still matches: %d %s", code, body)
	}
	if err := cli.Sessions(ctx, h.gateway.URL, "e2e", []string{"delete", ids[0]}, &out); err == nil || !strings.Contains(err.Error(), "not_found") {
		t.Fatalf("second delete: %v", err)
	}
	if code := h.sessAdmin(http.MethodGet, "/instances/nobody/sessions", nil, nil); code != http.StatusNotFound {
		t.Fatalf("unknown instance: %d", code)
	}
}

// maxSessions refuses new sessions with 429 and leaves existing ones alone.
func TestMaxSessions(t *testing.T) {
	h := start(t)
	ctx := context.Background()
	if code := h.sessAdmin(http.MethodPatch, "/instances/e2e", map[string]any{"maxSessions": 2}, nil); code != 200 {
		t.Fatalf("set maxSessions: %d", code)
	}
	a, b, c := h.sdk.NewSession(), h.sdk.NewSession(), h.sdk.NewSession()
	for _, s := range []*sdk.Session{a, b} {
		if err := s.State().Set(ctx, "k", 1); err != nil {
			t.Fatal(err)
		}
	}
	_, err := c.OnMessage(ctx, "/onMessage", sdk.Contact{Type: "sms"}, sdk.Contact{Type: "sms"})
	var se *sdk.Error
	if !errors.As(err, &se) || se.Status != http.StatusTooManyRequests || se.Code != "too_many_sessions" {
		t.Fatalf("third session: %v, want 429 too_many_sessions", err)
	}
	if err := c.State().Set(ctx, "k", 1); !errors.As(err, &se) || se.Status != http.StatusTooManyRequests {
		t.Fatalf("third session's state write: %v, want 429", err)
	}
	// Existing sessions and the global one keep working; session_created
	// over the cap is still answered 2xx (the SDK would crash otherwise).
	if _, err := a.OnMessage(ctx, "/onMessage", sdk.Contact{Type: "sms"}, sdk.Contact{Type: "sms"}); err != nil {
		t.Fatalf("existing session: %v", err)
	}
	if err := h.sdk.GlobalSession().State().Set(ctx, "k", 1); err != nil {
		t.Fatalf("global session: %v", err)
	}
	h.announce(c.ID, 3600)
	if _, code := h.adminSession(c.ID); code != http.StatusNotFound {
		t.Fatalf("session_created over the cap created it: %d", code)
	}
	// Deleting one makes room.
	if code := h.sessAdmin(http.MethodDelete, "/instances/e2e/sessions/"+b.ID, nil, nil); code != http.StatusNoContent {
		t.Fatalf("delete: %d", code)
	}
	if err := c.State().Set(ctx, "k", 1); err != nil {
		t.Fatalf("after a delete: %v", err)
	}
}

// Apps register onCall at every start, each time in a new session: only the
// newest registration answers calls, the older ones are removed.
func TestNewestAnswerListenerWins(t *testing.T) {
	h := start(t)
	ctx := context.Background()
	var starts []*sdk.Session
	for range 3 {
		s := h.sdk.NewSession()
		starts = append(starts, s)
		if _, err := s.OnCall(ctx, "onCall"); err != nil {
			t.Fatal(err)
		}
	}
	h.app.handle("/onCall", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`[{"action":"talk","text":"hi"}]`))
	})
	if code, ncco := h.webhook("/voice/answer", answerWebhook("CALL-DUP", caller, ourNumber)); code != 200 || !bytes.Contains(ncco, []byte(`"hi"`)) {
		t.Fatalf("answer: %d %s", code, ncco)
	}
	calls := h.app.requests("/onCall")
	if len(calls) != 1 || calls[0].Session != starts[2].ID {
		t.Fatalf("answer went to %+v, want once to the newest session %s", calls, starts[2].ID)
	}
	for i, s := range starts {
		ls, _ := h.p.Listeners.List(ctx, "e2e", s.ID)
		if want := map[bool]int{true: 1, false: 0}[i == 2]; len(ls) != want {
			t.Fatalf("start %d: %d listeners, want %d", i, len(ls), want)
		}
	}
}
