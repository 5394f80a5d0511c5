package delivery

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/neru-dev/neru/internal/telemetry"
)

// ErrUnavailable means JetStream did not confirm a publish: the caller must
// not report success (a webhook is not acknowledged, so the provider
// retries; a schedule stays claimed and fires again).
var ErrUnavailable = errors.New("event bus unavailable")

// AsyncPublisher is the slice of jetstream.JetStream a Publisher uses.
// PublishMsgAsync must be safe for concurrent use; the returned future
// resolves once the stream stored (or refused) the message.
type AsyncPublisher interface {
	PublishMsgAsync(msg *nats.Msg, opts ...jetstream.PublishOpt) (jetstream.PubAckFuture, error)
}

// Publisher stores deliveries in NERU_EVENTS. It owns the partition count:
// every publisher and every worker of a platform must use the same one.
// Safe for concurrent use.
type Publisher struct {
	js         AsyncPublisher
	partitions int
}

// NewPublisher returns a publisher onto partitions partitions (1-4096).
func NewPublisher(js AsyncPublisher, partitions int) (*Publisher, error) {
	if partitions < 1 || partitions > 4096 {
		return nil, fmt.Errorf("delivery: partitions must be 1-4096, not %d", partitions)
	}
	return &Publisher{js: js, partitions: partitions}, nil
}

// Partitions is the number of partitions deliveries are spread over.
func (p *Publisher) Partitions() int { return p.partitions }

// Publish stores every delivery and returns once all are acknowledged, or
// an error wrapping ErrUnavailable if any is not.
func (p *Publisher) Publish(ctx context.Context, ds []*Delivery) error {
	for _, err := range p.PublishEach(ctx, ds) {
		if err != nil {
			return err
		}
	}
	return nil
}

// PublishEach stores every delivery and returns, per delivery, nil once
// JetStream acknowledged it or an error wrapping ErrUnavailable. All are
// sent before any ack is awaited.
//
// It is one producer span ("publish NERU_EVENTS", a child of ctx's span:
// the webhook's, for the router), and every message carries that span's
// context in its traceparent and tracestate headers, so each delivery
// attempt continues the trace. With no span context in ctx the messages
// carry what their Delivery had.
func (p *Publisher) PublishEach(ctx context.Context, ds []*Delivery) []error {
	ctx, span := tracer.Start(ctx, publishSpanName, producerSpan...)
	defer span.End()
	msgs := make([]*nats.Msg, len(ds))
	for i, d := range ds {
		msgs[i] = d.Msg(p.partitions)
		telemetry.InjectMsg(ctx, msgs[i].Header)
	}
	errs := p.publish(ctx, msgs)
	if span.IsRecording() {
		endPublishSpan(span, EventsStream, ds, errs)
	}
	return errs
}

// publish sends msgs, then waits for every ack.
func (p *Publisher) publish(ctx context.Context, msgs []*nats.Msg) []error {
	errs := make([]error, len(msgs))
	futures := make([]jetstream.PubAckFuture, len(msgs))
	for i, m := range msgs {
		f, err := p.js.PublishMsgAsync(m)
		if err != nil {
			errs[i] = fmt.Errorf("%w: publish: %v", ErrUnavailable, err)
			continue
		}
		futures[i] = f
	}
	for i, f := range futures {
		if f == nil {
			continue
		}
		select {
		case <-f.Ok():
		case err := <-f.Err():
			errs[i] = fmt.Errorf("%w: %v", ErrUnavailable, err)
		case <-ctx.Done():
			errs[i] = fmt.Errorf("%w: %v", ErrUnavailable, ctx.Err())
		}
	}
	return errs
}
