package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/neru-dev/neru/internal/testenv"
	"github.com/neru-dev/neru/sdk"
	"github.com/neru-dev/neru/session"
	"github.com/neru-dev/neru/state"
)

// createSession(ttl) lives ttl, whatever second of the minute the SDK's
// clock shows (issue 13: expiresAt is "this minute, second = ttl").
func TestExactSessionTTL(t *testing.T) {
	h := start(t)
	minute := time.Date(2026, 11, 21, 22, 59, 0, 0, time.UTC) // the app's clock; ours is now
	for _, sec := range []int{0, 1, 20, 40, 59} {
		for _, ttl := range []int{4, 30, 59, 60, 90, 3600} {
			id := fmt.Sprintf("ttl-%d-at-%d", ttl, sec)
			h.announceAt(id, ttl, minute.Add(time.Duration(sec)*time.Second+731*time.Millisecond))
			got, code := h.adminSession(id)
			if code != http.StatusOK || got.TTLSeconds == nil {
				t.Fatalf("%s: %d %+v", id, code, got)
			}
			if left := *got.TTLSeconds; left > float64(ttl) || left < float64(ttl)-1 {
				t.Errorf("createSession(%d) at second %d lives %.1fs, want %d±1", ttl, sec, left, ttl)
			}
		}
	}
}

// sdkStateGet is the SDK's state.get in session id.
func (h *harness) sdkStateGet(id, key string) reply {
	h.t.Helper()
	return h.sdkPost("client-persistence-api", "", "",
		mustJSON(map[string]any{"operation": "GET", "namespace": "state:" + id, "key": key, "args": []string{}}),
		"X-Neru-SessionId", id)
}

func expired410(t *testing.T, what string, r reply, id string) {
	t.Helper()
	if r.Status != http.StatusGone || r.errCode() != "session_expired" ||
		!strings.Contains(string(r.Body), "session "+id+" expired at ") {
		t.Fatalf("%s: %d %s, want 410 session_expired \"session %s expired at …\"", what, r.Status, r.Body, id)
	}
}

// A deleted or expired session answers every command 410 session_expired
// and nothing brings it back, until a fresh session_created.
func TestEndedSessionsStayDead(t *testing.T) {
	h := start(t, fastSweeps)
	h.startWorker()
	ctx := context.Background()
	id := "user alice {support desk} " + strings.Repeat("x", 900)
	s := h.sdk.Session(id)
	if _, err := s.OnMessage(ctx, "/onMessage", sdk.Contact{Type: "sms", Number: "447700906000"}, sdk.Contact{Type: "sms"}); err != nil {
		t.Fatal(err)
	}
	if err := s.State().Set(ctx, "k", 1); err != nil {
		t.Fatal(err)
	}
	if code := h.sessAdmin(http.MethodDelete, "/instances/e2e/sessions/"+url.PathEscape(id), nil, nil); code != http.StatusNoContent {
		t.Fatalf("admin delete: %d", code)
	}
	expired410(t, "state.get after delete", h.sdkStateGet(id, "k"), id)
	_, err := s.OnMessage(ctx, "/onMessage", sdk.Contact{Type: "sms", Number: "447700906000"}, sdk.Contact{Type: "sms"})
	var se *sdk.Error
	if !errors.As(err, &se) || se.Status != http.StatusGone || se.Code != "session_expired" {
		t.Fatalf("listener registration after delete: %v, want 410 session_expired", err)
	}
	if _, code := h.adminSession(id); code != http.StatusNotFound {
		t.Fatalf("the deleted session came back: %d", code)
	}
	if code, body := h.webhook("/messages/inbound", inboundSMS("447700906000", ourNumber, "hi")); code != 200 || !strings.Contains(string(body), `"deliveries":0`) {
		t.Fatalf("the deleted session's listener matched: %d %s", code, body)
	}
	// A fresh session_created starts it again, empty.
	h.announce(id, 3600)
	if r := h.sdkStateGet(id, "k"); r.Status != http.StatusOK || string(r.Body) != "null" {
		t.Fatalf("state.get in the re-created session: %d %s, want 200 null", r.Status, r.Body)
	}

	// Expiry: the same, from the moment it expires.
	short := h.sdk.NewSession()
	h.announce(short.ID, 1)
	if err := short.State().Set(ctx, "k", 1); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 20*time.Second, func() bool {
		return h.sdkStateGet(short.ID, "k").Status == http.StatusGone
	}, "state.get never refused after expiry")
	expired410(t, "state.get after expiry", h.sdkStateGet(short.ID, "k"), short.ID)
	_, err = short.OnMessage(ctx, "/onMessage", sdk.Contact{Type: "sms", Number: "447700906001"}, sdk.Contact{Type: "sms"})
	if !errors.As(err, &se) || se.Status != http.StatusGone {
		t.Fatalf("listener registration after expiry: %v, want 410", err)
	}
}

