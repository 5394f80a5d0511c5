package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/neru-dev/neru/internal/testenv"
	"github.com/neru-dev/neru/sdk"
)

const (
	caller    = "447700900001"
	ourNumber = "447700900000"
)

// The NeRu seed scenario: a call opens a session; the call's speech result
// and a later SMS from the caller reach the app in that same session.
func TestSeedScenario(t *testing.T) {
	h := start(t)
	h.startWorker()
	ctx := context.Background()

	if _, err := h.sdk.NewSession().OnCall(ctx, "onCall"); err != nil {
		t.Fatal(err)
	}
	var callSession string
	h.app.handle("/onCall", func(w http.ResponseWriter, r *http.Request) {
		var call struct{ UUID, From string }
		_ = json.NewDecoder(r.Body).Decode(&call)
		s := h.sdk.NewSession()
		callSession = s.ID
		if _, err := s.OnCallEvent(r.Context(), "/onEvent", call.UUID); err != nil {
			t.Error(err)
		}
		if _, err := s.OnMessage(r.Context(), "/onMessage", sdk.Contact{Type: "sms", Number: call.From}, sdk.Contact{Type: "sms", Number: ourNumber}); err != nil {
			t.Error(err)
		}
		_, _ = w.Write([]byte(`[{"action":"talk","text":"Say something"},{"action":"input","type":["speech"]}]`))
	})
	h.app.handle("/onEvent", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`[{"action":"talk","text":"Thanks"}]`))
	})

	status, ncco := h.webhook("/voice/answer", answerWebhook("CALL-1", caller, ourNumber))
	if status != 200 || !strings.Contains(string(ncco), `"Say something"`) {
		t.Fatalf("answer: %d %s, want the app's NCCO", status, ncco)
	}
	status, ncco = h.webhook("/voice/event", speechEvent("CALL-1", "hello there"))
	if status != 200 || !strings.Contains(string(ncco), `"Thanks"`) {
		t.Fatalf("speech event: %d %s, want the app's NCCO", status, ncco)
	}
	// An SMS from someone else matches nothing.
	if status, body := h.webhook("/messages/inbound", inboundSMS("447700900999", ourNumber, "spam")); status != 200 || string(body) != `{"deliveries":0}`+"\n" {
		t.Fatalf("other sender: %d %s, want 0 deliveries", status, body)
	}
	if status, body := h.webhook("/messages/inbound", inboundSMS("+"+caller, ourNumber, "transcript please")); status != 200 || !bytes.Contains(body, []byte(`"deliveries":1`)) {
		t.Fatalf("caller sms: %d %s", status, body)
	}
	testenv.Eventually(t, 20*time.Second, func() bool { return len(h.app.requests("/onMessage")) == 1 }, "SMS never reached /onMessage")

	ev := h.app.requests("/onEvent")
	msg := h.app.requests("/onMessage")
	if len(ev) != 1 || ev[0].Session != callSession || msg[0].Session != callSession {
		t.Fatalf("sessions: event %+v, message %+v; want both in %s", ev, msg, callSession)
	}
	if !bytes.Contains(ev[0].Body, []byte("hello there")) || !bytes.Contains(msg[0].Body, []byte("transcript please")) {
		t.Fatalf("bodies not relayed as received: %s / %s", ev[0].Body, msg[0].Body)
	}
	if msg[0].Delivery == "" || msg[0].Attempt != 1 {
		t.Fatalf("delivery headers: id %q attempt %d", msg[0].Delivery, msg[0].Attempt)
	}
	if n := h.app.total(); n != 3 {
		t.Fatalf("app received %d requests, want 3 (call, speech, sms)", n)
	}
}

