package edge

import (
	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/neru-dev/neru/internal/observe"
	"github.com/neru-dev/neru/internal/telemetry"
)

// tracer delegates to otel's global tracer provider: a no-op unless the
// composition root set one up (telemetry.StartTracing).
var tracer = otel.Tracer("github.com/neru-dev/neru/edge")

// webhookGroup is the route of every provider webhook; webhookPrefix+path
// is a webhook's http.route.
const (
	webhookGroup  = "/webhooks/:app"
	webhookPrefix = webhookGroup + "/"
)

// serverSpan is the start option of webhook spans, made once: a variadic
// option built per call would be allocated on every webhook.
var serverSpan = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer)}

// startWebhookSpan starts a webhook's server span, continuing the
// traceparent the provider sent, and makes the request's context carry it.
// The request is only replaced when there is a span context to carry:
// with tracing off and no traceparent, the no-op span is all it costs.
func startWebhookSpan(c echo.Context, name string) trace.Span {
	req := c.Request()
	ctx := telemetry.ExtractHTTP(req.Context(), req.Header)
	ctx, span := tracer.Start(ctx, name, serverSpan...)
	if span.SpanContext().IsValid() {
		c.SetRequest(req.WithContext(ctx))
	}
	return span
}

// endWebhookSpan records how the webhook was answered. A 5xx is an error,
// as for any server span; so is a call answered with the fallback NCCO,
// which the provider sees as a 200 but which means the app was not reached.
func endWebhookSpan(span trace.Span, method string, ob *observe.Webhook, err error) {
	if !span.IsRecording() {
		return
	}
	span.SetAttributes(
		semconv.HTTPRequestMethodKey.String(method),
		semconv.HTTPRoute(webhookPrefix+ob.Route),
		semconv.HTTPResponseStatusCode(ob.Status),
		attribute.String("neru.webhook.outcome", ob.Outcome),
		attribute.Int("neru.listeners.matched", len(ob.Matched)),
	)
	if ob.Instance != "" {
		span.SetAttributes(attribute.String("neru.instance.id", ob.Instance))
	}
	if ob.Kind != "" {
		span.SetAttributes(attribute.String("neru.event.kind", ob.Kind), attribute.String("neru.event.id", ob.EventID))
	}
	switch {
	case ob.Status >= 500 && err != nil:
		span.SetStatus(codes.Error, err.Error())
	case ob.Status >= 500:
		span.SetStatus(codes.Error, ob.Outcome)
	case ob.Outcome == observe.Fallback:
		span.SetStatus(codes.Error, "answered with the fallback NCCO: "+ob.Err)
	}
}
