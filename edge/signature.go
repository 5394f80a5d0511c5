package edge

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/neru-dev/neru/instance"
	"github.com/neru-dev/neru/internal/httpx"
)

// errBadSignature is every refusal of a webhook's signature. The message is
// the same whatever failed, so a forger learns nothing from it; the reason
// is logged at debug.
var errBadSignature = httpx.Errorf(http.StatusUnauthorized, "bad_signature",
	"the webhook must carry a valid Vonage signature (Authorization: Bearer <JWT> signed with the instance's signature secret)")

// verifySignature checks a provider webhook of an instance that has
// signature secrets, as Vonage signs them: Authorization: Bearer <JWT>,
// HS256 with one of the secrets, iat within window of now, and — when the
// token has a payload_hash claim — that claim equal to the hex SHA-256 of
// the raw body. An instance without secrets accepts unsigned webhooks
// (warned once per instance).
func (e *Edge) verifySignature(r *http.Request, in *instance.Instance, body []byte, now time.Time) error {
	if len(in.SignatureSecrets) == 0 {
		if _, warned := e.unsigned.LoadOrStore(in.ID, true); !warned && e.cfg.WarnUnsigned {
			e.log.Warn("instance accepts unsigned webhooks: anyone who knows its application id can post events to it; set signatureSecrets",
				"instance", in.ID)
		}
		return nil
	}
	if err := checkVonageJWT(r.Header.Get("Authorization"), in.SignatureSecrets, body, now, e.cfg.SignatureWindow); err != nil {
		e.badSignatures.Add(1)
		e.log.Debug("webhook signature refused", "instance", in.ID, "reason", err)
		return errBadSignature
	}
	return nil
}

// checkVonageJWT is the signature check over the Authorization header
// value; pure, so it is fuzzed (FuzzCheckVonageJWT).
func checkVonageJWT(auth string, secrets []string, body []byte, now time.Time, window time.Duration) error {
	tok, ok := httpx.Bearer(auth)
	if !ok {
		return errors.New("no bearer token")
	}
	var lastErr error
	for _, s := range secrets {
		claims := jwt.MapClaims{}
		_, err := jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return []byte(s), nil },
			jwt.WithValidMethods([]string{"HS256"}), jwt.WithTimeFunc(func() time.Time { return now }))
		if err != nil {
			lastErr = err
			continue
		}
		iat, err := claims.GetIssuedAt()
		if err != nil || iat == nil {
			return errors.New("no iat")
		}
		if d := now.Sub(iat.Time); d > window || d < -window {
			return errors.New("iat outside the window")
		}
		if ph, present := claims["payload_hash"]; present {
			want := sha256.Sum256(body)
			got, isStr := ph.(string)
			raw, err := hex.DecodeString(strings.ToLower(got))
			if !isStr || err != nil || subtle.ConstantTimeCompare(raw, want[:]) != 1 {
				return errors.New("payload_hash does not match the body")
			}
		}
		return nil
	}
	return lastErr
}
