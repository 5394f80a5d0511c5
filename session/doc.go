// Package session owns sessions: the ids that tie a call and a later message
// from the same person to one context. A session belongs to one instance and
// lives until its expiry; the global session never expires.
//
// Redis keys (under the configured keyspace; <session> is KeyPart(id)):
//
//	s:{<instance>:<session>}   JSON record; the key's own TTL is the session's expiry
//	dl:{<instance>:<session>}  list of the session's recent delivery outcomes, newest first (50)
//	sx:{<instance>:<shard>}    expiry index: sorted set of session ids scored by expiry (Unix ms)
//	se:{<instance>:<shard>}    tombstones: sorted set of ended session ids scored by their end (Unix ms)
//	sx:instances               set of instance ids that have had sessions (what the sweep visits)
//	sx:sweep:<shard>           sweep lock of one shard number, held for one tick
//
// The record and the recent list share a slot with the listener package's
// ls:{<instance>:<session>}; a shard's expiry index and tombstones share
// one too. The global session has a record without TTL and no index entry.
//
// # Session ids
//
// A session id is whatever the SDKs accept: 1 to 1,024 bytes of valid UTF-8
// without control characters (C0, DEL, C1), so "user alice {support desk}"
// is fine and "a\x00b" is not. ValidateID is the one check, used at every
// entry point (SDK header and body, callback records, schedules, queues,
// the admin API); control characters are refused because the id travels in
// the x-neru-sessionid header of every delivery. Inside a Redis key an id is
// written by KeyPart: '%', '{' and '}' percent-escaped, the rest as it is.
// That is injective (distinct ids, distinct keys) and keeps every key's hash
// tag ending where the platform put it, so a session's keys stay in one
// cluster slot. Ids are escaped rather than hashed so that keys stay
// readable in redis-cli; a 1,024-byte id makes keys of about that size,
// which Redis takes in its stride. Sorted-set members and JSON records keep
// the id as given, so listings show it unchanged. No session id is ever
// part of a NATS subject: a delivery's subject carries its partition, a
// hash of the session.
//
// # Exact TTL
//
// Both SDKs announce createSession(ttl) with a session_created event whose
// details.expiresAt is not now+ttl: they compute d = new Date();
// d.setSeconds(ttl), that is the start of d's minute plus ttl seconds
// (overflowing into later minutes for ttl >= 60), with d's milliseconds.
// Taken literally, createSession(30) at second 40 would live 0 s. The event
// also carries its timestamp, taken a few milliseconds from d, so
// RequestedTTL inverts the rule: d is the instant nearest the timestamp that
// has expiresAt's milliseconds, and ttl = expiresAt (whole seconds) - d's
// minute. JS computes the minute in local time, which is the UTC minute in
// every zone (offsets are whole minutes). The session then lives ttl from
// its arrival on the platform's clock, so the app's clock does not matter.
// Without a timestamp, the time left until expiresAt is used. A ttl of 0
// (the SDKs allow it) becomes MinTTL (1 s).
//
// # Lifetime
//
// A session starts when it is first used (Ensure: a listener registration, a
// state write, any SDK command carrying X-Neru-SessionId) or announced
// (Create: the SDK's session_created, whose ttl wins, even over a later or
// earlier implicit creation; see Exact TTL). An implicitly created session lives
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
// path. An extension also moves the end of the session's state, first
// (state.Store.ExtendSession; see State through an expiry).
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
// sweeps; listeners, schedules and queues go at the next sweep, and until
// then the router's liveness check keeps the listeners from matching.
//
// # Ended sessions stay dead
//
// A session that expired or was deleted has ended, and stays ended for
// TombstoneTTL (24 h): Ensure (every implicit use: a listener registration,
// a state write, an SDK command naming it) fails with an *ExpiredError
// (errors.Is ErrExpired; "session <id> expired at <time>", which the SDK
// endpoint answers 410 session_expired) instead of creating it afresh. Only
// Create, a fresh session_created, starts it again: what the old one left
// behind goes first, then its tombstone. Ended tells whether and when a
// session ended.
//
// The end is recorded in the shard's tombstone set, which shares the expiry
// index's hash tag: Delete writes the tombstone before it removes the
// record, so no use in between can create the session again; the sweep
// replaces the index entry by the tombstone in one script after the
// cleanup. Between the record's expiry and the sweep, the due index entry
// itself says the session ended. So an entry must never end later than
// its record, or the expired session would look as if it had never
// existed, and its next use would create it afresh without its state: an
// implicit creation only adds a missing entry (it can lose its SET NX to
// a session_created with an earlier end, which the SDK's first state.set
// races) and, once its record is in, pulls a racing one in (ZADD LT);
// Create sets the entry to its end; the sweep moves a live session's
// entry only if it did not change meanwhile. Entries may lag behind
// their record, which the sweep catches up. A live record always wins
// over a tombstone. Each tombstone write also sweeps its set: entries older than
// TombstoneTTL go, the set keeps at most 65,536 entries (about a million
// per instance, some 80 bytes each; past that the oldest go early), and the
// set expires TombstoneTTL after its newest entry. The global session never
// ends and gets no tombstone.
//
// A session's end removes its listeners, its schedules and its queues with
// their items (WithRemover: packages listener, scheduler and queue), its
// state (WithState) and its recent list, so nothing of it fires again.
//
// # State through an expiry
//
// From the app's view a session's state ends at one instant: every state
// key of the session carries the session's end as its own expiry (the same
// millisecond as the record's), and the moves and the removal are one
// script each (package state). When the end moves later (sliding
// extension, a later session_created), the state moves first and only
// later (ExtendSession), so it never ends before its session; moved the
// other way round, the keys no write had touched yet would expire at the
// old end under a live session.
//
// The SDK endpoint lets a command in when the session is alive (Touch,
// often from a sighting cached for a few seconds), and the command runs
// a moment later, maybe past the end, or after another replica deleted
// the session. So a read in a session namespace also looks, right after it
// in the same round trip, whether the session still has state (the order
// is enough: see state.Store.sessionRead); if it has none and
// the session has ended (Ended), the read answers session_expired rather
// than the empty reply of a key never written. A write that ran past the
// end stored nothing (its keys expired at once) and answers the same.
// Either the app sees the session alive with its state, or 410.
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
