package instance

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"
)

// DeliverySecretPrefix starts every delivery signing secret, as Standard
// Webhooks libraries expect: the rest is the base64 HMAC key.
const DeliverySecretPrefix = "whsec_"

// DeliverySecret is one secret that signs the platform's requests to the
// app (webhook-signature, Standard Webhooks). The current secret has a zero
// Until; a rotated-out one keeps signing until Until, so an app can switch
// secrets without a window in which it rejects the platform.
type DeliverySecret struct {
	Secret string    `json:"secret"`
	Until  time.Time `json:"until,omitzero"`
}

// NewDeliverySecret returns a fresh whsec_ secret (32 random bytes).
func NewDeliverySecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return DeliverySecretPrefix + base64.StdEncoding.EncodeToString(b[:])
}

// SigningSecrets calls fn with each delivery secret that signs at now,
// current first, without allocating (it runs per request).
func (in *Instance) SigningSecrets(now time.Time, fn func(secret string)) {
	for _, s := range in.DeliverySecrets {
		if s.Until.IsZero() || now.Before(s.Until) {
			fn(s.Secret)
		}
	}
}

// Fingerprint names a secret without revealing it: "sha256:" and the first
// 16 hex digits of its SHA-256. Admin responses and logs show this only.
func Fingerprint(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return "sha256:" + hex.EncodeToString(sum[:8])
}

// DecodeDeliverySecret returns the HMAC key of a whsec_ secret.
func DecodeDeliverySecret(secret string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, DeliverySecretPrefix))
}

// record is an instance as stored in Redis: the Instance's own fields plus
// its secrets, which the Instance never serialises itself (its JSON is what
// the admin API answers, and secrets must not appear there).
type record struct {
	*Instance
	SignatureSecrets []string         `json:"signatureSecrets,omitempty"`
	DeliverySecrets  []DeliverySecret `json:"deliverySecrets,omitempty"`
}

func encodeRecord(in *Instance) ([]byte, error) {
	return json.Marshal(record{Instance: in, SignatureSecrets: in.SignatureSecrets, DeliverySecrets: in.DeliverySecrets})
}

func decodeRecord(raw []byte) (*Instance, error) {
	r := record{Instance: new(Instance)}
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, err
	}
	r.Instance.SignatureSecrets, r.Instance.DeliverySecrets = r.SignatureSecrets, r.DeliverySecrets
	return r.Instance, nil
}

// rotate puts a new current secret first; every secret still signing stops
// at until (or earlier, if it was to stop before), and expired ones go.
func rotate(old []DeliverySecret, until time.Time) []DeliverySecret {
	out := []DeliverySecret{{Secret: NewDeliverySecret()}}
	now := time.Now()
	for _, s := range old {
		if !s.Until.IsZero() && !now.Before(s.Until) {
			continue
		}
		if s.Until.IsZero() || s.Until.After(until) {
			s.Until = until
		}
		if now.Before(s.Until) {
			out = append(out, s)
		}
	}
	return out
}
