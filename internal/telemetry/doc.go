// Package telemetry owns what the platform tells operators about itself:
// the Prometheus registry and every neru_* metric (Metrics, an
// observe.Observer, so the webhook and attempt hooks feed it), the
// operations handler each binary serves on NERU_OPS_ADDR (/metrics,
// /healthz, /readyz, /debug/pprof). (Tracing with OpenTelemetry is to
// come here too; it is not written yet.)
//
// Label cardinality is bounded: webhook routes, outcomes, SDK providers and
// status codes are closed sets; session ids never become labels; instance
// ids only when the operator asks (NERU_METRICS_INSTANCE_LABEL, label
// neru_instance, since Prometheus' own "instance" names the target).
//
// It owns no Redis keys and no NATS subjects.
package telemetry
