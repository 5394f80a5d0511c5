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
//     unacknowledged from the oldest on, in stream order;
//   - a delivery lost between JetStream and the worker (a NATS node dying
//     with it in flight) would come back only after AckWait, behind its
//     session's later events: the partition notices the gap in the
//     consumer sequence at the next message, before enqueuing it, and
//     restarts with a new consumer, so the lost one comes first.
//
// Leases, the member set and fencing are package lease's: a worker that
// cannot renew a lease stops that partition, requests in flight included,
// before the lease can pass to another worker, on the lease's own timer
// (three quarters of a lease after the last renewal was sent), so a
// rebalance loop stuck on a slow Redis or NATS call cannot let two workers
// deliver one partition. The loop itself never waits on NATS: a claimed
// partition's consumer is reset in the background while the loop keeps
// renewing the leases it holds, so NATS electing leaders does not fence
// the partitions that are running. A partition counts as stopped (and its
// lease is released) only once every lane has returned, including a lane an
// enqueue racing the stop had just started.
//
// Retries. A failed delivery is retried in place with exponential backoff
// and equal jitter (BackoffBase doubling up to BackoffMax, 3 min) until it is
// MaxAge (24 h) old: the last delay is cut so the last attempt is made at
// MaxAge. MaxAttempts optionally caps attempts too (off by default). A 4xx
// other than 408/409/425/429, a request that can never be sent (an invalid
// header value) or a refused address goes to the DLQ at once. The attempt
// count (x-neru-attempt) survives restarts and takeovers: failed counts are
// kept per stream sequence in Redis, since the recreated consumer restarts
// JetStream's delivery count.
//
// Circuits. An app that stops answering (refused, timed out, 502/503/504)
// is one state of its instance: after CircuitThreshold such attempts in a
// row the instance's circuit opens, its lanes stop retrying on their own
// and wait on the circuit, and one attempt at a time goes through as a
// probe, at most CircuitProbe (1 s) apart. The first answer closes it and
// releases every waiting lane at once, each with its own head, so sessions
// resume oldest first about a second after the app returns, and a lane in
// the middle of its own backoff does not wait it out. Worker.Circuits
// returns the states (for metrics and the console); every worker publishes
// its open circuits to Redis for the admin API (Status.Circuits).
//
// A delivery that dies (see above) is published to NERU_DLQ and acked. If
// the DLQ does not store it, it stays the head of its lane and the DLQ
// publish is retried with backoff: the session waits rather than let its
// later events overtake it. With the instance's onDead "hold", the session
// is then held: its later deliveries wait (unacked, in order; they count
// against the partition's MaxPending) until the dead one is replayed — the
// replay goes first, then the rest — or an operator discards it
// (Status.Release; the lane notices within a second). The hold is stored
// before the dead delivery is acked, and every partition loads its holds
// when it starts, so holds survive restarts and takeovers.
//
// A delivery whose session has ended (expired, or deleted through the admin
// API: session.Store.Ended, asked before every attempt, one Redis round
// trip) dies at once with the reason "session_expired: session <id> expired
// at <time>", so an ended session's in-flight events, schedules and
// callbacks never reach the app.
//
// Sessions (WithSessions). Every attempt's outcome (delivered, failed, dead)
// goes through a buffered channel to one recorder goroutine, which writes
// them in batches (session.Store.Record: the per-session recent list, and
// sliding-expiry extensions); a lane never waits for Redis for this, and
// outcomes are dropped (counted) rather than slow deliveries down. Every
// worker also ticks the expiry sweep (session.Store.Sweep) every
// SweepInterval; per-shard locks make one worker do each shard's work.
//
// Traces (tracing.go): each attempt is a client span "delivery attempt",
// a child of the context its message carries (the gateway's publish span),
// with the instance, session, delivery, listener, route, attempt number,
// the app's HTTP status and the outcome (delivered, retried, dead,
// refused; stopped when a shutdown cut it off); anything but delivered is
// an error. The request to the app carries its traceparent.
//
// Delivery is at-least-once: an app can see a delivery again after a crash
// or takeover; the x-neru-delivery-id header is stable, so it can drop repeats.
//
// Redis keys (under the configured keyspace):
//
//	w:members         sorted set of live worker ids, scored by heartbeat deadline
//	w:lease:{<n>}     owner worker id of partition n, with a TTL
//	w:held:{<n>}      hash "<instance>/<session>" → Hold JSON: held sessions of partition n
//	w:tries:{<n>}     hash stream sequence → failed attempts so far, of partition n
//	w:circuit:{<i>}   hash worker id → CircuitState JSON of instance i's open circuits (10 s TTL)
//
// NATS: durable pull consumers "part-<n>" on NERU_EVENTS (filter
// neru.ev.*.<n>); dead deliveries are published to NERU_DLQ.
package worker
