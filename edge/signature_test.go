package edge

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/neru-dev/neru/cmd/neru/simulate"
)

func vonageJWT(t testing.TB, secret string, claims jwt.MapClaims) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestCheckVonageJWT(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"text":"hello"}`)
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	secrets := []string{"current-secret-1", "previous-secret"}
	sign := func(secret string, iat time.Time, payloadHash any) string {
		c := jwt.MapClaims{"iat": iat.Unix(), "jti": "x", "api_key": "k"}
		if payloadHash != nil {
			c["payload_hash"] = payloadHash
		}
		return vonageJWT(t, secret, c)
	}
	rs256 := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"iat": now.Unix()})
	none, _ := rs256.SignedString(jwt.UnsafeAllowNoneSignatureType)
	for _, tc := range []struct {
		name, auth string
		ok         bool
	}{
		{"current secret with payload_hash", "Bearer " + sign("current-secret-1", now, hash), true},
		{"previous secret", "Bearer " + sign("previous-secret", now.Add(-time.Minute), hash), true},
		{"no payload_hash claim", "Bearer " + sign("current-secret-1", now, nil), true},
		{"scheme in lower case", "bearer " + sign("current-secret-1", now, hash), true},
		{"upper-case hash", "BEARER " + sign("current-secret-1", now, hex.EncodeToString(sum[:])), true},
		{"unsigned", "", false},
		{"not bearer", "Basic " + sign("current-secret-1", now, hash), false},
		{"wrong secret", "Bearer " + sign("someone-else", now, hash), false},
		{"body tampered", "Bearer " + sign("current-secret-1", now, hex.EncodeToString(make([]byte, 32))), false},
		{"payload_hash not a string", "Bearer " + sign("current-secret-1", now, 42), false},
		{"stale iat", "Bearer " + sign("current-secret-1", now.Add(-time.Hour), hash), false},
		{"iat in the future", "Bearer " + sign("current-secret-1", now.Add(time.Hour), hash), false},
		{"no iat", "Bearer " + vonageJWT(t, "current-secret-1", jwt.MapClaims{"payload_hash": hash}), false},
		{"alg none", "Bearer " + none, false},
		{"garbage", "Bearer a.b.c", false},
	} {
		err := checkVonageJWT(tc.auth, secrets, body, now, 5*time.Minute)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

// FuzzCheckVonageJWT feeds arbitrary Authorization values and bodies to the
// signature check: it must never panic, and never accept a token that was
// not signed with one of the secrets.
func FuzzCheckVonageJWT(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	f.Add("Bearer "+vonageJWT(f, "fuzz-secret-01", jwt.MapClaims{"iat": now.Unix()}), []byte(`{}`))
	f.Add("Bearer eyJhbGciOiJIUzI1NiJ9.e30.x", []byte(nil))
	f.Add("bearer  ", []byte("x"))
	f.Add("Bearer a.b", []byte("{"))
	f.Fuzz(func(t *testing.T, auth string, body []byte) {
		if err := checkVonageJWT(auth, []string{"another-secret"}, body, now, 5*time.Minute); err == nil {
			t.Fatalf("accepted %q without the secret", auth)
		}
		_ = checkVonageJWT(auth, []string{"fuzz-secret-01"}, body, now, 5*time.Minute)
	})
}

// What `neru simulate --signature-secret` sends is what the edge accepts:
// the tool and the check agree on Vonage's form.
func TestSimulateSignsWhatTheEdgeAccepts(t *testing.T) {
	now := time.Now()
	body := []byte(`{"message_uuid":"m-1","text":"hi"}`)
	tok, err := simulate.Sign("sim-secret", "app-1", body, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkVonageJWT("Bearer "+tok, []string{"old", "sim-secret"}, body, now, 5*time.Minute); err != nil {
		t.Fatalf("a webhook signed by simulate is refused: %v", err)
	}
	if err := checkVonageJWT("Bearer "+tok, []string{"sim-secret"}, append(body, ' '), now, 5*time.Minute); err == nil {
		t.Fatal("a simulate token verified another body")
	}
}
