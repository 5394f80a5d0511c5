package worker

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/neru-dev/neru/delivery"
	"github.com/neru-dev/neru/instance"
	"github.com/neru-dev/neru/internal/httpx"
	"github.com/neru-dev/neru/internal/testenv"
)

// flakyJS is JetStream whose publishes go through publish, when set.
type flakyJS struct {
	jetstream.JetStream
	publish func(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error)
}

func (f *flakyJS) PublishMsg(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	if f.publish != nil {
		return f.publish(ctx, msg, opts...)
	}
	return f.JetStream.PublishMsg(ctx, msg, opts...)
}

func streams(t *testing.T) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(testenv.NATS(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := delivery.EnsureStreams(context.Background(), js, delivery.StreamConfig{}); err != nil {
		t.Fatal(err)
	}
	return js
}

// A dead delivery whose DLQ publish fails stays at the head of its lane
// until the DLQ stores it; the session's later events then follow, in order.
// (It used to drop the lane, stranding the events queued behind the head.)
func TestDeadHeadWaitsForTheDLQ(t *testing.T) {
	js := streams(t)
	rdb, ks := testenv.Redis(t)
	ctx := context.Background()

	var mu sync.Mutex
	var got []string
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		body := r.Header.Get("x-neru-delivery-id")
		if body == "d0" {
			w.WriteHeader(http.StatusBadRequest) // permanent: straight to the DLQ
			return
		}
		got = append(got, body)
	}))
	t.Cleanup(app.Close)
	instances := instance.NewStore(rdb, ks)
	if err := instances.Create(ctx, &instance.Instance{ID: "i1", BaseURL: app.URL, ApplicationID: "a1"}); err != nil {
		t.Fatal(err)
	}

	var dlqFailures atomic.Int32
	fjs := &flakyJS{JetStream: js}
	fjs.publish = func(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
		if strings.HasPrefix(msg.Subject, "neru.dlq.") && dlqFailures.Add(1) <= 3 {
			return nil, errors.New("dlq unavailable")
		}
		return js.PublishMsg(ctx, msg, opts...)
	}
	w, err := New(Config{ID: "w1", Partitions: 4, LeaseTTL: time.Second, DrainTime: time.Second, AppNetworks: httpx.Loopback,
		BackoffBase: 5 * time.Millisecond, BackoffMax: 20 * time.Millisecond}, fjs, rdb, ks, instances,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	for n := range 4 {
		d := &delivery.Delivery{ID: "d" + strconv.Itoa(n), InstanceID: "i1", SessionID: "s1", ListenerID: "l1", Path: "/on",
			Kind: "test", AcceptedAt: time.Now(), Body: []byte(`{}`)}
		if _, err := js.PublishMsg(ctx, d.Msg(4)); err != nil {
			t.Fatal(err)
		}
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	t.Cleanup(func() { cancel(); <-done })

	testenv.Eventually(t, 30*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == 3
	}, "the events behind a dead head that the DLQ refused at first were never delivered")
	mu.Lock()
	if strings.Join(got, ",") != "d1,d2,d3" {
		t.Fatalf("delivered %v, want d1,d2,d3 in order", got)
	}
	mu.Unlock()
	dlq, err := js.Stream(ctx, delivery.DLQStream)
	if err != nil {
		t.Fatal(err)
	}
	if info, err := dlq.Info(ctx); err != nil || info.State.Msgs != 1 {
		t.Fatalf("DLQ: %+v %v, want d0 once", info.State, err)
	}
	if _, _, dead := w.Metrics().Snapshot(); dead != 1 {
		t.Fatalf("dead %d, want 1", dead)
	}
}

// A worker whose rebalance loop stalls (a Redis call hanging, say) stops its
// partitions by itself before their leases can expire and pass on.
func TestStalledWorkerFencesItself(t *testing.T) {
	js := streams(t)
	_, ks := testenv.Redis(t)
	w := newTestWorker(t, "stalled", js, ks)
	o := newOwnership(w)
	t.Cleanup(o.releaseAll)
	claimed := time.Now()
	if err := o.rebalance(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(o.owned) != 8 {
		t.Fatalf("owns %d partitions, want all 8", len(o.owned))
	}
	// No further rebalance: the loop is stuck.
	testenv.Eventually(t, 10*time.Second, func() bool {
		for _, p := range o.owned {
			if !p.finished() {
				return false
			}
		}
		return true
	}, "partitions still running with nobody renewing their leases")
	if took := time.Since(claimed); took >= w.cfg.LeaseTTL {
		t.Fatalf("fenced after %s, not before the %s lease could expire", took, w.cfg.LeaseTTL)
	}
}

// ackDropJS is JetStream whose first acks of the message with delivery id
// dropID are lost on the way (the call fails, nothing reaches the server).
type ackDropJS struct {
	jetstream.JetStream
	dropID string
	drops  atomic.Int32 // acks still to lose
}

func (a *ackDropJS) CreateOrUpdateConsumer(ctx context.Context, stream string, cfg jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	c, err := a.JetStream.CreateOrUpdateConsumer(ctx, stream, cfg)
	if err != nil {
		return nil, err
	}
	return &ackDropConsumer{Consumer: c, js: a}, nil
}

type ackDropConsumer struct {
	jetstream.Consumer
	js *ackDropJS
}

func (c *ackDropConsumer) Consume(h jetstream.MessageHandler, opts ...jetstream.PullConsumeOpt) (jetstream.ConsumeContext, error) {
	return c.Consumer.Consume(func(m jetstream.Msg) { h(&ackDropMsg{Msg: m, js: c.js}) }, opts...)
}

type ackDropMsg struct {
	jetstream.Msg
	js *ackDropJS
}

var errAckLost = errors.New("test: ack lost")

func (m *ackDropMsg) lose() bool {
	return m.Headers().Get("Neru-Delivery-Id") == m.js.dropID && m.js.drops.Add(-1) >= 0
}

func (m *ackDropMsg) Ack() error {
	if m.lose() {
		return errAckLost
	}
	return m.Msg.Ack()
}

func (m *ackDropMsg) DoubleAck(ctx context.Context) error {
	if m.lose() {
		return errAckLost
	}
	return m.Msg.DoubleAck(ctx)
}

// An ack that does not reach JetStream is retried before the lane moves on:
// otherwise the event stays unacked, is redelivered only after AckWait (5
// minutes), and then reaches the app after the session's later events.
func TestLostAckIsRetriedBeforeTheNextEvent(t *testing.T) {
	js := streams(t)
	ajs := &ackDropJS{JetStream: js, dropID: "e0"}
	ajs.drops.Store(2)
	_, got := runWrapped(t, js, ajs, 3)
	if strings.Join(got, ",") != "e0,e1,e2" {
		t.Fatalf("app got %v, want e0,e1,e2 once each, in order", got)
	}
	if ajs.drops.Load() >= 0 {
		t.Fatal("the test lost no ack")
	}
}