// Plain status events go through the stream to the call's listener.
func TestVoiceStatusEventDelivered(t *testing.T) {
	h := start(t)
	h.startWorker()
	s := h.sdk.NewSession()
	if _, err := s.OnCallEvent(context.Background(), "onEvent", "CALL-7"); err != nil {
		t.Fatal(err)
	}
	for _, st := range []string{"ringing", "answered", "completed"} {
		if code, body := h.webhook("/voice/event", statusEvent("CALL-7", st)); code != 200 {
			t.Fatalf("%s: %d %s", st, code, body)
		}
	}
	h.webhook("/voice/event", statusEvent("CALL-OTHER", "ringing"))
	testenv.Eventually(t, 20*time.Second, func() bool { return len(h.app.requests("/onEvent")) == 3 }, "3 events for CALL-7")
	for i, want := range []string{"ringing", "answered", "completed"} {
		r := h.app.requests("/onEvent")[i]
		if !bytes.Contains(r.Body, []byte(`"status":"`+want+`"`)) || r.Session != s.ID {
			t.Fatalf("event %d: %s in session %s, want %s in %s", i, r.Body, r.Session, want, s.ID)
		}
	}
}

func TestRetriedUntilTheAppAccepts(t *testing.T) {
	h := start(t)
	s := h.sdk.NewSession()
	if _, err := s.OnMessage(context.Background(), "/onMessage", sdk.Contact{Type: "sms", Number: caller}, sdk.Contact{Type: "sms"}); err != nil {
		t.Fatal(err)
	}
	failures := 2
	h.app.handle("/onMessage", func(w http.ResponseWriter, r *http.Request) {
		h.app.mu.Lock()
		defer h.app.mu.Unlock()
		if failures > 0 {
			failures--
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	h.startWorker()
	h.webhook("/messages/inbound", inboundSMS(caller, ourNumber, "retry me"))
	testenv.Eventually(t, 20*time.Second, func() bool { return len(h.app.requests("/onMessage")) == 3 }, "three attempts")
	got := h.app.requests("/onMessage")
	for i, r := range got {
		if r.Attempt != i+1 || r.Delivery != got[0].Delivery || r.Session != s.ID {
			t.Fatalf("attempt %d: %+v; want attempt %d, one delivery id, session %s", i, r, i+1, s.ID)
		}
	}
	// It was acknowledged: nothing is left in the stream.
	testenv.Eventually(t, 20*time.Second, func() bool { return h.streamMsgs() == 0 }, "delivered message still in the stream")
}

func TestAppThatKeepsFailingGoesToTheDLQ(t *testing.T) {
	h := start(t)
	s := h.sdk.NewSession()
	if _, err := s.OnMessage(context.Background(), "/onMessage", sdk.Contact{Type: "sms"}, sdk.Contact{Type: "sms"}); err != nil {
		t.Fatal(err)
	}
	h.app.handle("/onMessage", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	h.startWorker()
	h.webhook("/messages/inbound", inboundSMS(caller, ourNumber, "doomed"))
	dlq, err := h.p.JS.Stream(context.Background(), "NERU_DLQ")
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, func() bool {
		info, err := dlq.Info(context.Background())
		return err == nil && info.State.Msgs == 1
	}, "dead delivery in NERU_DLQ")
	if n := len(h.app.requests("/onMessage")); n != 5 {
		t.Fatalf("app saw %d attempts, want MaxAttempts = 5", n)
	}
	msg, err := dlq.GetLastMsgForSubject(context.Background(), "neru.dlq.e2e")
	if err != nil {
		t.Fatal(err)
	}
	if msg.Header.Get("Neru-Session") != s.ID || !bytes.Contains(msg.Data, []byte("doomed")) {
		t.Fatalf("dead message: headers %v body %s", msg.Header, msg.Data)
	}
}

// The worker is stopped while events flow and a new one takes over: every
// event is delivered, and within each session in order.
func TestWorkerRestartLosesNothing(t *testing.T) {
	h := start(t)
	ctx := context.Background()
	const sessions, perSession = 5, 40
	for i := range sessions {
		s := h.sdk.NewSession()
		from := fmt.Sprintf("4477009100%02d", i)
		if _, err := s.OnMessage(ctx, "/onMessage", sdk.Contact{Type: "sms", Number: from}, sdk.Contact{Type: "sms"}); err != nil {
			t.Fatal(err)
		}
	}
	for n := range perSession {
		for i := range sessions {
			h.webhook("/messages/inbound", inboundSMS(fmt.Sprintf("4477009100%02d", i), ourNumber, fmt.Sprintf("msg-%03d", n)))
		}
	}
	// After 50 requests the app hangs until the gate opens, so the stop
	// always lands mid-stream, with requests in flight.
	gate := make(chan struct{})
	h.app.handle("/onMessage", func(w http.ResponseWriter, r *http.Request) {
		if len(h.app.requests("/onMessage")) > 50 {
			select {
			case <-gate:
			case <-r.Context().Done():
				return
			}
		}
	})
	stop := h.startWorker()
	testenv.Eventually(t, 30*time.Second, func() bool { return h.app.total() >= 50 }, "first deliveries")
	stop()
	close(gate)
	if n := uniqueDeliveries(h.app.requests("/onMessage")); n >= sessions*perSession {
		t.Fatalf("all %d delivered before the stop; the test proves nothing", n)
	}
	h.startWorker()
	testenv.Eventually(t, 60*time.Second, func() bool { return uniqueDeliveries(h.app.requests("/onMessage")) == sessions*perSession },
		"all %d events delivered after the restart", sessions*perSession)
	assertSessionOrder(t, h.app.requests("/onMessage"))
}

func uniqueDeliveries(rs []received) int {
	seen := map[string]bool{}
	for _, r := range rs {
		seen[r.Delivery] = true
	}
	return len(seen)
}

// assertSessionOrder checks that, per session, first-seen deliveries arrive
// in the order the messages were sent ("msg-NNN" in the body).
func assertSessionOrder(t *testing.T, rs []received) {
	t.Helper()
	seen := map[string]bool{}
	last := map[string]string{}
	for _, r := range rs {
		if seen[r.Delivery] {
			continue // an at-least-once repeat
		}
		seen[r.Delivery] = true
		var m struct{ Text string }
		_ = json.Unmarshal(r.Body, &m)
		if m.Text < last[r.Session] {
			t.Fatalf("session %s: %s arrived after %s", r.Session, m.Text, last[r.Session])
		}
		last[r.Session] = m.Text
	}
}

// A provider retrying the same webhook gets it stored, and delivered, once.
func TestSameWebhookTwiceIsDeliveredOnce(t *testing.T) {
	h := start(t)
	s := h.sdk.NewSession()
	if _, err := s.OnMessage(context.Background(), "/onMessage", sdk.Contact{Type: "sms", Number: caller}, sdk.Contact{Type: "sms"}); err != nil {
		t.Fatal(err)
	}
	dup := inboundSMS(caller, ourNumber, "msg-001")
	for range 2 {
		if code, body := h.webhook("/messages/inbound", dup); code != 200 {
			t.Fatalf("%d %s", code, body)
		}
	}
	h.webhook("/messages/inbound", inboundSMS(caller, ourNumber, "msg-002"))
	if n := h.streamMsgs(); n != 2 {
		t.Fatalf("stream holds %d messages, want 2 (the retry deduplicated)", n)
	}
	h.startWorker()
	// Same session, so msg-002 arrives after any copy of msg-001.
	testenv.Eventually(t, 20*time.Second, func() bool { return len(h.app.requests("/onMessage")) >= 2 }, "both messages")
	if got := h.app.requests("/onMessage"); len(got) != 2 || !bytes.Contains(got[0].Body, []byte("msg-001")) {
		t.Fatalf("app got %d deliveries, want msg-001 once then msg-002", len(got))
	}
}

func TestAnswerRelaysTheAppsNCCOAndFallsBack(t *testing.T) {
	h := start(t)
	if _, err := h.sdk.NewSession().OnCall(context.Background(), "/onCall"); err != nil {
		t.Fatal(err)
	}
	h.app.handle("/onCall", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`[{"action":"talk","text":"from the app"}]`))
	})
	if code, ncco := h.webhook("/voice/answer", answerWebhook("CALL-A", caller, ourNumber)); code != 200 || !strings.Contains(string(ncco), "from the app") {
		t.Fatalf("answer: %d %s", code, ncco)
	}
	// The app answers garbage, then is too slow, then is down: the fallback NCCO each time.
	h.app.handle("/onCall", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`not json`)) })
	if code, ncco := h.webhook("/voice/answer", answerWebhook("CALL-B", caller, ourNumber)); code != 200 || !strings.Contains(string(ncco), "cannot take your call") {
		t.Fatalf("garbage answer: %d %s, want the fallback NCCO", code, ncco)
	}
	h.app.handle("/onCall", func(w http.ResponseWriter, r *http.Request) { time.Sleep(1500 * time.Millisecond) })
	if code, ncco := h.webhook("/voice/answer", answerWebhook("CALL-C", caller, ourNumber)); code != 200 || !strings.Contains(string(ncco), "cannot take your call") {
		t.Fatalf("slow app: %d %s, want the fallback NCCO", code, ncco)
	}
	h.app.srv.Close()
	if code, ncco := h.webhook("/voice/answer", answerWebhook("CALL-D", caller, ourNumber)); code != 200 || !strings.Contains(string(ncco), "cannot take your call") {
		t.Fatalf("app down: %d %s, want the fallback NCCO", code, ncco)
	}
}

