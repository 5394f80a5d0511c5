package sdkapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/neru-dev/neru/instance"
	"github.com/neru-dev/neru/listener"
	"github.com/neru-dev/neru/providers/messages"
	"github.com/neru-dev/neru/sdk"
	"github.com/neru-dev/neru/sdkapi"
	"github.com/neru-dev/neru/session"
)

// sub is one item of subscribe-many: an inbound-SMS listener in session
// sess for messages from `from` to 447700900000.
func sub(id, sess, from string) map[string]any {
	return map[string]any{"action": "subscribe-inbound-messages", "payload": map[string]any{
		"from": map[string]string{"type": "sms", "number": from},
		"to":   map[string]string{"type": "sms", "number": "447700900000"},
		"callback": map[string]any{"id": id, "sessionId": sess, "path": "/onMessage", "filters": []any{},
			// Claims, never trusted: the listener is the caller's.
			"instanceId": tenantA},
	}}
}

func (e *assetsEnv) subscribeMany(tenant string, subs []map[string]any) reply {
	e.t.Helper()
	raw, err := json.Marshal(map[string]any{"subscriptions": subs})
	if err != nil {
		e.t.Fatal(err)
	}
	return e.send(tenant, e.newRequest(http.MethodPost, e.cmd.URL+"/"+sdkapi.ActionSubscribeMany+"?func=vonage-messaging.neru&async=false",
		"application/json", bytes.NewReader(raw)))
}

// matches lists the ids of tenant's listeners an inbound SMS from `from`
// to 447700900000 reaches, as the gateway matches it.
func (e *assetsEnv) matches(tenant, from string) []string {
	e.t.Helper()
	ev, err := messages.ParseInbound(fmt.Appendf(nil, `{"channel":"sms","message_uuid":"aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab",
		"to":"447700900000","from":%q,"timestamp":"2025-02-03T12:14:25Z","text":"hi","message_type":"text"}`, from))
	if err != nil {
		e.t.Fatal(err)
	}
	ls, err := e.p.Router.Match(context.Background(), tenant, ev)
	if err != nil {
		e.t.Fatal(err)
	}
	var ids []string
	for _, l := range ls {
		ids = append(ids, l.ID+"@"+l.SessionID)
	}
	return ids
}

