// Package session owns sessions: the ids that tie a call and a later message
// from the same person to one context. A session belongs to one instance and
// lives until its expiry; the global session never expires.
//
// Redis keys (under the configured keyspace):
//
//	s:{<instance>:<session>}  JSON record, with the key's own TTL = the session's expiry
//
// A listener whose session key is gone never matches: the router checks
// liveness for every candidate, so expiry needs no sweep to take effect.
package session
