package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/neru-dev/neru/delivery"
	"github.com/neru-dev/neru/internal/testenv"
	"github.com/neru-dev/neru/listener"
	"github.com/neru-dev/neru/platform"
	"github.com/neru-dev/neru/router"
	"github.com/neru-dev/neru/sdk"
)

// 100 sessions × 200 events through two workers, while the app fails 5% of
// requests at random and a few sessions fail persistently, and one worker is
// stopped and another started mid-run. Nothing may be lost, no session may
// see its events out of order, and the healthy sessions must finish while the
// failing ones are still stuck. Order is judged by the first arrival of each
// delivery id, twice: first attempts, and first acceptances (a request the
// app failed was not processed, so the order the app processed events in is
// that of the first 2xx); later repeats are at-least-once and allowed.
func TestPerSessionFIFOUnderFailuresAndRestarts(t *testing.T) {
	const (
		sessions   = 100
		perSession = 200
		stuck      = 5 // sessions 0..4 fail every request until the gate opens
		total      = sessions * perSession
		healthy    = (sessions - stuck) * perSession
	)
	h := start(t, func(c *platform.Config) {
		c.Worker.MaxAttempts = 1 << 30 // retry forever: nothing may reach the DLQ
		c.Worker.BackoffBase, c.Worker.BackoffMax = 5*time.Millisecond, 400*time.Millisecond
		c.Worker.DrainTime = time.Second
	})
	ctx := context.Background()

	// One listener per session, registered through the SDK.
	ls := make([]*listener.Listener, sessions)
	for i := range sessions {
		s := h.sdk.NewSession()
		from := fmt.Sprintf("4477009300%02d", i)
		if _, err := s.OnMessage(ctx, "/onMessage", sdk.Contact{Type: "sms", Number: from}, sdk.Contact{Type: "sms"}); err != nil {
			t.Fatal(err)
		}
		got, err := h.p.Listeners.List(ctx, h.inst.ID, s.ID)
		if err != nil || len(got) != 1 {
			t.Fatalf("session %d: %d listeners, %v", i, len(got), err)
		}
		ls[i] = got[0]
	}
	type pos struct{ session, seq int }
	events := map[string]pos{} // delivery id → which event it is
	for i := range sessions {
		for n := range perSession {
			events[delivery.ID(eventID(i, n), ls[i].ID)] = pos{i, n}
		}
	}

	// The app: records the first arrival of every delivery per session, and
	// which deliveries it accepted.
	var (
		mu        sync.Mutex
		arrivals  = make([][]int, sessions) // per session, seqs in first-attempt order
		processed = make([][]int, sessions) // per session, seqs in first-acceptance order
		seen      = map[string]bool{}
		accepted  = map[string]bool{}
		requests  int
		gateOpen  bool
		perHealth int // accepted deliveries of healthy sessions
	)
	h.app.handle("/onMessage", func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("x-neru-delivery-id")
		p, ok := events[id]
		mu.Lock()
		defer mu.Unlock()
		requests++
		if !ok {
			t.Errorf("unknown delivery %s", id)
			return
		}
		if !seen[id] {
			seen[id] = true
			arrivals[p.session] = append(arrivals[p.session], p.seq)
		}
		if (p.session < stuck && !gateOpen) || rand.Float64() < 0.05 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if !accepted[id] {
			processed[p.session] = append(processed[p.session], p.seq)
			if p.session >= stuck {
				perHealth++
			}
		}
		accepted[id] = true
	})
	delivered := func() (all, healthy int) {
		mu.Lock()
		defer mu.Unlock()
		return len(accepted), perHealth
	}

	h.startWorker()
	stop2 := h.startWorker()

	// The gateway's router publishes, round by round, so each session's
	// events enter the stream in order while the workers consume.
	rt := router.New(h.p.Listeners, h.p.Sessions, h.p.Events)
	published := make(chan error, 1)
	go func() {
		for n := range perSession {
			var ds []*delivery.Delivery
			for i := range sessions {
				ev := &router.Event{Kind: "messages.inbound", ID: eventID(i, n), Body: fmt.Appendf(nil, `{"session":%d,"seq":%d}`, i, n)}
				ds = append(ds, router.Deliveries(h.inst.ID, ev, ls[i:i+1], time.Now())...)
			}
			if err := rt.Publish(ctx, ds); err != nil {
				published <- err
				return
			}
		}
		published <- nil
	}()

	began := time.Now()
	testenv.Eventually(t, 120*time.Second, func() bool { a, _ := delivered(); return a >= total*3/10 }, "30%% delivered")
	t.Logf("30%% after %s", time.Since(began))
	stop2() // graceful: drains its lanes, hands its partitions over
	t.Logf("stopped after %s", time.Since(began))
	testenv.Eventually(t, 120*time.Second, func() bool { a, _ := delivered(); return a >= total*6/10 }, "60%% delivered after the stop")
	t.Logf("60%% after %s", time.Since(began))
	h.startWorker()
	if err := <-published; err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 180*time.Second, func() bool { _, hl := delivered(); return hl == healthy },
		"the %d healthy sessions did not finish while %d sessions were failing", sessions-stuck, stuck)
	healthyDone := time.Since(began)
	t.Logf("healthy after %s", healthyDone)
	mu.Lock()
	for i := range stuck {
		for n := range perSession {
			if accepted[delivery.ID(eventID(i, n), ls[i].ID)] {
				t.Errorf("stuck session %d had event %d accepted while its gate was closed", i, n)
			}
		}
	}
	gateOpen = true
	mu.Unlock()
	testenv.Eventually(t, 180*time.Second, func() bool { a, _ := delivered(); return a == total }, "every event delivered")

	mu.Lock()
	defer mu.Unlock()
	for what, order := range map[string][][]int{"attempted": arrivals, "accepted": processed} {
		for i, seqs := range order {
			if len(seqs) != perSession {
				t.Fatalf("session %d: %d distinct events %s, want %d", i, len(seqs), what, perSession)
			}
			for k, n := range seqs {
				if n != k {
					t.Fatalf("session %d: event %d first %s in position %d (%v...)", i, n, what, k, seqs[:k+1])
				}
			}
		}
	}
	testenv.Eventually(t, 30*time.Second, func() bool { return h.streamMsgs() == 0 }, "acked deliveries still in the stream")
	dlq, err := h.p.JS.Stream(ctx, delivery.DLQStream)
	if err != nil {
		t.Fatal(err)
	}
	if info, err := dlq.Info(ctx); err != nil || info.State.Msgs != 0 {
		t.Fatalf("DLQ holds %d messages (%v), want none", info.State.Msgs, err)
	}
	t.Logf("%d events, %d app requests (%.1f%% retries and repeats); healthy sessions done after %s, all after %s",
		total, requests, 100*float64(requests-total)/float64(total), healthyDone.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
}

func eventID(session, seq int) string { return fmt.Sprintf("fifo-%03d-%03d", session, seq) }
