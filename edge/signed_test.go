package edge_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/neru-dev/neru/instance"
)

// An instance with signature secrets takes only webhooks Vonage signed:
// anything else is 401 bad_signature and nothing is published.
func TestSignedWebhooks(t *testing.T) {
	h := start(t)
	h.listen("cb-1", "s-1", "CALL-9")
	secrets := []string{"new-signature-secret", "old-signature-secret"}
	if _, err := h.p.Instances.Update(context.Background(), "shop", instance.Settings{SignatureSecrets: &secrets}); err != nil {
		t.Fatal(err)
	}
	body := `{"uuid":"CALL-9","status":"answered"}`
	sum := sha256.Sum256([]byte(body))
	sign := func(secret string, iat time.Time, hash string) string {
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iat": iat.Unix(), "payload_hash": hash}).SignedString([]byte(secret))
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + tok
	}
	post := func(auth string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, h.public.URL+"/webhooks/app-1/voice/event", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	good := hex.EncodeToString(sum[:])
	for name, auth := range map[string]string{
		"unsigned":      "",
		"wrong secret":  sign("not-the-secret-at-all", time.Now(), good),
		"body tampered": sign("new-signature-secret", time.Now(), hex.EncodeToString(make([]byte, 32))),
		"stale":         sign("new-signature-secret", time.Now().Add(-time.Hour), good),
	} {
		status, out := post(auth)
		if status != http.StatusUnauthorized || !strings.Contains(out, `"code":"bad_signature"`) || strings.Contains(out, "secret\"") {
			t.Errorf("%s: %d %s", name, status, out)
		}
	}
	if h.stored() != 0 {
		t.Fatalf("refused webhooks were published: %d", h.stored())
	}
	if status, out := post(sign("old-signature-secret", time.Now(), good)); status != http.StatusOK {
		t.Fatalf("signed with the previous secret: %d %s", status, out)
	}
	if h.stored() != 1 {
		t.Fatalf("stream holds %d, want the one signed webhook", h.stored())
	}
}

// A signed GET webhook has no body: its token carries no payload_hash, or
// the hash of the empty body; any other hash is refused.
func TestSignedGetWebhooks(t *testing.T) {
	h := start(t)
	h.listen("cb-1", "s-1", "CALL-G")
	secrets := []string{"get-signature-secret"}
	if _, err := h.p.Instances.Update(context.Background(), "shop", instance.Settings{SignatureSecrets: &secrets}); err != nil {
		t.Fatal(err)
	}
	empty := sha256.Sum256(nil)
	get := func(claims jwt.MapClaims) int {
		req, _ := http.NewRequest(http.MethodGet, h.public.URL+"/webhooks/app-1/voice/event?uuid=CALL-G&status=answered", nil)
		if claims != nil {
			tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secrets[0]))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	other := sha256.Sum256([]byte("uuid=CALL-G&status=answered"))
	if code := get(nil); code != http.StatusUnauthorized {
		t.Fatalf("unsigned GET: %d", code)
	}
	if code := get(jwt.MapClaims{"iat": time.Now().Unix(), "payload_hash": hex.EncodeToString(other[:])}); code != http.StatusUnauthorized {
		t.Fatalf("GET with a hash of something else: %d", code)
	}
	if h.stored() != 0 {
		t.Fatalf("refused GETs were published: %d", h.stored())
	}
	if code := get(jwt.MapClaims{"iat": time.Now().Unix()}); code != http.StatusOK {
		t.Fatalf("signed GET without payload_hash: %d", code)
	}
	if code := get(jwt.MapClaims{"iat": time.Now().Unix(), "payload_hash": hex.EncodeToString(empty[:])}); code != http.StatusOK {
		t.Fatalf("signed GET with the empty body's hash: %d", code)
	}
	// Both are the same event (same query): stored once.
	if h.stored() != 1 {
		t.Fatalf("stream holds %d, want the one GET event", h.stored())
	}
}
