package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/neru-dev/neru/internal/testenv"
	"github.com/neru-dev/neru/sdk"
)

// The SDKs' vonage-api captures go through the proxy to the (fake) Vonage
// API: the app gets Vonage's status and body, Vonage gets the instance's
// application JWT, which the app never held.
func TestVonageAPICaptures(t *testing.T) {
	opt, fake := withFakeVonage(t, map[string]string{"e2e": appID, capInstance: capApp})
	h := start(t, opt)
	tn := h.addTenant(capInstance, capApp, capAccount)
	tests := []struct {
		file   string
		tn     *tenant // nil: neru DEBUG mode, no token (the dev instance)
		status int
		host   string
		path   string
		check  func(t *testing.T, body []byte)
	}{
		{"neru-alpha-5.1.0/vonage-api-invoke--messages.sendText.json", nil, 202, "api.nexmo.com", "/v0.1/messages", hasField("message_uuid")},
		{"neru-alpha-5.1.0/vonage-api-invoke--messages.send.json", nil, 202, "api.nexmo.com", "/v1/messages", hasField("message_uuid")},
		{"neru-alpha-5.1.0/vonage-api-invoke--voice.createConversation.json", nil, 200, "api.nexmo.com", "/v0.3/conversations", hasField("id")},
		{"neru-alpha-5.1.0/vonage-api-invoke--voice.uploadNCCO.json", nil, 204, "api.nexmo.com", "/v1/calls/63f61863-4a51-4f6b-86e1-46edebcf9356", empty},
		{"neru-alpha-5.1.0/vonage-api-invoke--users.deleteUser.json", nil, 204, "api.nexmo.com", "", empty},
		{"neru-alpha-5.1.0/vonage-api-invoke--conversation.acceptInboundCall.json", nil, 200, "api.nexmo.com", "", hasField("id")},
		{"vcr-sdk-1.3.0/vonage-api-POST_invoke--vonageAPI.invoke_calls.json", tn, 201, "api-eu.vonage.com", "/v1/calls", hasField("uuid")},
		{"vcr-sdk-1.3.0/vonage-api-POST_invoke--vonageAPI.invoke_messages.json", tn, 202, "api-eu.vonage.com", "/v1/messages", hasField("message_uuid")},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			fake.Reset()
			c := loadCapture(t, tt.file)
			r := h.replay(c, "debug", tt.tn)
			if r.Status != tt.status || r.Status != c.Response.Status {
				t.Fatalf("%d %s, want %d as captured", r.Status, r.Body, tt.status)
			}
			tt.check(t, r.Body)
			reqs := fake.Requests()
			if len(reqs) != 1 {
				t.Fatalf("the fake got %d requests, want 1", len(reqs))
			}
			got := reqs[0]
			wantApp := appID
			if tt.tn != nil {
				wantApp = capApp
			}
			if got.Host != tt.host || (tt.path != "" && got.Path != tt.path) || got.ApplicationID != wantApp || got.Status != tt.status {
				t.Fatalf("upstream request %+v; want host %s path %s app %s", got, tt.host, tt.path, wantApp)
			}
			if got.Header.Get("X-Custom") != "" || got.Header.Get("X-Neru-SessionId") != "" {
				t.Fatalf("unsafe headers forwarded: %v", got.Header)
			}
		})
	}
}

func hasField(name string) func(*testing.T, []byte) {
	return func(t *testing.T, body []byte) {
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil || m[name] == nil || m[name] == "" {
			t.Fatalf("reply %s has no %q", body, name)
		}
	}
}

func empty(t *testing.T, body []byte) {
	if len(body) != 0 {
		t.Fatalf("reply %q, want empty (204)", body)
	}
}

