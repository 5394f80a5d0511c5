package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/neru-dev/neru/sdk"
	"github.com/neru-dev/neru/state"
)

// jwtOf builds a token from raw header and claims, signed by sign.
func jwtOf(header, claims any, sign func(signing string) []byte) string {
	enc := base64.RawURLEncoding
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	signing := enc.EncodeToString(h) + "." + enc.EncodeToString(c)
	return signing + "." + enc.EncodeToString(sign(signing))
}

// Every way a token can be wrong is a 401 JSON error that changes nothing;
// a right token acts as its instance, and only as that one.
func TestJWTAuthentication(t *testing.T) {
	h := start(t)
	tn := h.addTenant("inst-b", "app-b", "acct-b")
	other := testKey(t, "someone-else")
	set := func(key string) []byte {
		return []byte(`{"operation":"SET","namespace":"state:s1","key":"` + key + `","args":["\"v\""]}`)
	}
	withClaims := func(edit func(map[string]any)) string {
		c := tn.claims()
		edit(c)
		tok, err := sdk.SignRS256(tn.key, c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	now := time.Now().Unix()
	good := tn.token(t)
	parts := strings.Split(good, ".")
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sig[10] ^= 0xff
	forged := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)
	// The payload of a good token with another instance's application id
	// keeps the good signature: it no longer verifies.
	swapped := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"aud":"provider","api_application_id":"`+appID+`","exp":`+jsonNum(now+300)+`}`)) + "." + parts[2]
	wrongKey, _ := sdk.SignRS256(other, tn.claims())
	none := jwtOf(map[string]string{"alg": "none", "typ": "JWT"}, tn.claims(), func(string) []byte { return nil })
	// HS256 keyed with the public key PEM: the classic algorithm confusion.
	hs256 := jwtOf(map[string]string{"alg": "HS256", "typ": "JWT"}, tn.claims(), func(s string) []byte {
		m := hmac.New(sha256.New, []byte(tn.inst.PublicKey))
		m.Write([]byte(s))
		return m.Sum(nil)
	})
	bad := []struct{ name, token string }{
		{"forged signature", forged},
		{"claims of another instance under a good signature", swapped},
		{"signed with another key", wrongKey},
		{"alg none", none},
		{"alg HS256 with the public key", hs256},
		{"expired beyond the skew", withClaims(func(c map[string]any) { c["exp"], c["iat"] = now-120, now-420 })},
		{"issued in the future", withClaims(func(c map[string]any) { c["iat"], c["exp"] = now+600, now+900 })},
		{"no exp", withClaims(func(c map[string]any) { delete(c, "exp") })},
		{"wrong audience", withClaims(func(c map[string]any) { c["aud"] = "someone" })},
		{"unknown application", withClaims(func(c map[string]any) { c["api_application_id"] = "no-such-app" })},
		{"not a JWT", "hello"},
		{"empty bearer", ""},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			key := "bad-" + strings.ReplaceAll(b.name, " ", "-")
			req, _ := http.NewRequest(http.MethodPost, h.command.URL+"/?func=client-persistence-api.neru&async=false", strings.NewReader(string(set(key))))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+b.token)
			r := do(t, http.DefaultClient, req)
			if r.Status != http.StatusUnauthorized || r.errCode() != "unauthorized" {
				t.Fatalf("%d %s, want 401 unauthorized", r.Status, r.Body)
			}
			for _, tnt := range []state.Tenant{tenantOf(tn.inst), tenantOf(h.inst)} {
				if got := h.stateGet(tnt, "state:s1", key); got != "null" {
					t.Fatalf("a refused request stored %s for %s", got, tnt.InstanceID)
				}
			}
		})
	}

	t.Run("valid, and within the clock skew", func(t *testing.T) {
		for key, tok := range map[string]string{
			"good":         good,
			"just-expired": withClaims(func(c map[string]any) { c["exp"], c["iat"] = now-30, now-330 }),
			// The SDKs leave out claims whose variables are unset.
			"minimal": withClaims(func(c map[string]any) { delete(c, "sub"); delete(c, "api_account_id") }),
		} {
			// The headers claim to be the dev instance: ignored.
			if r := h.sdkPost("client-persistence-api", "", tok, set(key), "X-Neru-InstanceId", "e2e", "X-Neru-ApiAccountId", "x"); r.Status != 200 {
				t.Fatalf("%s: %d %s", key, r.Status, r.Body)
			}
			if got := h.stateGet(tenantOf(tn.inst), "state:s1", key); got != `"\"v\""` {
				t.Fatalf("%s: inst-b has %s", key, got)
			}
			if got := h.stateGet(tenantOf(h.inst), "state:s1", key); got != "null" {
				t.Fatalf("%s: the claimed dev instance got %s", key, got)
			}
		}
	})

	t.Run("no token: the dev instance, from loopback only", func(t *testing.T) {
		if r := h.sdkPost("client-persistence-api", "", "", set("devkey"), "X-Neru-InstanceId", "inst-b"); r.Status != 200 {
			t.Fatalf("loopback without a token: %d %s", r.Status, r.Body)
		}
		if h.stateGet(tenantOf(h.inst), "state:s1", "devkey") == "null" || h.stateGet(tenantOf(tn.inst), "state:s1", "devkey") != "null" {
			t.Fatal("a request without a token did not act as the dev instance")
		}
		g, err := h.p.Gateway()
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodPost, "/?func=client-persistence-api.neru&async=false", strings.NewReader(string(set("remote"))))
		req.RemoteAddr = "203.0.113.7:41234"
		rec := httptest.NewRecorder()
		g.CommandHandler().ServeHTTP(rec, req)
		if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), `"unauthorized"`) {
			t.Fatalf("remote without a token: %d %s", rec.Code, rec.Body)
		}
		// A dev instance that is not marked Unauthenticated takes no
		// token-less calls, even from loopback.
		strict := *h.p // the same wiring, another dev instance
		strict.Config.Gateway.DevInstanceID = "inst-b"
		g2, err := strict.Gateway()
		if err != nil {
			t.Fatal(err)
		}
		req = httptest.NewRequest(http.MethodPost, "/?func=client-persistence-api.neru&async=false", strings.NewReader(string(set("strict"))))
		req.RemoteAddr = "127.0.0.1:41234"
		rec = httptest.NewRecorder()
		g2.CommandHandler().ServeHTTP(rec, req)
		if rec.Code != http.StatusUnauthorized {
			t.Fatalf("token-less call to an authenticated dev instance: %d %s", rec.Code, rec.Body)
		}
		if h.stateGet(tenantOf(tn.inst), "state:s1", "strict") != "null" || h.stateGet(tenantOf(tn.inst), "state:s1", "remote") != "null" {
			t.Fatal("a refused request changed state")
		}
	})

	t.Run("telemetry stays 2xx without a valid token", func(t *testing.T) {
		for _, p := range []string{"events-submission", "logs-submission"} {
			if r := h.sdkPost(p, "", forged, []byte(`{"event_type":"session_created","session_id":"s9"}`)); r.Status != 200 {
				t.Fatalf("%s: %d %s", p, r.Status, r.Body)
			}
		}
	})
}

func jsonNum(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// Verified tokens are remembered until they expire, but a rotated key (or a
// deleted instance) must still refuse a token signed with the old key.
func TestRememberedTokenFollowsKeyRotation(t *testing.T) {
	h := start(t)
	tn := h.addTenant("rot", "rot-app", "rot-acct")
	tok := tn.token(t)
	set := []byte(`{"operation":"SET","namespace":"state:s1","key":"k","args":["\"v\""]}`)
	for range 2 { // the second call is answered from the remembered verification
		if r := h.sdkPost("client-persistence-api", "", tok, set); r.Status != 200 {
			t.Fatalf("valid token: %d %s", r.Status, r.Body)
		}
	}
	ctx := context.Background()
	if err := h.p.Instances.Delete(ctx, "rot"); err != nil {
		t.Fatal(err)
	}
	rotated := *tn.inst
	rotated.PublicKey = publicPEM(t, testKey(t, "rot-new"))
	if err := h.p.Instances.Create(ctx, &rotated); err != nil {
		t.Fatal(err)
	}
	if r := h.sdkPost("client-persistence-api", "", tok, set); r.Status != 401 {
		t.Fatalf("token signed with the old key after rotation: %d %s, want 401", r.Status, r.Body)
	}
}
