package delivery

import (
	"context"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/neru-dev/neru/instance"
)

// Headers of a signed request to an app (Standard Webhooks, plus the JWT).
const (
	HeaderWebhookID        = "Webhook-Id"
	HeaderWebhookTimestamp = "Webhook-Timestamp"
	HeaderWebhookSignature = "Webhook-Signature"
)

const (
	// TokenLifetime is the lifetime of the JWT an app receives.
	TokenLifetime = 5 * time.Minute
	// tokenReuse is how long one minted JWT is sent: it is replaced a minute
	// before it expires, so an app never sees one about to lapse.
	tokenReuse = TokenLifetime - time.Minute
	// keyRetry is how soon a missing or unreadable key is looked up again.
	keyRetry = time.Minute
)

// Keys supplies an instance's Vonage application private key (the one
// vonage-api signs with, NERU_VONAGE_KEYS_DIR). Implementations are safe for
// concurrent use and never put key material in an error.
type Keys interface {
	VonageKey(ctx context.Context, in *instance.Instance) (*rsa.PrivateKey, error)
}

// Signer signs every request the platform makes to an app with two proofs:
//
//   - Authorization: Bearer <JWT>, RS256 with the instance's Vonage
//     application key, claims iat, exp (TokenLifetime), application_id,
//     instance_id — as Cloud Runtime apps receive. An RSA signature costs
//     about a millisecond of CPU, so the token is minted once per instance
//     and reused for tokenReuse: the per-request cost is a map lookup.
//   - webhook-id (the delivery id), webhook-timestamp and webhook-signature
//     "v1,<base64 HMAC-SHA256 of id.timestamp.body>", one per signing secret
//     of the instance (two during a rotation's overlap), Standard Webhooks.
//     The keyed HMAC states are pooled per instance, so a request pays for
//     hashing its body and nothing else.
//
// An instance without a key gets no JWT, and the Signer warns once.
// A Signer is safe for concurrent use.
type Signer struct {
	keys Keys
	log  *slog.Logger
	now  func() time.Time

	byInstance sync.Map // instance id → *instanceSigning
}

// NewSigner returns a Signer that reads keys from keys (nil: no JWTs).
func NewSigner(keys Keys, log *slog.Logger) *Signer {
	if log == nil {
		log = slog.Default()
	}
	return &Signer{keys: keys, log: log, now: time.Now}
}

type instanceSigning struct {
	mu     sync.Mutex // serialises renewals; readers never take it
	cur    atomic.Pointer[material]
	warned atomic.Bool
}

// material is what one instance's requests are signed with until renewAt.
type material struct {
	token   string // "Bearer <jwt>", or "" without a key
	renewAt time.Time
	secrets []string     // the signing secrets it was built from
	macs    []*sync.Pool // a pool of keyed HMAC states per secret
}

// Sign sets the signature headers of a request to in's app carrying body.
// id is the delivery id; a request sent again (a retry) keeps it.
func (s *Signer) Sign(ctx context.Context, in *instance.Instance, h http.Header, id string, body []byte) {
	now := s.now()
	m := s.material(ctx, in, now)
	if m.token != "" {
		h["Authorization"] = []string{m.token}
	}
	if len(m.macs) == 0 {
		return
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	h[HeaderWebhookID] = []string{id}
	h[HeaderWebhookTimestamp] = []string{ts}
	sig := make([]byte, 0, len(m.macs)*48)
	var sum [sha256.Size]byte
	for i, p := range m.macs {
		mac := p.Get().(hash.Hash)
		mac.Reset()
		mac.Write([]byte(id))
		mac.Write([]byte{'.'})
		mac.Write([]byte(ts))
		mac.Write([]byte{'.'})
		mac.Write(body)
		if i > 0 {
			sig = append(sig, ' ')
		}
		sig = append(sig, "v1,"...)
		sig = base64.StdEncoding.AppendEncode(sig, mac.Sum(sum[:0]))
		p.Put(mac)
	}
	h[HeaderWebhookSignature] = []string{string(sig)}
}

func (s *Signer) material(ctx context.Context, in *instance.Instance, now time.Time) *material {
	v, ok := s.byInstance.Load(in.ID)
	if !ok {
		v, _ = s.byInstance.LoadOrStore(in.ID, &instanceSigning{})
	}
	is := v.(*instanceSigning)
	if m := is.cur.Load(); m != nil && now.Before(m.renewAt) && sameSecrets(in, m.secrets, now) {
		return m
	}
	is.mu.Lock()
	defer is.mu.Unlock()
	if m := is.cur.Load(); m != nil && now.Before(m.renewAt) && sameSecrets(in, m.secrets, now) {
		return m // another request renewed it meanwhile
	}
	m := s.build(ctx, in, is, now)
	is.cur.Store(m)
	return m
}

// build mints the instance's JWT and keys its HMACs: once per tokenReuse,
// when its signing secrets change, or when a rotation's overlap ends.
func (s *Signer) build(ctx context.Context, in *instance.Instance, is *instanceSigning, now time.Time) *material {
	m := &material{}
	in.SigningSecrets(now, func(secret string) {
		m.secrets = append(m.secrets, secret)
		key, err := instance.DecodeDeliverySecret(secret)
		if err != nil {
			s.log.Error("a delivery signing secret is not base64; it does not sign", "instance", in.ID, "secret", instance.Fingerprint(secret))
			return
		}
		m.macs = append(m.macs, &sync.Pool{New: func() any { return hmac.New(sha256.New, key) }})
	})
	m.token = s.mint(ctx, in, is, now)
	m.renewAt = now.Add(keyRetry)
	if m.token != "" {
		m.renewAt = now.Add(tokenReuse)
	}
	for _, ds := range in.DeliverySecrets {
		if !ds.Until.IsZero() && now.Before(ds.Until) && ds.Until.Before(m.renewAt) {
			m.renewAt = ds.Until
		}
	}
	return m
}

// mint returns "Bearer <jwt>" for in, or "" (warning once) without a key.
func (s *Signer) mint(ctx context.Context, in *instance.Instance, is *instanceSigning, now time.Time) string {
	if s.keys == nil {
		s.warnOnce(is, in, "no Vonage application keys are configured (NERU_VONAGE_KEYS_DIR)")
		return ""
	}
	key, err := s.keys.VonageKey(ctx, in)
	if err != nil {
		s.warnOnce(is, in, err.Error())
		return ""
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iat":            now.Unix(),
		"exp":            now.Add(TokenLifetime).Unix(),
		"application_id": in.ApplicationID,
		"instance_id":    in.ID,
	}).SignedString(key)
	if err != nil {
		s.warnOnce(is, in, "cannot sign with the instance's key: "+err.Error())
		return ""
	}
	is.warned.Store(false) // a key that comes back and goes again warns again
	return "Bearer " + tok
}

func (s *Signer) warnOnce(is *instanceSigning, in *instance.Instance, why string) {
	if is.warned.CompareAndSwap(false, true) {
		s.log.Warn("requests to the app carry no JWT", "instance", in.ID, "reason", why)
	}
}

// sameSecrets reports whether in signs at now with exactly secrets.
func sameSecrets(in *instance.Instance, secrets []string, now time.Time) bool {
	i, same := 0, true
	in.SigningSecrets(now, func(s string) {
		if i >= len(secrets) || secrets[i] != s {
			same = false
		}
		i++
	})
	return same && i == len(secrets)
}
