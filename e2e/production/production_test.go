package production_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/neru-dev/neru/cmd/neru/simulate"
	"github.com/neru-dev/neru/internal/proctest"
	"github.com/neru-dev/neru/internal/testenv"
	"github.com/neru-dev/neru/sdk"
)

const (
	currentSecret  = "vonage-signature-secret-current"
	previousSecret = "vonage-signature-secret-previous"
)

// vonageSignature is the Authorization header Vonage puts on a signed
// webhook: an HS256 JWT with the signature secret, iat, and the hex SHA-256
// of the body it signs as payload_hash.
func vonageSignature(t *testing.T, secret string, signedBody []byte, iat time.Time) string {
	t.Helper()
	tok, err := simulate.Sign(secret, appID, signedBody, iat) // as neru simulate --signature-secret signs
	if err != nil {
		t.Fatal(err)
	}
	return "Bearer " + tok
}

// The production gateway and worker, with the app on loopback allowed by
// NERU_APP_NETWORKS and an instance created through the admin API with two
// signature secrets (a rotation in progress) and a Vonage key: forged,
// tampered and stale webhooks are refused with 401 and never reach the app;
// webhooks signed with either secret do (a GET answer too), and every request the app gets
// verifies with the instance's public key and delivery signing secret
// (sdk.VerifyRequest), while the same request with its body changed on the
// way does not; the app's public URL proxies a GET and a POST to it.
func TestSignedWebhooksAndSignedDeliveries(t *testing.T) {
	key := newAppKey(t)
	a := newApp(t)
	env := append(servers(t), "NERU_ADMIN_TOKEN="+adminToken, "NERU_APP_NETWORKS=127.0.0.0/8",
		"NERU_VONAGE_KEYS_DIR="+key.dir, "NERU_BACKOFF_BASE=50ms", "NERU_BACKOFF_MAX=1s")
	p := startPlatform(t, env)
	deliverySecret, client := p.createInstance(t, a.srv.URL, key, []string{currentSecret, previousSecret})

	// The listener, registered by the Go SDK on the command endpoint with
	// an RS256 token signed by the instance's key.
	const customer = "447700900123"
	s := client.NewSession()
	if _, err := s.OnMessage(context.Background(), "/onMessage", sdk.Contact{Type: "sms", Number: customer}, sdk.Contact{Type: "sms", Number: ourNumber}); err != nil {
		t.Fatalf("register the listener: %v", err)
	}

	now := time.Now()
	refused := []struct {
		name, text string
		auth       func(body []byte) string
	}{
		{"unsigned", "unsigned", func([]byte) string { return "" }},
		{"wrong secret", "wrong-secret", func(b []byte) string { return vonageSignature(t, "not-the-instance-secret-at-all", b, now) }},
		{"body tampered", "tampered", func([]byte) string {
			return vonageSignature(t, currentSecret, inboundSMS(customer, "what-was-signed"), now)
		}},
		{"stale", "stale", func(b []byte) string { return vonageSignature(t, currentSecret, b, now.Add(-time.Hour)) }},
		{"another scheme", "basic", func(b []byte) string {
			return "Basic " + strings.TrimPrefix(vonageSignature(t, currentSecret, b, now), "Bearer ")
		}},
	}
	for _, tt := range refused {
		body := inboundSMS(customer, tt.text)
		code, answer := p.webhook(t, body, tt.auth(body))
		if code != http.StatusUnauthorized || !strings.Contains(answer, `"bad_signature"`) {
			t.Errorf("%s webhook: %d %s, want 401 bad_signature", tt.name, code, answer)
		}
	}

	// Signed with the previous secret, then with the current one (the
	// scheme in lower case: RFC 6750 matches it case-insensitively).
	prev := inboundSMS(customer, "signed-previous")
	if code, answer := p.webhook(t, prev, vonageSignature(t, previousSecret, prev, time.Now())); code != http.StatusOK {
		t.Fatalf("webhook signed with the previous secret: %d %s", code, answer)
	}
	cur := inboundSMS(customer, "signed-current")
	if code, answer := p.webhook(t, cur, "bearer "+strings.TrimPrefix(vonageSignature(t, currentSecret, cur, time.Now()), "Bearer ")); code != http.StatusOK {
		t.Fatalf("webhook signed with the current secret: %d %s", code, answer)
	}
	// One session's deliveries arrive in order, so once the last accepted
	// one is in, any refused webhook that had been published would be too.
	testenv.Eventually(t, 30*time.Second, func() bool { return len(a.requests()) >= 2 }, "both signed webhooks delivered")
	got := a.requests()
	if len(got) != 2 || !strings.Contains(string(got[0].body), "signed-previous") || !strings.Contains(string(got[1].body), "signed-current") {
		for _, r := range got {
			t.Logf("app got %s %s", r.path, r.body)
		}
		t.Fatalf("the app got %d requests, want exactly the 2 signed webhooks in order", len(got))
	}

	for i, r := range got {
		if r.header.Get(sdk.SessionHeader) != s.ID {
			t.Errorf("request %d: session %q, want %q", i, r.header.Get(sdk.SessionHeader), s.ID)
		}
		if err := sdk.VerifyRequest(r.request(nil), &key.Private.PublicKey, deliverySecret); err != nil {
			t.Errorf("request %d does not verify with the instance's public key and delivery secret: %v", i, err)
		}
		// The JWT alone verifies and carries the instance's claims.
		if err := sdk.VerifyRequest(r.request(nil), &key.Private.PublicKey, ""); err != nil {
			t.Errorf("request %d: JWT: %v", i, err)
		}
		var cl jwt.MapClaims
		raw := strings.TrimPrefix(r.header.Get("Authorization"), "Bearer ")
		if _, err := jwt.ParseWithClaims(raw, &cl, func(*jwt.Token) (any, error) { return &key.Private.PublicKey, nil },
			jwt.WithValidMethods([]string{"RS256"})); err != nil || cl["instance_id"] != instanceID || cl["application_id"] != appID {
			t.Errorf("request %d: JWT claims %v (%v)", i, cl, err)
		}
		// A proxy in between that changes the body breaks the signature.
		tampered := []byte(strings.Replace(string(r.body), "signed-", "forged-", 1))
		if err := sdk.VerifyRequest(r.request(tampered), &key.Private.PublicKey, deliverySecret); !errors.Is(err, sdk.ErrUnverified) {
			t.Errorf("request %d with its body changed: VerifyRequest = %v, want ErrUnverified", i, err)
		}
		if err := sdk.VerifyRequest(r.request(nil), &key.Private.PublicKey, "whsec_"+strings.Repeat("A", 32)); !errors.Is(err, sdk.ErrUnverified) {
			t.Errorf("request %d with another delivery secret: VerifyRequest = %v, want ErrUnverified", i, err)
		}
	}

	// Vonage's default answer method is GET: signed (over the empty body),
	// it gets the app's NCCO through the answer relay, itself signed;
	// unsigned, it is refused like a POST.
	if _, err := client.NewSession().OnCall(context.Background(), "/onCall"); err != nil {
		t.Fatalf("register the answer listener: %v", err)
	}
	answer := func(auth string) (int, string) {
		q := url.Values{"to": {ourNumber}, "from": {customer}, "uuid": {"CALL-GET"}, "conversation_uuid": {"CON-GET"}}
		req, _ := http.NewRequest(http.MethodGet, p.URL+"/webhooks/"+appID+"/voice/answer?"+q.Encode(), nil)
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
	if code, body := answer(""); code != http.StatusUnauthorized || !strings.Contains(body, `"bad_signature"`) {
		t.Errorf("unsigned GET answer: %d %s, want 401 bad_signature", code, body)
	}
	if code, ncco := answer(vonageSignature(t, currentSecret, nil, time.Now())); code != http.StatusOK || !strings.Contains(ncco, "answered by the app") {
		t.Fatalf("signed GET answer: %d %s, want the app's NCCO", code, ncco)
	}
	got = a.requests()
	if len(got) != 3 || !strings.HasPrefix(got[2].path, "/onCall") || !strings.Contains(string(got[2].body), "CALL-GET") {
		t.Fatalf("after the GET answer the app has %d requests, want the 2 SMS and one /onCall with the call", len(got))
	}
	if err := sdk.VerifyRequest(got[2].request(nil), &key.Private.PublicKey, deliverySecret); err != nil {
		t.Errorf("the answer relay's request does not verify: %v", err)
	}

	// The app's public URL proxies a GET and a POST with a body to it.
	if resp, err := http.Get(p.URL + "/apps/" + instanceID + "/page?x=1"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET through the public URL: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	resp, err := http.Post(p.URL+"/apps/"+instanceID+"/form", "text/plain", strings.NewReader("a body for the app"))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("POST through the public URL: %v %v", resp, err)
	}
	resp.Body.Close()
	got = a.requests()
	if len(got) != 5 || got[3].method != http.MethodGet || got[3].path != "/page?x=1" ||
		got[4].method != http.MethodPost || got[4].path != "/form" || string(got[4].body) != "a body for the app" {
		for _, r := range got[3:] {
			t.Logf("app got %s %s %q", r.method, r.path, r.body)
		}
		t.Fatalf("the public URL did not proxy GET /page?x=1 and POST /form with its body to the app")
	}
}

// Without NERU_APP_NETWORKS the same delivery to the app on loopback is
// refused at dial time and dead at once, with the setting named in the DLQ
// reason the admin API shows; the app gets nothing.
func TestDeliveryToLoopbackWithoutAppNetworksIsDead(t *testing.T) {
	key := newAppKey(t)
	a := newApp(t)
	env := append(servers(t), "NERU_ADMIN_TOKEN="+adminToken, "NERU_VONAGE_KEYS_DIR="+key.dir)
	p := startPlatform(t, env)
	_, client := p.createInstance(t, a.srv.URL, key, nil)
	const customer = "447700900456"
	s := client.NewSession()
	if _, err := s.OnMessage(context.Background(), "/onMessage", sdk.Contact{Type: "sms", Number: customer}, sdk.Contact{Type: "sms", Number: ourNumber}); err != nil {
		t.Fatalf("register the listener: %v", err)
	}
	if code, answer := p.webhook(t, inboundSMS(customer, "refused"), ""); code != http.StatusOK {
		t.Fatalf("webhook: %d %s", code, answer)
	}
	type dead struct {
		SessionID string `json:"sessionId"`
		Attempts  int    `json:"attempts"`
		Reason    string `json:"reason"`
	}
	var page struct {
		Deliveries []dead `json:"deliveries"`
	}
	testenv.Eventually(t, 30*time.Second, func() bool {
		return p.admin(t, http.MethodGet, "/instances/"+instanceID+"/dlq", nil, &page) == http.StatusOK && len(page.Deliveries) > 0
	}, "the delivery in the DLQ")
	d := page.Deliveries[0]
	if len(page.Deliveries) != 1 || d.SessionID != s.ID || d.Attempts != 1 || !strings.Contains(d.Reason, "NERU_APP_NETWORKS") {
		t.Fatalf("DLQ: %+v, want one delivery of session %s after 1 attempt, its reason naming NERU_APP_NETWORKS", page.Deliveries, s.ID)
	}
	if n := len(a.requests()); n != 0 {
		t.Fatalf("the app got %d requests past the egress rule", n)
	}
}

// The production gateway without NERU_ADMIN_TOKEN does not start: it exits
// non-zero with an error naming the setting, instead of serving the admin
// API to every loopback client (everyone, behind a local reverse proxy).
func TestGatewayWithoutAdminTokenExits(t *testing.T) {
	env := servers(t)
	addr := proctest.Addr(proctest.FreePort(t))
	g := proctest.Start(t, "gateway", proctest.Binary(t, "github.com/neru-dev/neru/cmd/gateway"),
		append(env, "NERU_GATEWAY_ADDR="+addr, "NERU_COMMAND_ADDR=-"))
	select {
	case <-g.Done():
	case <-time.After(60 * time.Second):
		t.Fatalf("the gateway without NERU_ADMIN_TOKEN kept running:\n%s", g.Logs())
	}
	if _, err := g.Exited(); err == nil {
		t.Errorf("the gateway exited with status 0")
	}
	if !strings.Contains(g.Logs(), "NERU_ADMIN_TOKEN is not set") {
		t.Errorf("the gateway's error does not name NERU_ADMIN_TOKEN:\n%s", g.Logs())
	}
	if resp, err := http.Get("http://" + addr + "/admin/v1/instances"); err == nil {
		resp.Body.Close()
		t.Errorf("the admin API answered %d after the gateway refused to start", resp.StatusCode)
	}
}
