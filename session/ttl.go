package session

import "time"

// MinTTL is the shortest lifetime a session_created gives a session (the
// SDKs allow createSession(0)); Create reads a ttl <= 0 as "the default".
const MinTTL = time.Second

// RequestedTTL recovers the ttl an app passed to createSession(ttl) from
// the session_created event it caused: the event's timestamp and its
// details.expiresAt. See "Exact TTL" in the package doc for the rule. When
// timestamp is missing, or the two do not fit the rule, it falls back to
// the time left until expiresAt. It never returns less than MinTTL.
func RequestedTTL(timestamp, expiresAt, now time.Time) time.Duration {
	ttl, ok := sdkTTL(timestamp, expiresAt)
	if !ok {
		ttl = expiresAt.Sub(now)
	}
	return max(ttl, MinTTL)
}

// sdkTTL inverts expiresAt = setSeconds(d, ttl), where d is the SDK's "now"
// and lies within half a second of timestamp.
func sdkTTL(timestamp, expiresAt time.Time) (time.Duration, bool) {
	if timestamp.IsZero() || expiresAt.IsZero() {
		return 0, false
	}
	// d kept its milliseconds: the instant nearest timestamp with
	// expiresAt's milliseconds is d.
	ms := time.Duration(expiresAt.Nanosecond()) / time.Millisecond * time.Millisecond
	d := timestamp.Truncate(time.Second).Add(ms)
	for _, c := range []time.Time{d.Add(-time.Second), d.Add(time.Second)} {
		if absDur(c.Sub(timestamp)) < absDur(d.Sub(timestamp)) {
			d = c
		}
	}
	ttl := expiresAt.Truncate(time.Second).Sub(d.Truncate(time.Minute))
	if ttl < 0 {
		return 0, false
	}
	return ttl, true
}

func absDur(d time.Duration) time.Duration { return max(d, -d) }
