package e2e

import (
	"bytes"
	"context"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/neru-dev/neru/cmd/neru/cli"
	"github.com/neru-dev/neru/internal/testenv"
	"github.com/neru-dev/neru/platform"
	"github.com/neru-dev/neru/sdk"
	"github.com/neru-dev/neru/tail"
)

// syncBuffer is an output that a command writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// neru tail shows the webhook (kind, matched listeners), the failed first
// attempt (503, retried) and the delivered second one, with session, route,
// status, latency and attempt; --session filters; and after the last
// allowed attempt fails, the move to the DLQ.
func TestTailShowsDeliveriesAndRetries(t *testing.T) {
	h := start(t, func(c *platform.Config) { c.Worker.MaxAttempts = 2 })
	ctx := context.Background()
	s := h.sdk.NewSession()
	if _, err := s.OnMessage(ctx, "/onMessage", sdk.Contact{Type: "sms", Number: "447700901234"}, sdk.Contact{Type: "sms"}); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	var failAll atomic.Bool
	h.app.handle("/onMessage", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 || failAll.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	h.startWorker()

	follow := func(f tail.Filter) *syncBuffer {
		t.Helper()
		out := &syncBuffer{}
		tctx, cancel := context.WithCancel(ctx)
		ready, done := make(chan struct{}), make(chan error, 1)
		go func() { done <- cli.Tail(tctx, h.gateway.URL, f, false, func() { close(ready) }, out) }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("neru tail: %v", err)
			}
		})
		select {
		case <-ready:
		case err := <-done:
			t.Fatalf("neru tail ended: %v", err)
		case <-time.After(10 * time.Second):
			t.Fatal("neru tail never ready")
		}
		return out
	}
	all := follow(tail.Filter{})
	mine := follow(tail.Filter{Instance: "e2e", Session: s.ID})
	other := follow(tail.Filter{Instance: "e2e", Session: "someone-else"})

	h.webhook("/messages/inbound", inboundSMS("447700901234", ourNumber, "hello"))
	lines := []*regexp.Regexp{
		regexp.MustCompile(`e2e webhook messages\.inbound matched 1 listener: routed`),
		regexp.MustCompile(`e2e attempt /onMessage session=` + regexp.QuoteMeta(s.ID) + ` 503 [0-9.]+ ms attempt 1: retried \(app answered 503\)`),
		regexp.MustCompile(`e2e attempt /onMessage session=` + regexp.QuoteMeta(s.ID) + ` 200 [0-9.]+ ms attempt 2: delivered`),
	}
	testenv.Eventually(t, 30*time.Second, func() bool {
		for _, re := range lines {
			if !re.MatchString(all.String()) || !re.MatchString(mine.String()) {
				return false
			}
		}
		return true
	}, "neru tail never showed the webhook, the retry and the delivery")
	if strings.Contains(all.String(), "\x1b[") {
		t.Fatalf("colour on a non-terminal:\n%s", all)
	}

	failAll.Store(true)
	h.webhook("/messages/inbound", inboundSMS("447700901234", ourNumber, "again"))
	dead := regexp.MustCompile(`attempt /onMessage session=` + regexp.QuoteMeta(s.ID) + ` 503 [0-9.]+ ms attempt 2: dead, moved to the DLQ`)
	testenv.Eventually(t, 30*time.Second, func() bool { return dead.MatchString(mine.String()) }, "neru tail never showed the DLQ move:\n%s", mine)
	if o := other.String(); strings.Contains(o, "attempt") {
		t.Fatalf("another session's filter saw:\n%s", o)
	}
}
