package sdk

import (
	"testing"
	"time"
)

// FuzzVerifySignature feeds arbitrary Standard Webhooks headers to the
// parser and check: never a panic, and nothing verifies without the secret's
// HMAC.
func FuzzVerifySignature(f *testing.F) {
	f.Add("v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4= v2,abc", "1800000000", "msg_1", []byte(`{}`))
	f.Add("v1,", "x", "", []byte(nil))
	f.Add("v1,@@@ v1,AAAA", "-1", "id", []byte("body"))
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	f.Fuzz(func(t *testing.T, header, ts, id string, body []byte) {
		if len(ParseSignatures(header)) > 16 {
			t.Fatal("unbounded signatures")
		}
		if VerifySignature(secret, id, ts, header, body, time.Unix(1_800_000_000, 0)) == nil {
			t.Fatalf("verified %q without the HMAC", header)
		}
	})
}
