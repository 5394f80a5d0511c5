package delivery

import (
	"context"
	"slices"
	"strconv"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/neru-dev/neru/internal/telemetry"
)

// tracer delegates to otel's global tracer provider: a no-op unless the
// composition root set one up (telemetry.StartTracing).
var tracer = otel.Tracer("github.com/neru-dev/neru/delivery")

const (
	publishSpanName = "publish " + EventsStream
	replaySpanName  = "replay " + DLQStream
)

// producerSpan is the start option of publish spans, made once (a variadic
// option built per call is allocated on every publish).
var producerSpan = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindProducer)}

// endPublishSpan records what a publish sent and whether JetStream stored
// it all. Only called on a recording span.
func endPublishSpan(span trace.Span, stream string, ds []*Delivery, errs []error) {
	span.SetAttributes(
		semconv.MessagingSystemKey.String("nats"),
		semconv.MessagingOperationTypeSend,
		semconv.MessagingDestinationName(stream),
		semconv.MessagingBatchMessageCount(len(ds)),
	)
	if len(ds) > 0 {
		span.SetAttributes(attribute.String("neru.instance.id", ds[0].InstanceID))
	}
	failed := 0
	var first error
	for _, err := range errs {
		if err != nil {
			if failed++; first == nil {
				first = err
			}
		}
	}
	if failed > 0 {
		span.SetStatus(codes.Error, strconv.Itoa(failed)+" of "+strconv.Itoa(len(ds))+" not stored: "+first.Error())
	}
}

// startReplaySpan starts the span of a DLQ replay, whose message is m.
//
// A replay starts a new trace (or continues the caller's, an operator's
// request): its attempts belong to the replay, an operator's act, not to a
// webhook that may be days old. The original trace, which m still names
// (DeadMsg kept it), is linked, so one leads to the other. The caller
// injects the new span's context into m, replacing the original; with
// tracing off no span context is made and m keeps the original traceparent,
// so a trace id the provider sent still reaches the app.
func startReplaySpan(ctx context.Context, m *nats.Msg, d *Dead) (context.Context, trace.Span) {
	opts := producerSpan
	if orig := trace.SpanContextFromContext(telemetry.ExtractMsg(context.Background(), m.Header)); orig.IsValid() {
		opts = append(slices.Clip(producerSpan), trace.WithLinks(trace.Link{SpanContext: orig}))
	}
	ctx, span := tracer.Start(ctx, replaySpanName, opts...)
	if span.IsRecording() {
		span.SetAttributes(
			semconv.MessagingSystemKey.String("nats"),
			semconv.MessagingOperationTypeSend,
			semconv.MessagingDestinationName(EventsStream),
			attribute.String("neru.instance.id", d.InstanceID),
			attribute.String("neru.session.id", d.SessionID),
			attribute.String("neru.delivery.id", d.ID),
			attribute.Int64("neru.dlq.seq", int64(d.Seq)),
		)
	}
	return ctx, span
}