// Only Vonage API hosts, over https, are reached; everything else is a 403
// and nothing is sent.
func TestVonageAPIAllowList(t *testing.T) {
	opt, fake := withFakeVonage(t, map[string]string{"e2e": appID})
	h := start(t, opt)
	s := h.sdk.NewSession()
	for _, u := range []string{
		"https://evil.example/v1/messages",
		"http://api.nexmo.com/v1/messages",
		"https://api.nexmo.com.evil.example/v1/messages",
		"https://api-eu.vonage.com.attacker.net/v1/calls",
		"https://api-x.evil.vonage.com/v1/calls",
		"https://user:pw@api.nexmo.com/v1/messages",
		"https://api.nexmo.com:8443/v1/messages",
		"https://169.254.169.254/latest/meta-data",
		"https://127.0.0.1/admin/v1/instances",
		"https://localhost/v1/messages",
		"ftp://api.nexmo.com/x",
	} {
		_, err := s.VonageAPI().Invoke(context.Background(), u, "POST", map[string]string{"text": "x"}, nil)
		var e *sdk.Error
		if !errors.As(err, &e) || e.Status != http.StatusForbidden || e.Code != "upstream_forbidden" {
			t.Errorf("%s: %v, want 403 upstream_forbidden", u, err)
		}
	}
	for _, bad := range []string{"not a url", "/v1/messages"} {
		_, err := s.VonageAPI().Invoke(context.Background(), bad, "GET", nil, nil)
		var e *sdk.Error
		if !errors.As(err, &e) || e.Status != http.StatusBadRequest {
			t.Errorf("%q: %v, want 400", bad, err)
		}
	}
	if n := len(fake.Requests()); n != 0 {
		t.Fatalf("the fake got %d requests", n)
	}
	// Regional hosts are allowed.
	for _, u := range []string{"https://api-us-3.vonage.com/v1/calls", "https://API.NEXMO.COM/v1/calls", "https://api-ap.vonage.com:443/v1/calls"} {
		if _, err := s.VonageAPI().Invoke(context.Background(), u, "POST", map[string]any{}, nil); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
}

// Upstream errors and headers: Vonage's status and body reach the app
// as they are; the app chooses only safe headers; a 4xx is the app's
// error, not the platform's.
func TestVonageAPIRelay(t *testing.T) {
	opt, fake := withFakeVonage(t, map[string]string{"e2e": appID})
	h := start(t, opt)
	s := h.sdk.NewSession()
	ctx := context.Background()
	_, err := s.VonageAPI().Invoke(ctx, "https://api.nexmo.com/v2/unknown", "GET", nil, nil)
	var e *sdk.Error
	if !errors.As(err, &e) || e.Status != 404 || !bytes.Contains(e.Body, []byte("does not implement")) {
		t.Fatalf("unknown upstream path: %v, want Vonage's 404 body", err)
	}
	fake.Reset()
	_, err = s.VonageAPI().Invoke(ctx, "https://api.nexmo.com/v1/calls", "POST", map[string]any{"to": []any{}},
		map[string]string{"Accept-Language": "en-GB", "Authorization": "Bearer stolen", "X-Forwarded-For": "1.2.3.4", "Cookie": "a=b"})
	if err != nil {
		t.Fatal(err)
	}
	got := fake.Requests()[0]
	if got.Header.Get("Accept-Language") != "en-GB" || got.Header.Get("Content-Type") != "application/json" ||
		got.Header.Get("Cookie") != "" || got.Header.Get("X-Forwarded-For") != "" || got.ApplicationID != appID {
		t.Fatalf("upstream headers %v (app %q)", got.Header, got.ApplicationID)
	}
	// An instance without a Vonage key gets a clear 503, and nothing is sent.
	fake.Reset()
	tn := h.addTenant("no-key", "app-no-key", "")
	_, err = tn.client(h).NewSession().VonageAPI().Invoke(ctx, "https://api.nexmo.com/v1/calls", "POST", map[string]any{}, nil)
	if !errors.As(err, &e) || e.Status != http.StatusServiceUnavailable || e.Code != "no_vonage_credentials" || len(fake.Requests()) != 0 {
		t.Fatalf("no key: %v, %d upstream requests", err, len(fake.Requests()))
	}
}

// neru's .onSuccess/.onError: the outcome reaches the app's route in the
// session, through the stream; a callback cannot point anywhere else.
func TestVonageAPICallbacks(t *testing.T) {
	opt, fake := withFakeVonage(t, map[string]string{"e2e": appID})
	h := start(t, opt)
	h.startWorker()
	// The captured uploadNCCO.onSuccess.onError, from neru in DEBUG mode.
	c := loadCapture(t, "neru-alpha-5.1.0/vonage-api-invoke--voice.uploadNCCO.onSuccess.onError.json")
	if r := h.replay(c, "debug", nil); r.Status != 204 {
		t.Fatalf("invoke: %d %s", r.Status, r.Body)
	}
	testenv.Eventually(t, 20*time.Second, func() bool { return len(h.app.requests("/onInvokeOk")) == 1 }, "success callback")
	got := h.app.requests("/onInvokeOk")[0]
	var out struct {
		URL, Method string
		Status      int
	}
	if err := json.Unmarshal(got.Body, &out); err != nil || out.Status != 204 || out.Method != "PUT" || got.Session != "66726a67-bd25-441c-bd1e-cfdd4c9dc927" {
		t.Fatalf("success callback %s in session %s", got.Body, got.Session)
	}
	// An upstream error goes to the error route.
	s := h.sdk.NewSession()
	_, err := s.VonageAPI().Do(context.Background(), sdk.Invoke{URL: "https://api.nexmo.com/v9/nothing", Method: "GET", OnSuccess: "/ok", OnError: "/failed"})
	var e *sdk.Error
	if !errors.As(err, &e) || e.Status != 404 {
		t.Fatalf("invoke: %v", err)
	}
	testenv.Eventually(t, 20*time.Second, func() bool { return len(h.app.requests("/failed")) == 1 }, "error callback")
	if f := h.app.requests("/failed")[0]; f.Session != s.ID || !bytes.Contains(f.Body, []byte(`"status":404`)) || !bytes.Contains(f.Body, []byte(`"error"`)) {
		t.Fatalf("error callback %s in %s", f.Body, f.Session)
	}
	if len(h.app.requests("/ok")) != 0 {
		t.Fatal("success callback of a failed call")
	}
	// Callbacks that leave the app are refused before anything is sent.
	fake.Reset()
	for _, path := range []string{"https://evil.example/cb", "//evil.example/cb", "../../admin"} {
		body := `{"actions":[{"provider":"vonage-api","action":"invoke","payload":{"url":"https://api.nexmo.com/v1/messages","method":"POST","body":{}},` +
			`"successCallback":{"filters":[],"id":"x","sessionId":"s","instanceId":"e2e","path":"` + path + `"}}]}`
		if r := h.sdkPost("vonage-api", "", "", []byte(body)); r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "callback path") {
			t.Errorf("callback %q: %d %s, want 400", path, r.Status, r.Body)
		}
	}
	if n := len(fake.Requests()); n != 0 {
		t.Fatalf("refused invokes reached Vonage %d times", n)
	}
}
