// Package router turns one parsed provider event into deliveries: it finds
// the listeners that accept the event (index lookup, then filters and session
// liveness on the candidates only) and publishes one Delivery per listener
// through delivery.Publisher, returning only once JetStream has stored every
// one.
//
// It also decides who answers a webhook the provider waits on (the answer
// policy, so the HTTP layer only relays): Answerer picks the newest matching
// listener of a call's answer webhook (apps register one at every start; the
// older ones get nothing); RouteInput sends an input result (speech, DTMF) to
// every matching listener but the newest through the stream and returns the
// newest, to answer synchronously; Handoff sends it to that listener through
// the stream when it gave no answer in time.
//
// Match is a span ("match") of the webhook's trace, with the candidates
// the index gave and the listeners that matched.
//
// It owns no Redis keys of its own (it reads listener and session keys) and
// publishes on the subjects of package delivery: neru.ev.<instance>.<partition>.
package router
