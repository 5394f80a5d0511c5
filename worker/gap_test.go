package worker

import (
	"context"
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

	"github.com/nats-io/nats.go/jetstream"

	"github.com/neru-dev/neru/delivery"
	"github.com/neru-dev/neru/instance"
	"github.com/neru-dev/neru/internal/httpx"
	"github.com/neru-dev/neru/internal/testenv"
)

// lossyJS is JetStream whose consumers lose the first delivery of the
// message with delivery id dropID on its way to the worker: the server
// counts it delivered, the worker never sees it. That is what a NATS node
// dying with the delivery in flight does (the cluster test's leader kill).
type lossyJS struct {
	jetstream.JetStream
	dropID string
	lost   atomic.Bool
}

func (l *lossyJS) CreateOrUpdateConsumer(ctx context.Context, stream string, cfg jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	c, err := l.JetStream.CreateOrUpdateConsumer(ctx, stream, cfg)
	if err != nil {
		return nil, err
	}
	return &lossyConsumer{Consumer: c, js: l}, nil
}

type lossyConsumer struct {
	jetstream.Consumer
	js *lossyJS
}

func (c *lossyConsumer) Consume(h jetstream.MessageHandler, opts ...jetstream.PullConsumeOpt) (jetstream.ConsumeContext, error) {
	return c.Consumer.Consume(func(m jetstream.Msg) {
		if m.Headers().Get("Neru-Delivery-Id") == c.js.dropID && c.js.lost.CompareAndSwap(false, true) {
			return
		}
		h(m)
	}, opts...)
}

// A delivery lost between JetStream and the worker comes back at once, ahead
// of its session's later events: the server would send it again only after
// AckWait (5 minutes), and meanwhile e2 would reach the app before e1 (the
// cluster test's "seq 24 never delivered, 25 onwards were").
func TestDeliveryLostInTransitComesFirst(t *testing.T) {
	js := streams(t)
	rdb, ks := testenv.Redis(t)
	ctx := context.Background()

	var mu sync.Mutex
	var got []string
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, r.Header.Get("x-neru-delivery-id"))
	}))
	t.Cleanup(app.Close)
	instances := instance.NewStore(rdb, ks)
	if err := instances.Create(ctx, &instance.Instance{ID: "i1", BaseURL: app.URL, ApplicationID: "a1"}); err != nil {
		t.Fatal(err)
	}
	ljs := &lossyJS{JetStream: js, dropID: "e1"}
	w, err := New(Config{ID: "w1", Partitions: 2, LeaseTTL: time.Second, DrainTime: time.Second, AppNetworks: httpx.Loopback},
		ljs, rdb, ks, instances, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	for n := range 4 {
		d := &delivery.Delivery{ID: "e" + strconv.Itoa(n), InstanceID: "i1", SessionID: "s1", ListenerID: "l1", Path: "/on",
			Kind: "test", AcceptedAt: time.Now(), Body: []byte(`{}`)}
		if _, err := js.PublishMsg(ctx, d.Msg(2)); err != nil {
			t.Fatal(err)
		}
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	t.Cleanup(func() { cancel(); <-done })

	events, err := js.Stream(ctx, delivery.EventsStream)
	if err != nil {
		t.Fatal(err)
	}
	// Well under AckWait: the lost delivery must not wait for it.
	testenv.Eventually(t, 30*time.Second, func() bool {
		info, err := events.Info(ctx)
		return err == nil && info.State.Msgs == 0
	}, "a delivery lost in transit stays unacked in the stream")
	if !ljs.lost.Load() {
		t.Fatal("the test lost no delivery")
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(got, ",") != "e0,e1,e2,e3" {
		t.Fatalf("app got %v, want e0,e1,e2,e3 in order", got)
	}
	if w.Metrics().Gaps() == 0 {
		t.Fatal("no gap counted")
	}
}
