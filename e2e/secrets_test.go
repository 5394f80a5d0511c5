package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// The admin API takes signature secrets and returns the delivery signing
// secret once, at creation (and at rotation); reads show fingerprints only.
func TestAdminSecretsShownOnce(t *testing.T) {
	h := start(t)
	var created map[string]any
	code := h.sessAdmin(http.MethodPost, "/instances", map[string]any{
		"id": "signed", "baseUrl": "https://signed.example", "applicationId": "app-signed",
		"signatureSecrets": []string{"vonage-signature-secret"},
	}, &created)
	secret, _ := created["deliverySigningSecret"].(string)
	if code != http.StatusCreated || !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("create: %d %v", code, created)
	}
	var got map[string]any
	if code := h.sessAdmin(http.MethodGet, "/instances/signed", nil, &got); code != 200 {
		t.Fatalf("get: %d", code)
	}
	raw, _ := json.Marshal(got)
	if strings.Contains(string(raw), "vonage-signature-secret") || strings.Contains(string(raw), secret[6:]) ||
		got["deliverySigningSecret"] != nil || len(got["signatureSecretFingerprints"].([]any)) != 1 {
		t.Fatalf("GET shows secrets: %s", raw)
	}
	var rotated map[string]any
	if code := h.sessAdmin(http.MethodPost, "/instances/signed/delivery-signing-secret/rotate?overlap=1h", nil, &rotated); code != 200 {
		t.Fatalf("rotate: %d", code)
	}
	if next, _ := rotated["deliverySigningSecret"].(string); next == secret || !strings.HasPrefix(next, "whsec_") ||
		len(rotated["deliverySigningSecrets"].([]any)) != 2 {
		t.Fatalf("rotated: %v", rotated)
	}
	if code := h.sessAdmin(http.MethodPatch, "/instances/signed", map[string]any{"signatureSecrets": []string{"x"}}, nil); code != http.StatusBadRequest {
		t.Fatalf("a 1-character signature secret: %d", code)
	}
}
