package e2e

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/neru-dev/neru/internal/observe"
	"github.com/neru-dev/neru/internal/testenv"
	"github.com/neru-dev/neru/platform"
	"github.com/neru-dev/neru/sdk"
)

// recorder is an Observer that keeps what it was told.
type recorder struct {
	mu       sync.Mutex
	webhooks []observe.Webhook
	attempts []observe.Attempt
}

func (r *recorder) Webhook(_ context.Context, w observe.Webhook) {
	r.mu.Lock()
	r.webhooks = append(r.webhooks, w)
	r.mu.Unlock()
}

func (r *recorder) Attempt(_ context.Context, a observe.Attempt) {
	r.mu.Lock()
	r.attempts = append(r.attempts, a)
	r.mu.Unlock()
}

func (r *recorder) snapshot() ([]observe.Webhook, []observe.Attempt) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]observe.Webhook(nil), r.webhooks...), append([]observe.Attempt(nil), r.attempts...)
}

// The platform's observers hear of each webhook with the listeners it
// matched, and of each delivery attempt with its outcome: a retry, a
// delivery, a refusal (permanent 4xx, to the DLQ at once) and an unmatched
// or unknown-application webhook.
func TestObserversSeeWebhooksAndAttempts(t *testing.T) {
	h := start(t, func(c *platform.Config) { c.Worker.MaxAttempts = 3 })
	rec := &recorder{}
	h.p.Observers.Add(rec)
	ctx := context.Background()
	s := h.sdk.NewSession()
	if _, err := s.OnMessage(ctx, "/onMessage", sdk.Contact{Type: "sms", Number: "447700907000"}, sdk.Contact{Type: "sms"}); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int64
	h.app.handle("/onMessage", func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			w.WriteHeader(http.StatusServiceUnavailable) // retried
		case 3:
			w.WriteHeader(http.StatusBadRequest) // refused: permanent
		default:
			w.WriteHeader(http.StatusAccepted)
		}
	})
	h.startWorker()
	if code, body := h.webhook("/messages/inbound", inboundSMS("447700907000", ourNumber, "one")); code != 200 {
		t.Fatalf("webhook: %d %s", code, body)
	}
	testenv.Eventually(t, 30*time.Second, func() bool { _, a := rec.snapshot(); return len(a) == 2 }, "2 attempts")
	if code, _ := h.webhook("/messages/inbound", inboundSMS("447700907000", ourNumber, "two")); code != 200 {
		t.Fatalf("webhook two: %d", code)
	}
	testenv.Eventually(t, 30*time.Second, func() bool { _, a := rec.snapshot(); return len(a) == 3 }, "3 attempts")
	h.webhook("/messages/inbound", inboundSMS("447700907999", ourNumber, "nobody"))
	resp, err := http.Post(h.gateway.URL+"/webhooks/no-such-app/messages/inbound", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	testenv.Eventually(t, 10*time.Second, func() bool { w, _ := rec.snapshot(); return len(w) == 4 }, "4 webhooks")
	ws, as := rec.snapshot()
	w := ws[0]
	if w.Instance != "e2e" || w.Route != "messages/inbound" || w.Kind == "" || w.Outcome != observe.Routed || w.Status != 200 ||
		len(w.Matched) != 1 || w.Matched[0].Session != s.ID || w.Matched[0].Path != "/onMessage" || w.Duration <= 0 {
		t.Fatalf("routed webhook: %+v", w)
	}
	if w := ws[2]; w.Outcome != observe.Unmatched || len(w.Matched) != 0 || w.Status != 200 {
		t.Fatalf("unmatched webhook: %+v", w)
	}
	if w := ws[3]; w.Outcome != observe.Unknown || w.Status != 404 || w.Instance != "" {
		t.Fatalf("unknown application: %+v", w)
	}
	want := []struct {
		outcome         string
		attempt, status int
	}{{observe.Retried, 1, 503}, {observe.Delivered, 2, 202}, {observe.Refused, 1, 400}}
	for i, x := range want {
		a := as[i]
		if a.Outcome != x.outcome || a.Attempt != x.attempt || a.Status != x.status || a.Session != s.ID ||
			a.Instance != "e2e" || a.Path != "/onMessage" || a.Delivery == "" || a.Accepted.IsZero() || a.Duration <= 0 {
			t.Fatalf("attempt %d: %+v, want %+v", i, a, x)
		}
		if (x.outcome == observe.Delivered) != (a.Err == "") {
			t.Fatalf("attempt %d: error %q", i, a.Err)
		}
	}
}
