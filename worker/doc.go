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
//     delivers its head, retries it in place with backoff, and moves on only
//     once JetStream has confirmed the ack (DoubleAck, retried): a lost ack
//     would bring the event back after AckWait, behind its session's later ones;
//   - NERU_EVENTS is a work queue, so when a worker takes a partition over it
//     recreates that partition's consumer, which redelivers everything still
//     unacknowledged from the oldest on, in stream order.
//
// Leases, the member set and fencing are package lease's: a worker that
// cannot renew a lease stops that partition, requests in flight included,
// before the lease can pass to another worker, on the lease's own timer
// (three quarters of a lease after the last renewal was sent), so a
// rebalance loop stuck on a slow Redis or NATS call cannot let two workers
// deliver one partition. A partition counts as stopped (and its
// lease is released) only once every lane has returned, including a lane an
// enqueue racing the stop had just started.
//
// A delivery that runs out of attempts (MaxAttempts, MaxAge, or a 4xx that
// retrying cannot fix) is published to NERU_DLQ and acked. If the DLQ does not
// store it, it stays the head of its lane and the DLQ publish is retried with
// backoff: the session waits rather than let its later events overtake it.
//
// Sessions (WithSessions). Every attempt's outcome (delivered, failed, dead)
// goes through a buffered channel to one recorder goroutine, which writes
// them in batches (session.Store.Record: the per-session recent list, and
// sliding-expiry extensions); a lane never waits for Redis for this, and
// outcomes are dropped (counted) rather than slow deliveries down. Every
// worker also ticks the expiry sweep (session.Store.Sweep) every
// SweepInterval; per-shard locks make one worker do each shard's work.
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
