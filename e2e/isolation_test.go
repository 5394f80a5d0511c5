package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/neru-dev/neru/internal/testenv"
	"github.com/neru-dev/neru/sdk"
)

// Two instances use the same namespaces, keys and session id, and each one
// claims to be the other: each sees only its own state, except account
// state, which instances of one account share on purpose.
func TestStateIsolation(t *testing.T) {
	h := start(t)
	a := h.addTenant("inst-a", "app-a", "acct-1")
	b := h.addTenant("inst-b", "app-b", "acct-2")
	a2 := h.addTenant("inst-a2", "app-a2", "acct-1") // a's account
	lone := h.addTenant("inst-lone", "app-lone", "") // no account
	cmd := func(op, ns, key string, args ...string) []byte {
		quoted := make([]string, len(args))
		for i, a := range args {
			quoted[i] = `"` + strings.ReplaceAll(a, `"`, `\"`) + `"`
		}
		return []byte(`{"operation":"` + op + `","namespace":"` + ns + `","key":"` + key + `","args":[` + strings.Join(quoted, ",") + `]}`)
	}
	// Each writes its own id under every kind of namespace, claiming the
	// other's identity in the headers and the namespace.
	namespaces := []string{"state:shared-session", "application:inst-a", "application:inst-b", "application:debug", "account", "custom"}
	for _, tn := range []*tenant{a, b, lone} {
		for _, ns := range namespaces {
			r := h.sdkPost("client-persistence-api", "", tn.token(t), cmd("SET", ns, "k", `"`+tn.inst.ID+`"`),
				"X-Neru-InstanceId", "inst-a", "X-Neru-ApiAccountId", "acct-1")
			if r.Status != 200 {
				t.Fatalf("%s SET %s: %d %s", tn.inst.ID, ns, r.Status, r.Body)
			}
		}
	}
	for _, tn := range []*tenant{a, b, lone} {
		for _, ns := range namespaces {
			r := h.sdkPost("client-persistence-api", "", tn.token(t), cmd("GET", ns, "k"))
			if want := `"\"` + tn.inst.ID + `\""`; r.Status != 200 || string(r.Body) != want {
				t.Errorf("%s GET %s = %d %s, want its own %s", tn.inst.ID, ns, r.Status, r.Body, want)
			}
		}
	}
	// Account state is the account's: a2 (acct-1) reads what a wrote there,
	// and nothing else of a's.
	if r := h.sdkPost("client-persistence-api", "", a2.token(t), cmd("GET", "account", "k")); string(r.Body) != `"\"inst-a\""` {
		t.Errorf("account state of acct-1 seen by inst-a2: %s, want inst-a's", r.Body)
	}
	for _, ns := range []string{"state:shared-session", "application:inst-a", "custom"} {
		if r := h.sdkPost("client-persistence-api", "", a2.token(t), cmd("GET", ns, "k")); string(r.Body) != "null" {
			t.Errorf("inst-a2 reads %s of inst-a: %s", ns, r.Body)
		}
	}
	// Deleting and listing work only inside the caller's keys too.
	if r := h.sdkPost("client-persistence-api", "", b.token(t), cmd("DEL", "state:shared-session", "k")); string(r.Body) != "1" {
		t.Fatalf("b DEL its own key: %s", r.Body)
	}
	if r := h.sdkPost("client-persistence-api", "", a.token(t), cmd("GET", "state:shared-session", "k")); string(r.Body) != `"\"inst-a\""` {
		t.Fatalf("b's DEL removed a's key: %s", r.Body)
	}
}

// State errors are clear 4xx/5xx JSON errors, and change nothing.
func TestStateErrors(t *testing.T) {
	h := start(t)
	post := func(body string) reply { return h.sdkPost("client-persistence-api", "", "", []byte(body)) }
	post(`{"operation":"SET","namespace":"state:s","key":"str","args":["\"x\""]}`)
	for _, tt := range []struct {
		name, body string
		status     int
		code       string
		message    string
	}{
		{"wrong type", `{"operation":"HSET","namespace":"state:s","key":"str","args":["f","v"]}`, 409, "wrong_type", "wrong type"},
		{"not an integer", `{"operation":"INCRBY","namespace":"state:s","key":"n","args":["abc"]}`, 400, "bad_request", "not an integer"},
		{"unknown operation", `{"operation":"KEYS","namespace":"state:s","key":"*","args":[]}`, 400, "bad_request", "unknown operation"},
		{"missing namespace", `{"operation":"GET","key":"k","args":[]}`, 400, "bad_request", "namespace"},
		// Spaces and braces are fine in a session id (issue 13); control characters are not.
		{"bad session id", `{"operation":"SET","namespace":"state:a\u0001b","key":"k","args":["1"]}`, 400, "bad_request", "session"},
		{"full-text search", `{"operation":"FT.SEARCH","namespace":"state:s","key":"idx","args":["*"]}`, 501, "not_implemented", "full-text search"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := post(tt.body)
			if r.Status != tt.status || r.errCode() != tt.code || !strings.Contains(strings.ToLower(string(r.Body)), tt.message) {
				t.Fatalf("%d %s, want %d %s mentioning %q", r.Status, r.Body, tt.status, tt.code, tt.message)
			}
		})
	}
	if r := post(`{"operation":"GET","namespace":"state:s","key":"str","args":[]}`); string(r.Body) != `"\"x\""` {
		t.Fatalf("the failed HSET changed the key: %s", r.Body)
	}
	// The vcr FT captures (createIndex, search) are refused the same way.
	for _, f := range []string{"FT.CREATE", "FT.SEARCH"} {
		c := loadCapture(t, "vcr-sdk-1.3.0/client-persistence-api-"+f+".json")
		if r := h.replay(c, "debug", nil); r.Status != http.StatusNotImplemented || !strings.Contains(string(r.Body), "not supported") {
			t.Fatalf("%s: %d %s", f, r.Status, r.Body)
		}
	}
}

