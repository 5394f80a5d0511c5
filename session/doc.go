// Package session owns sessions: the ids that tie a call and a later message
// from the same person to one context. A session belongs to one instance and
// lives until its expiry; the global session never expires.
//
// Redis keys (under the configured keyspace):
//
//	s:{<instance>:<session>}   JSON record; the key's own TTL is the session's expiry
//	dl:{<instance>:<session>}  list of the session's recent delivery outcomes, newest first (50)
//	sx:{<instance>:<shard>}    expiry index: sorted set of session ids scored by expiry (Unix ms)
//	sx:instances               set of instance ids that have had sessions (what the sweep visits)
//	sx:sweep:<shard>           sweep lock of one shard number, held for one tick
//
// The record and the recent list share a slot with the listener package's
// ls:{<instance>:<session>}. The global session has a record without TTL and
// no index entry.
//
// # Lifetime
//
// A session starts when it is first used (Ensure: a listener registration, a
// state write, any SDK command carrying X-Neru-SessionId) or announced
// (Create: the SDK's session_created, whose ttl wins, even over a later or
// earlier implicit creation). An implicitly created session lives
// DefaultTTL (7 days, NERU_SESSION_TTL) under fixed expiry.
//
// Sliding expiry is per instance (instance.SessionIdle > 0): a new implicit
// session lives SessionIdle, and every successful delivery to it and every
// SDK command in it push its end to now+SessionIdle, never earlier. To keep
// that cheap, the end is only rewritten when it moves by more than a tenth
// of SessionIdle (so a session lives between 0.9 and 1 SessionIdle after its
// last use), and each process remembers for a few seconds which sessions it
// saw alive and until when, so most uses cost no Redis round trip. Workers
// extend sessions from a background batch (Record), not on the delivery
// path. An extension also moves the end of the session's state
// (state.Store.ExpireSession).
//
// # Expiry
//
// At its end the record key expires by itself, and from that moment the
// session's listeners no longer match: the router checks liveness for every
// candidate. What the session leaves behind (its listeners, its state, its
// recent list, its index entry) is removed by a sweep, not by keyspace
// notifications, which Redis does not deliver reliably (not across a
// failover, not to a client that was disconnected). Every session has an
// entry in its instance's expiry index, one of IndexShards sorted sets per
// instance, so one large tenant spreads over the cluster. Workers call Sweep
// every tick; each shard number is swept by the worker that takes its lock
// first. The sweep reads the due entries of every instance's set in that
// shard, checks each record (an extended or re-created session only gets its
// entry moved), and cleans up the expired ones, removing the index entry
// last and only if it did not change meanwhile, so a crash or a race never
// loses a session from the index. Sweeps are idempotent. State keys carry
// the session's end as their own TTL too, so they go on time even between
// sweeps; listeners go at the next sweep.
//
// # The session cap
//
// An instance may cap its live sessions (instance.MaxSessions). When the cap
// is reached, a *new* session is refused with ErrTooMany, which the gateway
// answers 429 {"code":"too_many_sessions"}; existing sessions, the global
// session included, keep working, and a session_created over the cap is
// dropped (events-submission must answer 2xx) and logged. We refuse rather
// than evict the oldest session: evicting would silently end a live
// conversation (a call in progress, its listeners and its state) to make room
// for a newcomer, and whoever set the cap can raise it or delete sessions
// through the admin API, while a refused newcomer sees the error at once. The
// count is the sum of the live entries of the instance's index shards,
// counted only when a session is created; concurrent creations can overshoot
// the cap by at most their number.
package session
