// Package queue owns the queue-service provider (protocol §3.6): named,
// rate-limited work queues an app fills with `enqueue` and the platform
// drains into the queue's callback route, and the Dispatcher that does it.
//
// Semantics:
//
//   - Queue names are per instance: two instances may both have "q1".
//     Creating a queue that exists updates its callback, rate and state and
//     keeps its items (apps create their queues at every start).
//   - Each item is POSTed, as enqueued (JSON), to the callback path with
//     x-neru-sessionid, x-neru-delivery-id (stable per item) and
//     x-neru-attempt. Across all dispatchers together, a queue never has more
//     than rate.maxInflight items in flight and never starts two deliveries
//     less than 1/msgPerSecond apart (GCRA without burst, on Redis' clock).
//     Rate and state changes apply to the next item.
//   - A 2xx answer acknowledges an item. Anything else, or no answer within
//     the timeout, is a failure: the item is retried after a backoff (1s, 2s,
//     4s by default) ahead of newer items, and after its 3rd retry fails it is
//     moved to the queue's dead-letter list. totalError counts failed
//     attempts, totalSent acknowledged items, totalEnqueue enqueued items;
//     currentRate is how many items started in the last full second.
//   - Delivery is at-least-once: an item whose dispatcher died mid-request is
//     delivered again once its lease expires.
//   - The dead-letter list answers JSON texts of the items (the SDK typings
//     say string[]), oldest first; pop removes and returns up to count.
//
// Why not the event stream: queue items are POSTed by the dispatcher with
// delivery.Client directly rather than published to NERU_EVENTS. The rate
// and in-flight limits are properties of the queue, and enforcing them needs
// each item's outcome at once, in the same Redis state that admits the next
// item. The stream would also put every item behind the per-session FIFO lane
// of the callback's session (one at a time, so maxInflight > 1 could never
// happen) and apply the worker's retry and DLQ policy instead of the queue's
// own dead-letter list. The durability the stream gives events, Redis gives
// items: an item stays in Redis until it is acknowledged or dead-lettered.
//
// A queue belongs to its callback's session, as a listener does: when the
// session ends (expiry or delete), RemoveSession deletes the session's
// queues with their items and dead letters, so no item is delivered with a
// dead session id. Creating the queue again (the app's next start, in a new
// session) moves it to that session, and the old session's end leaves it.
//
// Dispatchers run in every worker process. They heartbeat into a member set
// and split the queues by rendezvous hashing; a dispatcher serves a queue
// only while it holds the queue's lease (package lease, which also stops the
// queue's loop on its own timer before the lease can expire). The lease is for efficiency (one
// poller per queue); the limits hold even if two dispatchers overlapped,
// because admitting an item is one Lua script that checks the state, the
// in-flight count and the rate together.
//
// Redis keys (under the configured keyspace). One hash tag per queue, so a
// tenant's queues spread over the cluster and every script stays in one slot:
//
//	q:{<instance>/<name>}:meta   hash   callback, mps, max, active, gen, seq; rate state tat, win, cnt, prev
//	q:{<instance>/<name>}:items  list   ids of waiting items, head first
//	q:{<instance>/<name>}:data   hash   id → item JSON, until acknowledged or dead
//	q:{<instance>/<name>}:att    hash   id → failed attempts
//	q:{<instance>/<name>}:run    zset   in-flight ids scored by lease deadline (µs, Redis clock)
//	q:{<instance>/<name>}:retry  zset   failed ids scored by retry time (µs, Redis clock)
//	q:{<instance>/<name>}:dl     list   dead-lettered item JSON, oldest first (capped)
//	q:{<instance>/<name>}:stats  hash   totalSent, totalError, totalEnqueue
//	q:{<instance>/<name>}:lease  string dispatcher id, with a TTL
//	q:{<instance>}:names         zset   the instance's queue names, by creation time
//	q:{<instance>}:s:<session>   set    names of the queues whose callback is in <session> (session.KeyPart)
//	q:all                        set    "<instance>/<name>" of every queue (the dispatchers' work list)
//	q:dispatchers                zset   live dispatcher ids, scored by heartbeat deadline
//
// Item dispatches are counted through Metrics (WithMetrics;
// telemetry.Metrics, neru_queue_items_total): delivered, retried, dead.
//
// NATS: none.
package queue
