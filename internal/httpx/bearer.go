package httpx

import "strings"

// Bearer returns the token of an "Authorization: Bearer <token>" header
// value. The scheme is matched case-insensitively, as RFC 6750 (through RFC
// 7235's auth-scheme) allows, so "bearer x" and "BEARER x" are the same
// credential on every endpoint; surrounding whitespace is ignored. ok is
// false for another scheme or an empty token.
func Bearer(authorization string) (token string, ok bool) {
	scheme, tok, found := strings.Cut(strings.TrimSpace(authorization), " ")
	tok = strings.TrimSpace(tok)
	if !found || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", false
	}
	return tok, true
}
