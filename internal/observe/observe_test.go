package observe_test

import (
	"context"
	"sync"
	"testing"

	"github.com/neru-dev/neru/internal/observe"
)

type counter struct {
	mu       sync.Mutex
	webhooks []string
	attempts []string
}

func (c *counter) Webhook(_ context.Context, w observe.Webhook) {
	c.mu.Lock()
	c.webhooks = append(c.webhooks, w.Outcome)
	c.mu.Unlock()
}

func (c *counter) Attempt(_ context.Context, a observe.Attempt) {
	c.mu.Lock()
	c.attempts = append(c.attempts, a.Outcome)
	c.mu.Unlock()
}

// Every observer gets every event, including observers added while events
// flow; a nil Fanout and Discard drop them.
func TestFanout(t *testing.T) {
	var nilFanout *observe.Fanout
	nilFanout.Webhook(context.Background(), observe.Webhook{})
	observe.Discard.Attempt(context.Background(), observe.Attempt{})

	f := &observe.Fanout{}
	f.Webhook(context.Background(), observe.Webhook{Outcome: "before"}) // nobody yet
	a, b := &counter{}, &counter{}
	f.Add(a)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				f.Attempt(context.Background(), observe.Attempt{Outcome: observe.Delivered})
			}
		})
	}
	wg.Go(func() { f.Add(b) })
	wg.Wait()
	f.Webhook(context.Background(), observe.Webhook{Outcome: observe.Routed})
	if len(a.attempts) != 800 || len(a.webhooks) != 1 || a.webhooks[0] != observe.Routed {
		t.Fatalf("first observer: %d attempts, webhooks %v", len(a.attempts), a.webhooks)
	}
	if len(b.webhooks) != 1 || len(b.attempts) > 800 {
		t.Fatalf("second observer: %d attempts, webhooks %v", len(b.attempts), b.webhooks)
	}
}

// Calling a hook through the Fanout does not allocate: it is on the hot path.
func TestFanoutDoesNotAllocate(t *testing.T) {
	f := &observe.Fanout{}
	f.Add(observe.Discard)
	w := observe.Webhook{Instance: "i", Route: "messages/inbound", Outcome: observe.Routed}
	if n := testing.AllocsPerRun(100, func() { f.Webhook(context.Background(), w) }); n != 0 {
		t.Fatalf("%v allocations per webhook", n)
	}
}
