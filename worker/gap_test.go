package worker

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
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
	ljs := &lossyJS{JetStream: js, dropID: "e1"}
	// Well under AckWait: the lost delivery must not wait for it.
	w, got := runWrapped(t, js, ljs, 4)
	if !ljs.lost.Load() {
		t.Fatal("the test lost no delivery")
	}
	if strings.Join(got, ",") != "e0,e1,e2,e3" {
		t.Fatalf("app got %v, want e0,e1,e2,e3 in order", got)
	}
	if w.Metrics().Gaps() == 0 {
		t.Fatal("no gap counted")
	}
}
