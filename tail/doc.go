// Package tail is the live stream of what the platform does: each webhook
// received (its kind, how many listeners it matched, how it was answered)
// and each delivery attempt (session, route, status, latency, attempt, and
// whether it was delivered, will be retried or went to the DLQ). The admin
// API serves it as server-sent events, `neru tail` and `neru dev` print it
// and the web console shows it.
//
// Gateways and workers are separate processes, so the stream is carried over
// NATS core, fire-and-forget: nothing is stored, a watcher sees what happens
// while it watches, and a slow watcher loses events rather than slowing the
// platform down.
//
// A process publishes only while somebody watches. Watchers announce
// themselves on neru.tail.watch (at start, as a request every publisher
// answers, then every WatchEvery); a publisher that has heard no announcement
// for WatchFor publishes nothing, so an unwatched platform pays one atomic
// load per event.
//
// NATS subjects it owns:
//
//	neru.tail.ev.<instance>   one JSON Event per message
//	neru.tail.watch           watcher announcements (request/reply at start)
//
// It owns no Redis keys.
package tail
