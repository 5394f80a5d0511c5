// Package listener owns listeners: the SDK's registered callbacks ("POST my
// route /onMessage when an SMS from X to Y arrives, in session S") and the
// indexes that find them for an event without scanning.
//
// Each listener has exactly one index key, built by its provider from the
// registration (for example "msg-in|sms|447700900000|*"). An event yields the
// few keys that could match it, wildcards included, so matching costs one
// pipelined SMEMBERS per event and one GET per candidate, whatever the number
// of listeners. Generic filters ({path, op, values}) run only on candidates.
//
// Redis keys (under the configured keyspace), each in its own cluster slot
// so one large tenant spreads over the cluster:
//
//	l:{<instance>:<id>}       JSON record
//	ix:{<instance>|<key>}     set of listener ids with that index key
//	ls:{<instance>:<session>} set of listener ids of a session
//	li:{<instance>}           set of listener ids of an instance
//
// Writes go record first, index last; removal goes index first, record last.
// An index entry whose record is gone is skipped and pruned at match time, so
// a crash between steps never yields a match without a record.
package listener
