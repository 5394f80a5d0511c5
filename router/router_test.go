package router_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/neru-dev/neru/delivery"
	"github.com/neru-dev/neru/internal/testenv"
	"github.com/neru-dev/neru/listener"
	"github.com/neru-dev/neru/router"
	"github.com/neru-dev/neru/session"
)

// TestMain stops the redis-server testenv may start (when REDIS_URL is unset).
func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

type env struct {
	t         *testing.T
	r         *router.Router
	js        jetstream.JetStream
	listeners *listener.Store
	sessions  *session.Store
}

// newEnv is a router on real Redis (a key prefix of its own) and an
// embedded NATS with the platform's streams.
func newEnv(t *testing.T) *env {
	t.Helper()
	rdb, ks := testenv.Redis(t)
	js, err := jetstream.New(testenv.NATS(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := delivery.EnsureStreams(context.Background(), js, delivery.StreamConfig{Replicas: 1}); err != nil {
		t.Fatal(err)
	}
	pub, err := delivery.NewPublisher(js, 4)
	if err != nil {
		t.Fatal(err)
	}
	ls := listener.NewStore(rdb, ks)
	ss := session.NewStore(rdb, ks, time.Hour, session.WithRemover("listeners", ls))
	return &env{t: t, r: router.New(ls, ss, pub), js: js, listeners: ls, sessions: ss}
}

// add registers a listener on key in session sess (created for ttl).
func (e *env) add(id, sess, key string, ttl time.Duration, filters ...listener.Filter) *listener.Listener {
	e.t.Helper()
	ctx := context.Background()
	if _, err := e.sessions.Create(ctx, "i1", sess, ttl); err != nil {
		e.t.Fatal(err)
	}
	l := listener.New("i1", "test", "act", key, listener.Callback{ID: id, SessionID: sess, Path: "/on/" + id, Filters: filters})
	if err := e.listeners.Add(ctx, l); err != nil {
		e.t.Fatal(err)
	}
	return l
}

// stored is how many deliveries NERU_EVENTS holds.
func (e *env) stored() uint64 {
	e.t.Helper()
	st, err := e.js.Stream(context.Background(), delivery.EventsStream)
	if err != nil {
		e.t.Fatal(err)
	}
	info, err := st.Info(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return info.State.Msgs
}

func ids(ls []*listener.Listener) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.ID
	}
	return out
}

func event(id string, keys ...string) *router.Event {
	return &router.Event{Kind: "test.event", ID: id, Keys: keys, Body: []byte(`{"text":"hello","to":"447700900000"}`)}
}

func TestMatchByKeyAndFilter(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	hello, bye := "hello", "bye"
	e.add("exact", "s1", "k|447700900000", time.Hour)
	e.add("wild", "s2", "k|*", time.Hour)
	e.add("other", "s3", "k|447700900999", time.Hour)
	e.add("filtered-in", "s4", "k|*", time.Hour, listener.Filter{Path: "text", Op: "contains", Values: []*string{&hello}})
	e.add("filtered-out", "s5", "k|*", time.Hour, listener.Filter{Path: "text", Op: "contains", Values: []*string{&bye}})

	ls, err := e.r.Match(ctx, "i1", event("e1", "k|447700900000", "k|*"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, id := range ids(ls) {
		got[id] = true
	}
	if len(got) != 3 || !got["exact"] || !got["wild"] || !got["filtered-in"] {
		t.Fatalf("matched %v, want exact, wild and filtered-in", ids(ls))
	}
	if ls, err := e.r.Match(ctx, "other-instance", event("e1", "k|447700900000", "k|*")); err != nil || len(ls) != 0 {
		t.Fatalf("another instance matched %v, %v", ids(ls), err)
	}
}

func TestExpiredSessionNeverMatches(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.add("live", "s-live", "k|*", time.Hour)
	e.add("dying", "s-dying", "k|*", 200*time.Millisecond)
	testenv.Eventually(t, 10*time.Second, func() bool {
		ls, err := e.r.Match(ctx, "i1", event("e1", "k|*"))
		return err == nil && len(ls) == 1 && ls[0].ID == "live"
	}, "the listener of the expired session still matches")
}

func TestRouteStoresOneDeliveryPerListenerOnce(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.add("a", "s1", "k|*", time.Hour)
	e.add("b", "s2", "k|*", time.Hour)
	for range 2 { // a provider retry carries the same event id
		n, err := e.r.Route(ctx, "i1", event("e1", "k|*"))
		if err != nil || n != 2 {
			t.Fatalf("Route = %d, %v; want 2 deliveries", n, err)
		}
	}
	if got := e.stored(); got != 2 {
		t.Fatalf("stream holds %d deliveries, want 2 (the retry deduplicated)", got)
	}
	if n, err := e.r.Route(ctx, "i1", event("e2", "nobody|*")); err != nil || n != 0 {
		t.Fatalf("Route without listeners = %d, %v", n, err)
	}
}

// The answer policy: the newest matching listener answers synchronously;
// for an input result the older ones get the event through the stream.
func TestAnswerPolicy(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.add("first", "s1", "k|*", time.Hour)
	e.add("second", "s2", "k|*", time.Hour)
	newest := e.add("third", "s3", "k|*", time.Hour)

	l, err := e.r.Answerer(ctx, "i1", event("call", "k|*"))
	if err != nil || l == nil || l.ID != newest.ID {
		t.Fatalf("Answerer = %v, %v; want the newest listener %q", l, err, newest.ID)
	}
	if got := e.stored(); got != 0 {
		t.Fatalf("Answerer published %d deliveries; the older answer listeners get nothing", got)
	}

	in := event("speech", "k|*")
	l, err = e.r.RouteInput(ctx, "i1", in)
	if err != nil || l == nil || l.ID != newest.ID {
		t.Fatalf("RouteInput = %v, %v; want the newest listener %q", l, err, newest.ID)
	}
	if got := e.stored(); got != 2 {
		t.Fatalf("RouteInput stored %d deliveries, want 2 (every listener but the newest)", got)
	}
	if err := e.r.Handoff(ctx, "i1", in, l); err != nil {
		t.Fatal(err)
	}
	if got := e.stored(); got != 3 {
		t.Fatalf("after Handoff the stream holds %d deliveries, want 3", got)
	}

	if l, err := e.r.Answerer(ctx, "i1", event("call2", "nobody|*")); err != nil || l != nil {
		t.Fatalf("Answerer without listeners = %v, %v; want nil", l, err)
	}
	if l, err := e.r.RouteInput(ctx, "i1", event("speech2", "nobody|*")); err != nil || l != nil {
		t.Fatalf("RouteInput without listeners = %v, %v; want nil", l, err)
	}
}
