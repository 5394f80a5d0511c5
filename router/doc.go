// Package router turns one parsed provider event into deliveries: it finds
// the listeners that accept the event (index lookup, then filters and session
// liveness on the candidates only) and publishes one Delivery per listener to
// JetStream, returning only once JetStream has stored every one.
//
// It owns no Redis keys of its own (it reads listener and session keys) and
// publishes on the subjects of package delivery: neru.ev.<instance>.<partition>.
package router
