// Package worker delivers events to apps: it consumes NERU_EVENTS and POSTs
// each delivery to <instance base URL>/<path> with x-neru-sessionid.
//
// Ordering. Deliveries of one session reach the app in the order the gateway
// accepted them, one at a time; while one is retried its session waits and
// every other session keeps flowing. That holds across many workers because:
//
//   - a session always maps to the same partition (package delivery);
//   - each partition is consumed by exactly one worker, the holder of its
//     Redis lease; workers heartbeat into a member set and split partitions by
//     rendezvous hashing, so a joining or leaving worker moves few partitions;
//   - inside a partition, messages are queued per session ("lanes"); a lane
//     delivers its head, retries it in place with backoff, and only then moves on;
//   - NERU_EVENTS is a work queue, so when a worker takes a partition over it
//     recreates that partition's consumer, which redelivers everything still
//     unacknowledged from the oldest on, in stream order.
//
// A worker that cannot renew a lease stops that partition at once (fencing),
// before the lease can pass to another worker.
//
// Delivery is at-least-once: an app can see a delivery again after a crash
// or takeover; the x-neru-delivery-id header is stable, so it can drop repeats.
//
// Redis keys (under the configured keyspace):
//
//	w:members         sorted set of live worker ids, scored by heartbeat deadline
//	w:lease:{<n>}     owner worker id of partition n, with a TTL
//
// NATS: durable pull consumers "part-<n>" on NERU_EVENTS (filter
// neru.ev.*.<n>); dead deliveries are published to NERU_DLQ.
package worker
