package session

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxIDLen is the longest session id accepted, in bytes.
const MaxIDLen = 1024

// ValidateID is the one check of a session id, at every entry point (SDK
// header and body, callback records, admin API): 1 to MaxIDLen bytes of
// valid UTF-8 without control characters (C0, DEL, C1). Anything else the
// SDKs accept is accepted, spaces and braces included ("user alice
// {support desk}"). Control characters are refused because an id travels in
// the x-neru-sessionid header of every delivery, where they cannot be sent.
func ValidateID(id string) error {
	switch {
	case id == "" || len(id) > MaxIDLen:
		return fmt.Errorf("%w: must be 1-%d bytes, got %d", ErrInvalidID, MaxIDLen, len(id))
	case !utf8.ValidString(id):
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalidID)
	case strings.IndexFunc(id, isControl) >= 0:
		return fmt.Errorf("%w: %q has a control character", ErrInvalidID, id)
	}
	return nil
}

// isControl is C0 (U+0000-U+001F), DEL (U+007F) and C1 (U+0080-U+009F).
func isControl(r rune) bool { return r < 0x20 || (r >= 0x7f && r <= 0x9f) }

// KeyPart is how a session id (or any other client-chosen name) is written
// inside a Redis key: '%', '{' and '}' percent-escaped, everything else as
// it is. The escaping is injective, so distinct ids stay distinct keys, and
// a key's hash tag ends at its first '}', so every key of one session lands
// in the slot its hash tag names (Redis Cluster), whatever the id holds.
// Session ids never appear in NATS subjects (a delivery's subject carries
// its partition, a hash of the session).
func KeyPart(id string) string { return keyEscaper.Replace(id) }

var keyEscaper = strings.NewReplacer("%", "%25", "{", "%7B", "}", "%7D")
