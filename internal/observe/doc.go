// Package observe is the one set of hook points the platform reports what
// it did through: a webhook was answered (with the listeners it matched),
// a delivery attempt finished. Metrics (internal/telemetry) and the
// console's live stream both implement Observer, so instrumentation is
// written once, at the places that call Fanout.
//
// Observers are called synchronously on the hot path: they must be cheap
// and must never block (hand work to a goroutine through a bounded buffer
// and drop when it is full). Events are passed by value so that calling a
// hook does not allocate.
//
// It owns no Redis keys and no NATS subjects.
package observe