// Control characters are refused in the session header. Go's client will
// not send them, so the request is written by hand, as any client could.
// C0 and DEL never get past net/http (a plain 400); C1 is valid in a header
// and gets our JSON 400.
func TestSessionHeaderControlCharacters(t *testing.T) {
	h := start(t)
	addr := strings.TrimPrefix(h.command.URL, "http://")
	body := `{"operation":"GET","namespace":"state:s","key":"k","args":[]}`
	for _, id := range []string{"a\x7fb", "a\u0085b", "a\x01b"} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST /?func=client-persistence-api.neru&async=false HTTP/1.1\r\nHost: %s\r\n"+
			"Content-Type: application/json\r\nX-Neru-SessionId: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
			addr, id, len(body), body)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = conn.Close()
		if resp.StatusCode != http.StatusBadRequest || (id == "a\u0085b" && !strings.Contains(string(b), `"code":"bad_request"`)) {
			t.Errorf("session id %q: %d %s, want 400", id, resp.StatusCode, b)
		}
	}
}

// A delivery of a session deleted while it was being retried goes to the
// DLQ with the reason instead of reaching the app.
func TestDeletedSessionInFlightToDLQ(t *testing.T) {
	h := start(t)
	ctx := context.Background()
	s := h.sdk.NewSession()
	if _, err := s.OnMessage(ctx, "/onMessage", sdk.Contact{Type: "sms", Number: "447700906100"}, sdk.Contact{Type: "sms"}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	tries := 0
	h.app.handle("/onMessage", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		tries++
		w.WriteHeader(http.StatusServiceUnavailable) // retried, in place
	})
	h.startWorker()
	h.webhook("/messages/inbound", inboundSMS("447700906100", ourNumber, "late"))
	testenv.Eventually(t, 20*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return tries > 0
	}, "the app never got the first attempt")
	if code := h.sessAdmin(http.MethodDelete, "/instances/e2e/sessions/"+url.PathEscape(s.ID), nil, nil); code != http.StatusNoContent {
		t.Fatalf("admin delete: %d", code)
	}
	var dead []deadEntry
	testenv.Eventually(t, 60*time.Second, func() bool {
		dead = h.dead("?session=" + url.QueryEscape(s.ID))
		return len(dead) == 1
	}, "the deleted session's delivery never reached the DLQ")
	if !strings.Contains(dead[0].Reason, "session_expired") || !strings.Contains(dead[0].Reason, "session "+s.ID+" expired at ") {
		t.Fatalf("DLQ reason %q, want session_expired", dead[0].Reason)
	}
	mu.Lock()
	before := tries
	mu.Unlock()
	// Dead means not retried: the app hears no more of it.
	h.webhook("/messages/inbound", inboundSMS("447700906100", ourNumber, "after")) // matches nothing now
	if got := len(h.dead("?session=" + url.QueryEscape(s.ID))); got != 1 {
		t.Fatalf("%d dead deliveries, want 1", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if tries != before {
		t.Fatalf("the app got %d more attempts after the DLQ", tries-before)
	}
}

// State ends with its session at one instant, from the app's view, also
// when this gateway's sighting still says alive: another replica deleted
// the session (its tombstone, then its record and state went). The SDK
// endpoint lets the command in on its cached sighting, so the read itself
// must notice that the state is gone because the session ended, and
// answer 410 rather than the null of a key never written. The same holds
// at the instant a session expires between the endpoint's check and the
// read (state.TestReadAtTheSessionsEnd).
func TestStateReadAfterAnotherReplicaEndedTheSession(t *testing.T) {
	h := start(t)
	ctx := context.Background()
	s := h.sdk.NewSession()
	h.announce(s.ID, 3600)
	if err := s.State().Set(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	if r := h.sdkStateGet(s.ID, "k"); r.Status != http.StatusOK || string(r.Body) != `"\"v\""` {
		t.Fatalf("state.get: %d %s", r.Status, r.Body) // and the sighting is cached
	}
	// The other replica: its own stores on the same Redis.
	var other *session.Store
	st := state.NewStore(h.p.Redis, h.p.Config.Keyspace, state.SessionTTLFunc(func(ctx context.Context, inst, id string) (time.Time, bool, error) {
		return other.EnsureExpiry(ctx, inst, id)
	}))
	other = session.NewStore(h.p.Redis, h.p.Config.Keyspace, 0, session.WithState(st))
	if err := other.Delete(ctx, "e2e", s.ID); err != nil {
		t.Fatal(err)
	}
	expired410(t, "state.get after another replica deleted the session", h.sdkStateGet(s.ID, "k"), s.ID)
}
