package fakevonage_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/neru-dev/neru/cmd/neru/fakevonage"
	"github.com/neru-dev/neru/sdk"
)

func TestFake(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	f := fakevonage.New(fakevonage.Options{PublicKey: func(app string) *rsa.PublicKey {
		if app == "app-1" {
			return &key.PublicKey
		}
		return nil
	}})
	srv := httptest.NewServer(f)
	defer srv.Close()
	tok := func(k *rsa.PrivateKey, exp time.Duration) string {
		s, err := sdk.SignRS256(k, map[string]any{"application_id": "app-1", "iat": time.Now().Unix(), "exp": time.Now().Add(exp).Unix()})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good := tok(key, time.Minute)
	call := func(method, path, token, body string) (int, map[string]any) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		req.Header.Set("X-Forwarded-Host", "api.nexmo.com")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var out map[string]any
		_ = json.Unmarshal(raw, &out)
		return resp.StatusCode, out
	}
	tests := []struct {
		method, path, token, body string
		status                    int
		field                     string
	}{
		{"POST", "/v1/messages", good, `{"message_type":"text","text":"hi"}`, 202, "message_uuid"},
		{"POST", "/v0.1/messages", good, `{}`, 202, "message_uuid"},
		{"POST", "/v1/calls", good, `{}`, 201, "conversation_uuid"},
		{"GET", "/v1/calls/abc", good, ``, 200, "status"},
		{"PUT", "/v1/calls/abc", good, `{"action":"hangup"}`, 204, ""},
		{"PUT", "/v1/calls/abc/talk", good, `{"text":"x"}`, 200, "message"},
		{"POST", "/v0.3/conversations", good, `{"name":"n"}`, 200, "id"},
		{"POST", "/v0.3/conversations/CON-1/members", good, `{"state":"joined"}`, 200, "id"},
		{"POST", "/v0.3/conversations/CON-1/events", good, `{"type":"audio:say"}`, 200, "type"},
		{"POST", "/v0.3/users", good, `{"name":"dave"}`, 200, "id"},
		{"DELETE", "/v0.3/users/USR-1", good, ``, 204, ""},
		{"GET", "/beta/meetings/rooms/r-1", good, ``, 200, "id"},
		{"GET", "/account/numbers", good, ``, 200, "numbers"},
		{"GET", "/v2/nothing", good, ``, 404, "detail"},
		{"POST", "/v1/messages", "", `{}`, 401, "title"},
		{"POST", "/v1/messages", tok(other, time.Minute), `{}`, 401, "title"},
		{"POST", "/v1/messages", tok(key, -time.Minute), `{}`, 401, "title"},
	}
	for _, tt := range tests {
		status, out := call(tt.method, tt.path, tt.token, tt.body)
		if status != tt.status || (tt.field != "" && out[tt.field] == nil) {
			t.Errorf("%s %s: %d %v, want %d with %q", tt.method, tt.path, status, out, tt.status, tt.field)
		}
	}
	reqs := f.Requests()
	if len(reqs) != len(tests) || reqs[0].Host != "api.nexmo.com" || reqs[0].ApplicationID != "app-1" || reqs[0].Header.Get("Authorization") != "" ||
		!strings.Contains(string(reqs[0].Body), `"hi"`) || reqs[0].Status != 202 || len(reqs[0].Response) == 0 {
		t.Fatalf("recorded %+v", reqs[0])
	}
	if n := len(f.Messages()); n != 2 {
		t.Fatalf("Messages() = %d, want the 2 accepted message sends", n)
	}
	// The outbox endpoint lists and clears.
	resp, err := http.Get(srv.URL + fakevonage.OutboxPath)
	if err != nil {
		t.Fatal(err)
	}
	var box struct{ Requests []fakevonage.Request }
	_ = json.NewDecoder(resp.Body).Decode(&box)
	resp.Body.Close()
	if len(box.Requests) != len(tests) {
		t.Fatalf("outbox lists %d", len(box.Requests))
	}
	req, _ := http.NewRequest(http.MethodDelete, srv.URL+fakevonage.OutboxPath, nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 204 {
		t.Fatalf("clear: %v", err)
	}
	if len(f.Requests()) != 0 {
		t.Fatal("not cleared")
	}
}

// The bearer JWT rules, one case each: the application's key verifies
// RS256 only; exp and nbf hold; an application without a known key gets
// any signature accepted, but not a stale token.
func TestAuthorize(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	f := fakevonage.New(fakevonage.Options{Now: func() time.Time { return now }, PublicKey: func(app string) *rsa.PublicKey {
		if app == "app-1" {
			return &key.PublicKey
		}
		return nil
	}})
	rs := func(claims jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	hs := func(claims jwt.MapClaims, secret []byte) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	exp := now.Add(time.Minute).Unix()
	tests := []struct {
		name, token string
		status      int
		app         string
	}{
		{"good", rs(jwt.MapClaims{"application_id": "app-1", "exp": exp}), 202, "app-1"},
		{"no exp", rs(jwt.MapClaims{"application_id": "app-1"}), 202, "app-1"},
		{"expired", rs(jwt.MapClaims{"application_id": "app-1", "exp": now.Add(-time.Second).Unix()}), 401, "app-1"},
		{"not yet valid", rs(jwt.MapClaims{"application_id": "app-1", "exp": exp, "nbf": now.Add(time.Minute).Unix()}), 401, "app-1"},
		{"HS256 for a keyed app", hs(jwt.MapClaims{"application_id": "app-1", "exp": exp}, []byte("secret")), 401, "app-1"},
		{"no application_id", rs(jwt.MapClaims{"exp": exp}), 401, ""},
		{"not a JWT", "abc.def", 401, ""},
		{"unkeyed app, any signature", hs(jwt.MapClaims{"application_id": "app-2", "exp": exp}, []byte("x")), 202, "app-2"},
		{"unkeyed app, expired", hs(jwt.MapClaims{"application_id": "app-2", "exp": now.Add(-time.Second).Unix()}, []byte("x")), 401, "app-2"},
	}
	for _, tt := range tests {
		f.Reset()
		req := httptest.NewRequest(http.MethodPost, "/v1/messages", strings.NewReader(`{}`))
		req.Header.Set("Authorization", "Bearer "+tt.token)
		w := httptest.NewRecorder()
		f.ServeHTTP(w, req)
		reqs := f.Requests()
		if w.Code != tt.status || len(reqs) != 1 || reqs[0].ApplicationID != tt.app {
			t.Errorf("%s: %d, recorded %+v; want %d for application %q", tt.name, w.Code, reqs, tt.status, tt.app)
		}
	}
}
