package sdk

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Token lifetime and refresh margin, as in the JS SDKs (protocol §2.2).
const (
	tokenTTL     = 300 * time.Second
	tokenRefresh = 20 * time.Second
)

// claims are the platform JWT's claims, in the JS SDKs' order. Unset
// values are left out, as jsonwebtoken leaves out undefined ones.
type claims struct {
	Aud              string `json:"aud"`
	Iss              string `json:"iss"`
	ApiApplicationID string `json:"api_application_id,omitempty"`
	ApiAccountID     string `json:"api_account_id,omitempty"`
	Exp              int64  `json:"exp"`
	Sub              string `json:"sub,omitempty"`
	Iat              int64  `json:"iat"`
}

// claims is a jwt.Claims of its own rather than an embedded
// jwt.RegisteredClaims, whose field order and aud encoding differ from
// what jsonwebtoken writes.
var _ jwt.Claims = claims{}

func (c claims) GetExpirationTime() (*jwt.NumericDate, error) { return numericDate(c.Exp), nil }
func (c claims) GetIssuedAt() (*jwt.NumericDate, error)       { return numericDate(c.Iat), nil }
func (c claims) GetNotBefore() (*jwt.NumericDate, error)      { return nil, nil }
func (c claims) GetIssuer() (string, error)                   { return c.Iss, nil }
func (c claims) GetSubject() (string, error)                  { return c.Sub, nil }
func (c claims) GetAudience() (jwt.ClaimStrings, error)       { return jwt.ClaimStrings{c.Aud}, nil }

func numericDate(unix int64) *jwt.NumericDate {
	if unix == 0 {
		return nil
	}
	return jwt.NewNumericDate(time.Unix(unix, 0))
}

// signer mints and caches the platform JWT: one token per client, re-minted
// 20 s before it expires.
type signer struct {
	key    *rsa.PrivateKey
	keyErr error
	claims claims
	now    func() time.Time

	mu  sync.Mutex
	tok string
	exp time.Time
}

func newSigner(cfg Config) *signer {
	s := &signer{
		claims: claims{Aud: "provider", Iss: "project-instance", ApiApplicationID: cfg.ApplicationID, ApiAccountID: cfg.AccountID, Sub: cfg.InstanceServiceName},
		now:    time.Now,
	}
	s.key, s.keyErr = ParsePrivateKey(cfg.PrivateKey)
	return s
}

func (s *signer) token() (string, error) {
	if s.keyErr != nil {
		return "", s.keyErr
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != "" && now.Before(s.exp.Add(-tokenRefresh)) {
		return s.tok, nil
	}
	c := s.claims
	c.Iat, c.Exp = now.Unix(), now.Add(tokenTTL).Unix()
	tok, err := SignRS256(s.key, c)
	if err != nil {
		return "", err
	}
	s.tok, s.exp = tok, time.Unix(c.Exp, 0)
	return tok, nil
}

// SignRS256 returns a JWT of claims signed with key, with the header
// {"alg":"RS256","typ":"JWT"}. claims is a jwt.Claims (its JSON is the
// payload, so a struct keeps its field order) or a map[string]any.
func SignRS256(key *rsa.PrivateKey, claims any) (string, error) {
	var c jwt.Claims
	switch v := claims.(type) {
	case jwt.Claims:
		c = v
	case map[string]any:
		c = jwt.MapClaims(v)
	default:
		return "", fmt.Errorf("sdk: sign JWT: claims of type %T are neither jwt.Claims nor map[string]any", claims)
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodRS256, c).SignedString(key)
	if err != nil {
		return "", fmt.Errorf("sdk: sign JWT: %w", err)
	}
	return tok, nil
}

// ParsePrivateKey reads a PEM RSA private key (PKCS#8 or PKCS#1). Like
// jsonwebtoken 9 in the JS SDKs, it refuses keys under 2048 bits.
func ParsePrivateKey(pemText string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return nil, errors.New("sdk: PrivateKey is not PEM")
	}
	var key *rsa.PrivateKey
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		key = k
	} else {
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("sdk: PrivateKey is not a PKCS#8 or PKCS#1 private key")
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, errors.New("sdk: PrivateKey is not an RSA key")
		}
		key = rk
	}
	if key.N.BitLen() < 2048 {
		return nil, fmt.Errorf("sdk: PrivateKey has %d bits; RS256 needs at least 2048", key.N.BitLen())
	}
	return key, nil
}