func TestBadWebhooksAreRefusedAndPublishNothing(t *testing.T) {
	h := start(t)
	if _, err := h.sdk.NewSession().OnMessage(context.Background(), "/onMessage", sdk.Contact{Type: "sms"}, sdk.Contact{Type: "sms"}); err != nil {
		t.Fatal(err)
	}
	post := func(url string, body []byte) (int, map[string]string) {
		resp, err := http.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e map[string]string
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return resp.StatusCode, e
	}
	big := bytes.Repeat([]byte("x"), 1<<20+1)
	for _, tc := range []struct {
		name, url string
		body      []byte
		status    int
		code      string
	}{
		{"malformed JSON", h.gateway.URL + "/webhooks/" + appID + "/messages/inbound", []byte(`{"channel":`), 400, "bad_request"},
		{"missing fields", h.gateway.URL + "/webhooks/" + appID + "/messages/inbound", []byte(`{"channel":"sms"}`), 400, "bad_request"},
		{"unknown application", h.gateway.URL + "/webhooks/nobody/messages/inbound", inboundSMS(caller, ourNumber, "x"), 404, "unknown_application"},
		{"body over 1 MiB", h.gateway.URL + "/webhooks/" + appID + "/messages/inbound", big, 413, "too_large"},
		{"answer without uuid", h.gateway.URL + "/webhooks/" + appID + "/voice/answer", []byte(`{"to":"1"}`), 400, "bad_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, e := post(tc.url, tc.body)
			if status != tc.status || e["code"] != tc.code || e["message"] == "" {
				t.Fatalf("got %d %v, want %d with code %q and a message", status, e, tc.status, tc.code)
			}
		})
	}
	if n := h.streamMsgs(); n != 0 {
		t.Fatalf("bad webhooks published %d messages", n)
	}
}

func TestNATSDownIs503(t *testing.T) {
	h := start(t)
	if _, err := h.sdk.NewSession().OnMessage(context.Background(), "/onMessage", sdk.Contact{Type: "sms"}, sdk.Contact{Type: "sms"}); err != nil {
		t.Fatal(err)
	}
	h.nats.Shutdown()
	code, body := h.webhook("/messages/inbound", inboundSMS(caller, ourNumber, "x"))
	if code != http.StatusServiceUnavailable || !bytes.Contains(body, []byte(`"unavailable"`)) {
		t.Fatalf("got %d %s, want 503 unavailable so the provider retries", code, body)
	}
}