// subscribe-many registers many listeners in one command, each in its own
// session, all or nothing, and only ever for the caller.
func TestSubscribeMany(t *testing.T) {
	e := newAssetsEnv(t, nil)
	ctx := context.Background()
	// The other tenant's listener of the same identity (same numbers, route
	// and filters): a batch of tenantB must not replace it.
	if r := e.subscribeMany(tenantA, []map[string]any{sub("a-1", "sa", "447700900001")}); r.status != http.StatusOK {
		t.Fatalf("tenant A: %d %s", r.status, r.body)
	}

	const n = 300
	subs := make([]map[string]any, n)
	want := make([]string, n)
	for i := range subs {
		subs[i] = sub(fmt.Sprint("b-", i), fmt.Sprint("sess-", i), fmt.Sprint(447700910000+i))
		want[i] = fmt.Sprint("b-", i)
	}
	// An item without a callback session takes the request's.
	subs[n-1]["payload"].(map[string]any)["callback"].(map[string]any)["sessionId"] = ""
	r := e.subscribeMany(tenantB, subs)
	var got struct{ IDs []string }
	if r.status != http.StatusOK || json.Unmarshal(r.body, &got) != nil || !slices.Equal(got.IDs, want) {
		t.Fatalf("subscribe-many: %d %s, want 200 with the %d ids in order", r.status, r.body, n)
	}
	for _, i := range []int{0, 1, 157, n - 2} {
		from := fmt.Sprint(447700910000 + i)
		if m := e.matches(tenantB, from); !slices.Equal(m, []string{fmt.Sprintf("b-%d@sess-%d", i, i)}) {
			t.Fatalf("an SMS from %s matches %v, want b-%d in sess-%d", from, m, i, i)
		}
		if _, err := e.p.Sessions.Get(ctx, tenantB, fmt.Sprint("sess-", i)); err != nil {
			t.Fatalf("session sess-%d: %v", i, err)
		}
	}
	if m := e.matches(tenantB, fmt.Sprint(447700910000+n-1)); !slices.Equal(m, []string{fmt.Sprintf("b-%d@66726a67-bd25-441c-bd1e-cfdd4c9dc927", n-1)}) {
		t.Fatalf("the item without a session matches %v, want it in the request's session", m)
	}
	if m := e.matches(tenantA, "447700900001"); !slices.Equal(m, []string{"a-1@sa"}) {
		t.Fatalf("tenant A's listener after tenant B's batch: %v", m)
	}
	if ls, _ := e.p.Listeners.List(ctx, tenantA, ""); len(ls) != 1 {
		t.Fatalf("tenant A has %d listeners, want its own 1", len(ls))
	}

	// Refused batches write nothing: no listener, no session.
	ok := func(i int) map[string]any {
		return sub(fmt.Sprint("x-", i), fmt.Sprint("x-sess-", i), fmt.Sprint(447700920000+i))
	}
	bad := func(at int, item map[string]any) []map[string]any {
		s := []map[string]any{ok(0), ok(1), ok(2)}
		return slices.Insert(s, at, item)
	}
	tooMany := make([]map[string]any, sdkapi.MaxSubscriptions+1)
	for i := range tooMany {
		tooMany[i] = ok(i)
	}
	badPath := ok(10)
	badPath["payload"].(map[string]any)["callback"].(map[string]any)["path"] = "http://evil.example/"
	pipe := ok(11)
	pipe["payload"].(map[string]any)["from"] = map[string]string{"type": "sms", "number": "1|2"}
	badSession := ok(12)
	badSession["payload"].(map[string]any)["callback"].(map[string]any)["sessionId"] = "a\x00b"
	for _, tt := range []struct {
		name    string
		subs    []map[string]any
		code    string
		message string
	}{
		{"no subscriptions", nil, "bad_payload", "1 to 1000"},
		{"over the limit", tooMany, "bad_payload", "got 1001"},
		{"an unknown action", bad(1, map[string]any{"action": "vapi-subscribe-inbound-call", "payload": map[string]any{}}), "bad_subscription", "subscriptions[1]"},
		{"a URL as the path", bad(3, badPath), "", "subscriptions[3]"},
		{"a pipe in a number", bad(0, pipe), "", "subscriptions[0]"},
		{"a bad session id", bad(2, badSession), "", "subscriptions[2]"},
		{"a repeated callback id", bad(3, ok(1)), "bad_subscription", "subscriptions[3]"},
	} {
		r := e.subscribeMany(tenantB, tt.subs)
		wantError(t, tt.name, r, http.StatusBadRequest, tt.code)
		if !strings.Contains(string(r.body), tt.message) {
			t.Fatalf("%s: %s, want the message to say %q", tt.name, r.body, tt.message)
		}
	}
	for i := range sdkapi.MaxSubscriptions + 1 {
		if _, err := e.p.Listeners.Get(ctx, tenantB, fmt.Sprint("x-", i)); err != listener.ErrNotFound {
			t.Fatalf("listener x-%d after refused batches: %v", i, err)
		}
	}
	for _, i := range []int{0, 1, 2, 10, 11, 12, 500} {
		if _, err := e.p.Sessions.Get(ctx, tenantB, fmt.Sprint("x-sess-", i)); err != session.ErrNotFound {
			t.Fatalf("session x-sess-%d after refused batches: %v", i, err)
		}
	}

	// Session rules as one by one: an ended session is 410, new sessions
	// past the cap 429, and neither writes anything.
	if err := e.p.Sessions.Delete(ctx, tenantB, "sess-5"); err != nil {
		t.Fatal(err)
	}
	wantError(t, "an ended session", e.subscribeMany(tenantB, bad(1, sub("late", "sess-5", "447700930000"))), http.StatusGone, "session_expired")
	live, err := e.p.Sessions.Count(ctx, tenantB)
	if err != nil {
		t.Fatal(err)
	}
	limit := int(live) + 2
	if _, err := e.p.Instances.Update(ctx, tenantB, instance.Settings{MaxSessions: &limit}); err != nil {
		t.Fatal(err)
	}
	wantError(t, "3 new sessions with room for 2", e.subscribeMany(tenantB, bad(0, sub("y", "sess-0", "447700940000"))), http.StatusTooManyRequests, "too_many_sessions")
	for _, i := range []int{0, 1, 2} {
		if _, err := e.p.Sessions.Get(ctx, tenantB, fmt.Sprint("x-sess-", i)); err != session.ErrNotFound {
			t.Fatalf("session x-sess-%d after the refused batch: %v", i, err)
		}
	}
	if _, err := e.p.Listeners.Get(ctx, tenantB, "late"); err != listener.ErrNotFound {
		t.Fatalf("listener of the ended session: %v", err)
	}
	// Existing sessions stay usable at the cap.
	if r := e.subscribeMany(tenantB, []map[string]any{sub("z", "sess-0", "447700950000"), sub("z2", "sess-1", "447700950001")}); r.status != http.StatusOK {
		t.Fatalf("listeners in existing sessions at the cap: %d %s", r.status, r.body)
	}
}

// The Go SDK's Subscribe chunks what the endpoint takes, and what it
// registers matches.
func TestSubscribeManyFromTheGoSDK(t *testing.T) {
	if sdk.MaxSubscriptions != sdkapi.MaxSubscriptions {
		t.Fatalf("sdk sends %d subscriptions a request, the endpoint takes %d", sdk.MaxSubscriptions, sdkapi.MaxSubscriptions)
	}
	e := newAssetsEnv(t, nil)
	c := sdk.New(sdk.Config{Endpoint: e.cmd.URL, InstanceID: tenantA}) // the dev instance: no token from loopback
	subs := make([]sdk.Subscription, sdkapi.MaxSubscriptions+200)
	for i := range subs {
		subs[i] = c.Session(fmt.Sprint("sdk-sess-", i%50)).MessageSubscription("/onMessage",
			sdk.Contact{Type: "sms", Number: fmt.Sprint(447700960000 + i)}, sdk.Contact{Type: "sms", Number: "447700900000"})
	}
	ids, err := c.Subscribe(context.Background(), subs...)
	if err != nil || len(ids) != len(subs) {
		t.Fatalf("Subscribe: %d ids, %v", len(ids), err)
	}
	for _, i := range []int{0, sdkapi.MaxSubscriptions - 1, sdkapi.MaxSubscriptions, len(subs) - 1} {
		if m := e.matches(tenantA, fmt.Sprint(447700960000+i)); !slices.Equal(m, []string{fmt.Sprintf("%s@sdk-sess-%d", ids[i], i%50)}) {
			t.Fatalf("an SMS to listener %d matches %v, want %s in sdk-sess-%d", i, m, ids[i], i%50)
		}
	}
}
