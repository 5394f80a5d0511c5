package worker

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/neru-dev/neru/delivery"
)

// tracer delegates to otel's global tracer provider: a no-op unless the
// composition root set one up (telemetry.StartTracing).
var tracer = otel.Tracer("github.com/neru-dev/neru/worker")

// attemptSpanName names every attempt span: the route is an attribute, so
// span names stay a bounded set.
const attemptSpanName = "delivery attempt"

// attemptStopped is the outcome of an attempt the worker's shutdown cut
// off: not an observe outcome (it is not reported), only a span's.
const attemptStopped = "stopped"

// attemptSpan is the start option of attempt spans, made once. They are
// client spans: the app's server span, continuing the traceparent the
// request carries, is their child.
var attemptSpan = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient)}

// startAttemptSpan starts the span of one attempt of d, a child of the
// trace its message carried; the request to the app carries it. The
// attributes known before the attempt are only built when the span records.
func startAttemptSpan(ctx context.Context, d *delivery.Delivery, attempt int) (context.Context, trace.Span) {
	ctx, span := tracer.Start(ctx, attemptSpanName, attemptSpan...)
	if span.IsRecording() {
		span.SetAttributes(
			attribute.String("neru.instance.id", d.InstanceID),
			attribute.String("neru.session.id", d.SessionID),
			attribute.String("neru.delivery.id", d.ID),
			attribute.String("neru.listener.id", d.ListenerID),
			attribute.String("neru.event.kind", d.Kind),
			attribute.String("neru.route", d.Path),
			attribute.Int("neru.delivery.attempt", attempt),
			semconv.HTTPRequestMethodPost,
		)
	}
	return ctx, span
}

// endAttemptSpan records an attempt's result and ends its span: the app's
// status (none when it gave none) and the outcome (delivered, retried, dead,
// refused, stopped); anything but delivered is an error.
func endAttemptSpan(span trace.Span, status int, outcome string, err error) {
	defer span.End()
	if !span.IsRecording() {
		return
	}
	span.SetAttributes(attribute.String("neru.delivery.outcome", outcome))
	if status > 0 {
		span.SetAttributes(semconv.HTTPResponseStatusCode(status))
	}
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
}
