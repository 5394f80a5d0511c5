package gateway

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/neru-dev/neru/instance"
	"github.com/neru-dev/neru/internal/httpx"
)

// clockSkew is how far token times may be off. The SDKs mint a token for
// 300 s and refresh it 20 s before it expires.
const clockSkew = 60 * time.Second

var errUnauthorized = httpx.Errorf(http.StatusUnauthorized, "unauthorized", "a valid RS256 bearer token signed with the instance's key is required")

// claims are the JWT claims the SDKs send (protocol §2.2).
type claims struct {
	Aud              string `json:"aud"`
	Iss              string `json:"iss"`
	ApiApplicationID string `json:"api_application_id"`
	ApiAccountID     string `json:"api_account_id"`
	Sub              string `json:"sub"`
	Exp              int64  `json:"exp"`
	Iat              int64  `json:"iat"`
}

// authenticate returns the instance an SDK request acts as. That is decided
// by the verified token alone (or, for the dev instance, by the loopback
// connection); X-Neru-* headers and body fields are never trusted for it.
func (g *Gateway) authenticate(r *http.Request) (*instance.Instance, error) {
	ctx := r.Context()
	authz := r.Header.Get("Authorization")
	if authz == "" {
		// neru in DEBUG mode sends no token: only the dev instance, from loopback.
		in, err := g.devInstance(ctx)
		if err != nil || !in.Unauthenticated || !isLoopback(r.RemoteAddr) {
			return nil, errUnauthorized
		}
		return in, nil
	}
	// A request that tries to authenticate and fails is refused, never
	// taken as the dev instance.
	scheme, token, _ := strings.Cut(authz, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return nil, errUnauthorized
	}
	parts := strings.Split(strings.TrimSpace(token), ".")
	if len(parts) != 3 {
		return nil, errUnauthorized
	}
	var hdr struct{ Alg string }
	var cl claims
	if decodeSegment(parts[0], &hdr) != nil || hdr.Alg != "RS256" || decodeSegment(parts[1], &cl) != nil {
		return nil, errUnauthorized
	}
	in, err := g.tokenInstance(ctx, cl)
	if err != nil || in.PublicKey == "" {
		return nil, errUnauthorized
	}
	now := time.Now()
	if g.verified.ok(token, in, now) {
		return in, nil
	}
	key, err := instance.ParsePublicKey(in.PublicKey)
	if err != nil {
		return nil, errUnauthorized
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, errUnauthorized
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], sig) != nil {
		return nil, errUnauthorized
	}
	if cl.Exp == 0 || now.After(time.Unix(cl.Exp, 0).Add(clockSkew)) || time.Unix(cl.Iat, 0).After(now.Add(clockSkew)) {
		return nil, errUnauthorized
	}
	if cl.Aud != "" && cl.Aud != "provider" {
		return nil, errUnauthorized
	}
	g.verified.add(token, in, time.Unix(cl.Exp, 0).Add(clockSkew))
	return in, nil
}

// verifiedTokens remembers tokens whose signature checked out, until they
// expire. An SDK process reuses one token for about 280 s and vcr follows
// every call with a log submission, so without it each call paid for two
// PEM parses and RSA verifications. A hit still resolves the instance from
// the token's claims and requires the same public key, so a deleted
// instance or a rotated key takes effect as before.
type verifiedTokens struct {
	mu sync.Mutex
	m  map[string]verifiedToken
}

type verifiedToken struct {
	instanceID, publicKey string
	until                 time.Time
}

const verifiedTokensCap = 10_000

func (v *verifiedTokens) ok(token string, in *instance.Instance, now time.Time) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	t, hit := v.m[token]
	return hit && now.Before(t.until) && t.instanceID == in.ID && t.publicKey == in.PublicKey
}

func (v *verifiedTokens) add(token string, in *instance.Instance, until time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.m == nil || len(v.m) >= verifiedTokensCap {
		v.m = map[string]verifiedToken{} // bounded; live tokens come straight back
	}
	v.m[token] = verifiedToken{instanceID: in.ID, publicKey: in.PublicKey, until: until}
}

// tokenInstance picks the instance whose key must have signed the token:
// the one owning its api_application_id, or the dev instance for tokens
// without one (an app started with only DEBUG and PRIVATE_KEY set).
func (g *Gateway) tokenInstance(ctx context.Context, cl claims) (*instance.Instance, error) {
	if cl.ApiApplicationID != "" {
		return g.d.Instances.ByApplication(ctx, cl.ApiApplicationID)
	}
	return g.devInstance(ctx)
}

func (g *Gateway) devInstance(ctx context.Context) (*instance.Instance, error) {
	if g.cfg.DevInstanceID == "" {
		return nil, errors.New("no dev instance")
	}
	return g.d.Instances.Get(ctx, g.cfg.DevInstanceID)
}

func decodeSegment(seg string, v any) error {
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}