// An instance cannot remove, nor receive through, another instance's
// listeners; callback paths are paths, never URLs.
func TestListenerIsolation(t *testing.T) {
	h := start(t)
	h.startWorker()
	ctx := context.Background()
	b := h.addTenant("inst-b", "app-b", "")
	// The dev instance (e2e) listens for SMS.
	id, err := h.sdk.NewSession().OnMessage(ctx, "/onMessage", sdk.Contact{Type: "sms"}, sdk.Contact{Type: "sms"})
	if err != nil {
		t.Fatal(err)
	}
	// b tries to remove it, with either provider and in any session.
	for _, p := range []string{"vonage-messaging", "vonage-voice"} {
		body := `{"header":{"instanceId":"e2e","sessionId":"` + sdk.GlobalSessionID + `"},"actions":[{"provider":"` + p + `","action":"unsubscribe-event","payload":{"id":"` + id + `"}}]}`
		r := h.sdkPost(p, "", b.token(t), []byte(body), "X-Neru-InstanceId", "e2e")
		if r.Status != http.StatusNotFound || r.errCode() != "not_found" {
			t.Fatalf("b unsubscribes e2e's listener via %s: %d %s, want 404", p, r.Status, r.Body)
		}
	}
	if _, err := h.p.Listeners.Get(ctx, "e2e", id); err != nil {
		t.Fatalf("e2e's listener is gone: %v", err)
	}
	// b registers a listener whose callback claims to be e2e's: it is b's,
	// so e2e's webhooks never reach b, and b's reach only b's app.
	claim := func(path string) []byte {
		return []byte(`{"actions":[{"provider":"vonage-messaging","action":"subscribe-inbound-messages","payload":{` +
			`"from":{"type":"sms","number":null},"to":{"type":"sms","number":null},` +
			`"callback":{"filters":[],"id":"cb-b-1","instanceServiceName":"e2e","sessionId":"s-b","instanceId":"e2e","path":"` + path + `"}}}]}`)
	}
	if r := h.sdkPost("vonage-messaging", "", b.token(t), claim("/onMessage")); r.Status != 200 {
		t.Fatalf("b subscribes: %d %s", r.Status, r.Body)
	}
	if l, err := h.p.Listeners.Get(ctx, "inst-b", "cb-b-1"); err != nil || l.InstanceID != "inst-b" {
		t.Fatalf("b's listener: %+v %v", l, err)
	}
	if _, err := h.p.Listeners.Get(ctx, "e2e", "cb-b-1"); err == nil {
		t.Fatal("b's listener was stored as e2e's")
	}
	h.webhook("/messages/inbound", inboundSMS(caller, ourNumber, "for e2e"))
	resp, err := http.Post(h.gateway.URL+"/webhooks/app-b/messages/inbound", "application/json", strings.NewReader(string(inboundSMS(caller, ourNumber, "for b"))))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	testenv.Eventually(t, 20*time.Second, func() bool {
		return len(h.app.requests("/onMessage")) == 1 && len(b.app.requests("/onMessage")) == 1
	}, "each app gets its own SMS")
	if !strings.Contains(string(h.app.requests("/onMessage")[0].Body), "for e2e") || !strings.Contains(string(b.app.requests("/onMessage")[0].Body), "for b") {
		t.Fatal("an SMS reached the other instance's app")
	}
	// b's own unsubscribe works.
	unsub := `{"actions":[{"provider":"vonage-messaging","action":"unsubscribe-event","payload":{"id":"cb-b-1"}}]}`
	if r := h.sdkPost("vonage-messaging", "", b.token(t), []byte(unsub)); r.Status != 200 {
		t.Fatalf("b unsubscribes its own: %d %s", r.Status, r.Body)
	}

	// Callback paths that are URLs or leave the base URL are refused.
	for _, path := range []string{"http://evil.example/x", "https://evil.example", "//evil.example/x", "../admin", "a/../../b", "x?y=1", "a\\b", "user@evil"} {
		r := h.sdkPost("vonage-messaging", "", b.token(t), claim(path))
		if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "callback path") {
			t.Errorf("path %q: %d %s, want 400", path, r.Status, r.Body)
		}
	}
	if ls, err := h.p.Listeners.List(ctx, "inst-b", ""); err != nil || len(ls) != 0 {
		t.Fatalf("refused registrations left listeners: %d %v", len(ls), err)
	}
}
