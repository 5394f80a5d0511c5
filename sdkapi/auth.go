package sdkapi

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/neru-dev/neru/instance"
	"github.com/neru-dev/neru/internal/httpx"
	"github.com/neru-dev/neru/internal/ttlcache"
)

// clockSkew is how far token times may be off. The SDKs mint a token for
// 300 s and refresh it 20 s before it expires.
const clockSkew = 60 * time.Second

// maxLifetime is the longest a token may be valid for (exp - iat, or exp -
// now without iat). The SDKs mint 300 s tokens; a key holder minting
// day-long ones would leave a stolen token usable for that long, and the
// verified-token cache would keep it.
const maxLifetime = time.Hour

// audience is the only aud the SDKs' tokens may name (protocol §2.2); a
// token without aud is accepted, as the SDKs of some versions send none.
const audience = "provider"

var errUnauthorized = httpx.Errorf(http.StatusUnauthorized, "unauthorized", "a valid RS256 bearer token signed with the instance's key is required")

// claims are the JWT claims the SDKs send (protocol §2.2). aud may be a
// string or an array.
type claims struct {
	jwt.RegisteredClaims
	ApiApplicationID string `json:"api_application_id"`
	ApiAccountID     string `json:"api_account_id"`
}

// parser verifies the SDKs' tokens: RS256 only (so alg none and HS256 with
// the public key as secret are refused), exp required, exp, nbf and iat
// checked with clockSkew of leeway.
var parser = jwt.NewParser(
	jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
	jwt.WithExpirationRequired(),
	jwt.WithIssuedAt(),
	jwt.WithLeeway(clockSkew),
)

// authenticate returns the instance an SDK request acts as. That is decided
// by the verified token alone (or, for the dev instance, by the loopback
// connection); X-Neru-* headers and body fields are never trusted for it.
func (a *API) authenticate(r *http.Request) (*instance.Instance, error) {
	ctx := r.Context()
	authz := r.Header.Get("Authorization")
	if authz == "" {
		// neru in DEBUG mode sends no token: only the dev instance, from loopback.
		in, err := a.devInstance(ctx)
		if err != nil || !in.Unauthenticated || !httpx.IsLoopback(r.RemoteAddr) {
			return nil, errUnauthorized
		}
		return in, nil
	}
	// A request that tries to authenticate and fails is refused, never
	// taken as the dev instance.
	token, ok := httpx.Bearer(authz)
	if !ok {
		return nil, errUnauthorized
	}
	// Which instance's key must have signed it is in the claims, so they
	// are read first, unverified, and trusted only once the signature is.
	var unverified claims
	if _, _, err := parser.ParseUnverified(token, &unverified); err != nil {
		return nil, errUnauthorized
	}
	in, err := a.tokenInstance(ctx, unverified)
	if err != nil || in.PublicKey == "" {
		return nil, errUnauthorized
	}
	if a.verified.ok(token, in) {
		return in, nil
	}
	key, err := instance.ParsePublicKey(in.PublicKey)
	if err != nil {
		return nil, errUnauthorized
	}
	var cl claims
	if _, err := parser.ParseWithClaims(token, &cl, func(*jwt.Token) (any, error) { return key, nil }); err != nil {
		return nil, errUnauthorized
	}
	if len(cl.Audience) > 0 && !slices.Contains(cl.Audience, audience) {
		return nil, errUnauthorized
	}
	if tooLong(cl, time.Now()) {
		return nil, errUnauthorized
	}
	a.verified.add(token, in, cl.ExpiresAt.Add(clockSkew))
	return in, nil
}

// tooLong reports a token valid for longer than maxLifetime. Without iat
// the lifetime counts from now, so leaving iat out buys nothing.
func tooLong(cl claims, now time.Time) bool {
	start := now
	if cl.IssuedAt != nil {
		start = cl.IssuedAt.Time
	}
	return cl.ExpiresAt.Sub(start) > maxLifetime
}

// verifiedTokens remembers tokens whose signature checked out, until they
// expire. An SDK process reuses one token for about 280 s and vcr follows
// every call with a log submission, so without it each call paid for two
// PEM parses and RSA verifications. A hit still resolves the instance from
// the token's claims and requires the same public key, so a deleted
// instance or a rotated key takes effect as before.
type verifiedTokens struct {
	c *ttlcache.Cache[string, verifiedToken]
}

type verifiedToken struct{ instanceID, publicKey string }

func newVerifiedTokens() *verifiedTokens {
	return &verifiedTokens{c: ttlcache.New[string, verifiedToken](10_000, 0)}
}

func (v *verifiedTokens) ok(token string, in *instance.Instance) bool {
	t, hit := v.c.Get(token)
	return hit && t.instanceID == in.ID && t.publicKey == in.PublicKey
}

func (v *verifiedTokens) add(token string, in *instance.Instance, until time.Time) {
	v.c.PutUntil(token, verifiedToken{instanceID: in.ID, publicKey: in.PublicKey}, until)
}

// tokenInstance picks the instance whose key must have signed the token:
// the one owning its api_application_id, or the dev instance for tokens
// without one (an app started with only DEBUG and PRIVATE_KEY set).
func (a *API) tokenInstance(ctx context.Context, cl claims) (*instance.Instance, error) {
	if cl.ApiApplicationID != "" {
		return a.d.Instances.ByApplication(ctx, cl.ApiApplicationID)
	}
	return a.devInstance(ctx)
}

func (a *API) devInstance(ctx context.Context) (*instance.Instance, error) {
	if a.cfg.DevInstanceID == "" {
		return nil, errors.New("no dev instance")
	}
	return a.d.Instances.Get(ctx, a.cfg.DevInstanceID)
}
