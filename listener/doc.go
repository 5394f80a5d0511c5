// Package listener owns listeners: the SDK's registered callbacks ("POST my
// route /onMessage when an SMS from X to Y arrives, in session S") and the
// indexes that find them for an event without scanning.
//
// Each listener has exactly one index key, built by its provider from the
// registration (for example "msg-in|sms|447700900000|*"). An event yields the
// few keys that could match it, wildcards included; matching reads, in one
// pipelined round trip, the index sets of those of its keys whose shape (which
// parts are wildcards) some listener of the instance was registered with, and
// one GET per candidate not cached, whatever the number of listeners
// (shapes.go). Generic filters ({path, op, values}) run only on candidates.
//
// Redis keys (under the configured keyspace), each in its own cluster slot
// so one large tenant spreads over the cluster; <session> is the session id
// as session.KeyPart writes it (any SDK session id, braces escaped):
//
//	l:{<instance>:<id>}       JSON record
//	ix:{<instance>|<key>}     set of listener ids with that index key
//	ls:{<instance>:<session>} set of listener ids of a session
//	li:{<instance>}           set of listener ids of an instance
//	ld:{<instance>|<key>}     hash: dedup field → the listener id that holds it
//	lk:{<instance>}           set of the key shapes the instance's listeners use
//
// Writes go record first, index last; removal goes index first, record last.
// An index entry whose record is gone is skipped and pruned at match time, so
// a crash between steps never yields a match without a record.
//
// # The newest registration wins
//
// Apps register their listeners at every process start, each time in a new
// session (typically voice.onCall: protocol §7), so without care an
// instance collects one answer listener per restart, and an event would be
// delivered once per stale copy. Registration therefore deduplicates: two
// listeners of an instance are the same when provider, action, path (leading
// slashes ignored), index key (the numbers, call or conversation id) and
// filters (as sent, in order) are equal, whatever their session. Adding one
// makes it the holder of that identity in ld:{<instance>|<key>} and takes
// the previous holder out of the index in the same script (the two keys
// share a slot), then deletes the previous listener's record. Its session
// lives on until it expires; only the listener goes.
//
// This holds for every listener type, not only answer listeners: a second
// "SMS from X to /onMessage" in a newer session takes over from the first,
// so an SMS reaches the app once, in the newest session, instead of once per
// session. Listeners that differ in anything above (another route, another
// number, other filters) all stay.
//
// A listener's session ending (expiry sweep, admin delete) removes it with
// RemoveSession.
//
// Records that matching loaded are kept in-process for a few seconds
// (Store.Candidates, an internal/ttlcache). The index sets are still read
// for every event, so a removed listener stops matching at once; only a
// record replaced under the same id by another process can be stale, for at
// most those seconds. A record found under an index key other than its own
// (an entry a re-registration could not release) does not match.
//
// Writes report every failed command (Pipelined alone reports only the
// first, often a GET's harmless redis.Nil). Best-effort cleanups that fail,
// and records that do not decode, are logged at warn with their key
// (WithLogger).
package listener
