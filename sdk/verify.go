package sdk

import (
	"bytes"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// ErrUnverified wraps every reason VerifyRequest refuses a request.
var ErrUnverified = errors.New("request not verified as the platform's")

// SignatureTolerance is how far webhook-timestamp may be from the app's
// clock, in either direction (Standard Webhooks' default).
const SignatureTolerance = 5 * time.Minute

// maxVerifiedBody bounds the body VerifyRequest reads (the platform's
// webhook cap is 1 MiB).
const maxVerifiedBody = 4 << 20

// VerifyRequest checks that r is a request from the platform to this app:
//
//   - with publicKey (the instance's Vonage application public key), the
//     Authorization bearer JWT must verify RS256, be unexpired, and last
//     at most 5 minutes;
//   - with secret (the instance's "whsec_…" delivery signing secret, from
//     `neru instance create`), one of the webhook-signature entries must be
//     the base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>",
//     and webhook-timestamp within SignatureTolerance of now.
//
// Pass nil or "" to skip a check; at least one is required. The body is read
// and put back, so the handler can read it again. Errors wrap ErrUnverified.
func VerifyRequest(r *http.Request, publicKey *rsa.PublicKey, secret string) error {
	if publicKey == nil && secret == "" {
		return fmt.Errorf("%w: neither a public key nor a secret to verify with", ErrUnverified)
	}
	if publicKey != nil {
		if err := verifyJWT(r.Header.Get("Authorization"), publicKey); err != nil {
			return err
		}
	}
	if secret == "" {
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxVerifiedBody+1))
	if err != nil {
		return fmt.Errorf("%w: read body: %v", ErrUnverified, err)
	}
	if len(body) > maxVerifiedBody {
		return fmt.Errorf("%w: body over %d bytes", ErrUnverified, maxVerifiedBody)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return VerifySignature(secret, r.Header.Get("Webhook-Id"), r.Header.Get("Webhook-Timestamp"),
		r.Header.Get("Webhook-Signature"), body, time.Now())
}

func verifyJWT(auth string, key *rsa.PublicKey) error {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(auth), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return fmt.Errorf("%w: no bearer token", ErrUnverified)
	}
	claims := jwt.MapClaims{}
	if _, err := jwt.ParseWithClaims(strings.TrimSpace(tok), claims, func(*jwt.Token) (any, error) { return key, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithLeeway(30*time.Second)); err != nil {
		return fmt.Errorf("%w: token: %v", ErrUnverified, err)
	}
	iat, _ := claims.GetIssuedAt()
	exp, _ := claims.GetExpirationTime()
	if iat == nil || exp.Sub(iat.Time) > 5*time.Minute {
		return fmt.Errorf("%w: token must carry iat and last at most 5 minutes", ErrUnverified)
	}
	return nil
}

// VerifySignature checks a Standard Webhooks signature header (one or more
// space-separated "v1,<base64>") over id.timestamp.body with a whsec_
// secret, and the timestamp against now. It is VerifyRequest's second
// check, for apps that read the body themselves.
func VerifySignature(secret, id, timestamp, header string, body []byte, now time.Time) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || len(key) == 0 {
		return fmt.Errorf("%w: the secret is not a whsec_ base64 secret", ErrUnverified)
	}
	if id == "" {
		return fmt.Errorf("%w: no webhook-id", ErrUnverified)
	}
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: webhook-timestamp %q is not unix seconds", ErrUnverified, timestamp)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > SignatureTolerance || d < -SignatureTolerance {
		return fmt.Errorf("%w: webhook-timestamp is %s away from now", ErrUnverified, d.Round(time.Second))
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + timestamp + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, sig := range ParseSignatures(header) {
		if hmac.Equal(sig, want) {
			return nil
		}
	}
	return fmt.Errorf("%w: no webhook-signature matches", ErrUnverified)
}

// ParseSignatures returns the v1 signatures of a webhook-signature header,
// skipping entries of other versions and malformed ones.
func ParseSignatures(header string) [][]byte {
	var out [][]byte
	for _, f := range strings.Fields(header) {
		v, b64, ok := strings.Cut(f, ",")
		if !ok || v != "v1" {
			continue
		}
		sig, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(sig) != sha256.Size {
			continue
		}
		out = append(out, sig)
		if len(out) == 16 { // bound the work a hostile header can cause
			break
		}
	}
	return out
}
