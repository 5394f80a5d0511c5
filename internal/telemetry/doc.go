// Package telemetry owns what the platform tells operators about itself:
// the Prometheus registry and every neru_* metric (Metrics, an
// observe.Observer, so the webhook and attempt hooks feed it), the
// operations handler each binary serves on NERU_OPS_ADDR (/metrics,
// /healthz, /readyz, /debug/pprof), and tracing's setup and propagation
// (tracing.go): StartTracing installs an OTLP-exporting tracer provider as
// otel's global one when the standard OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT
// is set, and leaves otel's no-op otherwise; Propagator (W3C Trace Context)
// and the NATS header carrier (InjectMsg, ExtractMsg) carry a trace from
// the webhook through JetStream to the app.
//
// The packages that trace (edge, router, delivery, worker) each take a
// tracer from otel's global provider rather than one handed to them: the
// global delegates to whatever the composition root installs later, so no
// constructor grows a parameter, and with nothing installed every span is a
// non-recording no-op whose attributes are never built (IsRecording).
//
// Label cardinality is bounded: webhook routes, outcomes, SDK providers and
// status codes are closed sets; session ids never become labels; instance
// ids only when the operator asks (NERU_METRICS_INSTANCE_LABEL, label
// neru_instance, since Prometheus' own "instance" names the target).
//
// It owns no Redis keys and no NATS subjects.
package telemetry
