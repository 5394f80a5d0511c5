package tail_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/neru-dev/neru/internal/observe"
	"github.com/neru-dev/neru/internal/testenv"
	"github.com/neru-dev/neru/tail"
)

// TestStream: a publisher sends nothing while nobody watches, and once a
// watcher is ready it gets the events its filter selects, from another
// connection (as from another process).
func TestStream(t *testing.T) {
	t.Parallel()
	srv := testenv.NATSServer(t)
	pubConn, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pubConn.Close)
	watchConn, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(watchConn.Close)

	p, err := tail.NewPublisher(pubConn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := pubConn.Flush(); err != nil {
		t.Fatal(err)
	}
	if p.Watched() {
		t.Fatal("watched before anybody watches")
	}
	// Unwatched: nothing reaches the wire.
	spy, err := watchConn.SubscribeSync("neru.tail.ev.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := watchConn.Flush(); err != nil {
		t.Fatal(err)
	}
	// Had it been sent, it would be the spy's first message: NATS keeps
	// one connection's order.
	p.Publish(tail.Event{Type: tail.Webhook, Instance: "a", EventID: "unwatched"})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan struct{})
	got := make(chan tail.Event, 10)
	done := make(chan error, 1)
	go func() {
		done <- tail.NewWatcher(watchConn).Watch(ctx, tail.Filter{Instance: "a", Session: "s1"},
			func() { close(ready) }, func(ev tail.Event) { got <- ev })
	}()
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("watcher never ready")
	}
	if !p.Watched() {
		t.Fatal("publisher did not hear the watcher")
	}
	p.Publish(tail.Event{Type: tail.Attempt, Instance: "b", Session: "s1"}) // other instance
	p.Publish(tail.Event{Type: tail.Attempt, Instance: "a", Session: "s2"}) // other session
	p.Publish(tail.Event{Type: tail.Attempt, Instance: "a", Session: "s1", Route: "/onMessage", Status: 200, Outcome: "delivered"})
	// A webhook that matched listeners of several sessions shows under
	// each session's filter, one of them s1.
	p.Webhook(ctx, observe.Webhook{Instance: "a", Kind: "messages.inbound", EventID: "multi", Outcome: observe.Routed,
		Matched: []observe.Target{{Session: "s0", Listener: "l0"}, {Session: "s1", Listener: "l1"}}, Start: time.Now()})
	p.Webhook(ctx, observe.Webhook{Instance: "a", Kind: "messages.inbound", EventID: "others", Outcome: observe.Routed,
		Matched: []observe.Target{{Session: "s0", Listener: "l0"}, {Session: "s2", Listener: "l2"}}, Start: time.Now()})
	// Last, a sentinel the filter selects: one connection's messages keep
	// their order, so an "others" that came through would arrive before it.
	p.Publish(tail.Event{Type: tail.Attempt, Instance: "a", Session: "s1", Route: "/sentinel", Outcome: "delivered"})
	for _, want := range []string{"attempt", "multi", "sentinel"} {
		select {
		case ev := <-got:
			switch {
			case want == "attempt" && (ev.Instance != "a" || ev.Session != "s1" || ev.Route != "/onMessage" || ev.Status != 200 || ev.At.IsZero()):
				t.Fatalf("got %+v, want the attempt", ev)
			case want == "multi" && (ev.EventID != "multi" || ev.Session != "" || !slices.Equal(ev.Sessions, []string{"s0", "s1"}) || len(ev.Deliveries) != 2):
				t.Fatalf("got %+v, want the webhook of sessions s0 and s1", ev)
			case want == "sentinel" && ev.Route != "/sentinel":
				t.Fatalf("filtered event came through: %+v", ev)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s event", want)
		}
	}
	m, err := spy.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(m.Data), "unwatched") {
		t.Fatalf("an unwatched publisher sent %s", m.Data)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
