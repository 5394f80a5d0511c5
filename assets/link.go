package assets

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

var (
	// ErrLinkInvalid: the token is malformed or its signature does not match.
	ErrLinkInvalid = errors.New("invalid asset link")
	// ErrLinkExpired: the token was signed by us but its time is up.
	ErrLinkExpired = errors.New("asset link expired")
)

// MinLinkSecret is the shortest secret a Linker accepts.
const MinLinkSecret = 16

// linkDomain separates link MACs from anything else the secret might sign.
const linkDomain = "neru-assets-link/v1\n"

// Linker signs and verifies download links. A token is
//
//	base64url(tenant "\n" expiry-unix "\n" path) "." base64url(HMAC-SHA256(secret, domain + payload))
//
// so it names its file and its expiry and cannot be altered without the
// secret. Tenant ids and paths cannot contain "\n" (see Clean), so the payload
// splits one way only. Safe for concurrent use.
type Linker struct{ key []byte }

// NewLinker returns a Linker signing with secret (at least MinLinkSecret bytes).
func NewLinker(secret []byte) (*Linker, error) {
	if len(secret) < MinLinkSecret {
		return nil, fmt.Errorf("assets: the link secret must be at least %d bytes", MinLinkSecret)
	}
	return &Linker{key: append([]byte(nil), secret...)}, nil
}

// Sign returns a token granting a download of tenant's file name until expires.
func (l *Linker) Sign(tenant, name string, expires time.Time) string {
	payload := tenant + "\n" + strconv.FormatInt(expires.Unix(), 10) + "\n" + name
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(payload)) + "." + enc.EncodeToString(l.mac(payload))
}

// Verify checks a token and returns the tenant and file it grants.
func (l *Linker) Verify(token string, now time.Time) (tenant, name string, err error) {
	enc := base64.RawURLEncoding
	p64, m64, ok := strings.Cut(token, ".")
	if !ok {
		return "", "", ErrLinkInvalid
	}
	payload, err1 := enc.DecodeString(p64)
	mac, err2 := enc.DecodeString(m64)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, l.mac(string(payload))) {
		return "", "", ErrLinkInvalid
	}
	parts := strings.SplitN(string(payload), "\n", 3)
	if len(parts) != 3 {
		return "", "", ErrLinkInvalid
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return "", "", ErrLinkInvalid
	}
	if !now.Before(time.Unix(exp, 0)) {
		return "", "", ErrLinkExpired
	}
	return parts[0], parts[2], nil
}

func (l *Linker) mac(payload string) []byte {
	h := hmac.New(sha256.New, l.key)
	h.Write([]byte(linkDomain))
	h.Write([]byte(payload))
	return h.Sum(nil)
}
