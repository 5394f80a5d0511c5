package sdk_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/neru-dev/neru/sdk"
)

// batchPlatform answers subscribe-many as the platform does (the ids of
// the items, in order) and keeps every request; fail makes request n
// (from 1) answer 400.
type batchPlatform struct {
	mu   sync.Mutex
	reqs []batchRequest
	fail int
}

type batchRequest struct {
	provider, session, action string
	envSession                string
	items                     []struct {
		Action  string `json:"action"`
		Payload struct {
			From     map[string]string `json:"from"`
			Callback struct {
				ID, SessionID, Path string
			} `json:"callback"`
		} `json:"payload"`
	}
}

func (b *batchPlatform) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var env struct {
		Header  struct{ SessionID string } `json:"header"`
		Actions []struct {
			Provider, Action string
			Payload          json.RawMessage
		} `json:"actions"`
	}
	if err := json.Unmarshal(raw, &env); err != nil || len(env.Actions) != 1 {
		http.Error(w, "bad envelope", http.StatusBadRequest)
		return
	}
	req := batchRequest{provider: strings.TrimSuffix(r.URL.Query().Get("func"), ".neru"), session: r.Header.Get("X-Neru-SessionId"),
		action: env.Actions[0].Action, envSession: env.Header.SessionID}
	var p struct {
		Subscriptions json.RawMessage `json:"subscriptions"`
	}
	_ = json.Unmarshal(env.Actions[0].Payload, &p)
	_ = json.Unmarshal(p.Subscriptions, &req.items)
	b.mu.Lock()
	b.reqs = append(b.reqs, req)
	n := len(b.reqs)
	b.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if n == b.fail {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"code":"bad_subscription","message":"subscriptions[3]: invalid listener"}`)
		return
	}
	ids := []string{}
	for _, it := range req.items {
		ids = append(ids, it.Payload.Callback.ID)
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"ids": ids})
}

// Subscribe sends subscribe-many in chunks of MaxSubscriptions, one
// provider per request, each item with its own session, and returns the
// ids in the order given.
func TestSubscribeSendsBatches(t *testing.T) {
	plat := &batchPlatform{}
	srv := httptest.NewServer(plat)
	defer srv.Close()
	c := sdk.New(sdk.Config{Endpoint: srv.URL, InstanceID: "dev"})
	var subs []sdk.Subscription
	msg := func(i int) sdk.Subscription {
		return c.Session(fmt.Sprint("sess-", i)).MessageSubscription("/onMessage",
			sdk.Contact{Type: "sms", Number: fmt.Sprint(447700900000 + i)}, sdk.Contact{Type: "sms", Number: "447700999999"})
	}
	for i := range 1500 {
		subs = append(subs, msg(i))
	}
	subs = append(subs, c.Session("voice-sess").CallSubscription("/onCall"))
	for i := 1500; i < 2500; i++ {
		subs = append(subs, msg(i))
	}
	ids, err := c.Subscribe(context.Background(), subs...)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]string, len(subs))
	for i, s := range subs {
		want[i] = s.ID()
	}
	if !slices.Equal(ids, want) {
		t.Fatalf("Subscribe returned %d ids, want the %d of subs in order", len(ids), len(want))
	}
	type shape struct {
		provider string
		n, first int
	}
	wantShape := []shape{{"vonage-messaging", 1000, 0}, {"vonage-messaging", 500, 1000}, {"vonage-voice", 1, 1500}, {"vonage-messaging", 1000, 1501}}
	if len(plat.reqs) != len(wantShape) {
		t.Fatalf("%d requests, want %d", len(plat.reqs), len(wantShape))
	}
	for i, r := range plat.reqs {
		w := wantShape[i]
		if r.provider != w.provider || r.action != "subscribe-many" || len(r.items) != w.n {
			t.Fatalf("request %d: %s %s with %d items, want %s subscribe-many with %d", i, r.provider, r.action, len(r.items), w.provider, w.n)
		}
		first := subs[w.first].SessionID()
		if r.session != first || r.envSession != first {
			t.Fatalf("request %d names session %q/%q, want its first item's %q", i, r.session, r.envSession, first)
		}
		for j, it := range r.items {
			sub := subs[w.first+j]
			if it.Payload.Callback.ID != sub.ID() || it.Payload.Callback.SessionID != sub.SessionID() {
				t.Fatalf("request %d item %d: callback %+v, want id %s in session %s", i, j, it.Payload.Callback, sub.ID(), sub.SessionID())
			}
		}
	}
	if it := plat.reqs[0].items[7]; it.Action != "subscribe-inbound-messages" || it.Payload.From["number"] != "447700900007" || it.Payload.Callback.Path != "/onMessage" {
		t.Fatalf("item 7 is %+v, want OnMessage's payload", it)
	}
	if it := plat.reqs[2].items[0]; it.Action != "vapi-subscribe-inbound-call" || it.Payload.Callback.Path != "/onCall" {
		t.Fatalf("the call item is %+v, want OnCall's payload", it)
	}
}

// A refused request stops Subscribe: it returns the ids registered before
// it and the platform's error.
func TestSubscribeStopsAtARefusedBatch(t *testing.T) {
	plat := &batchPlatform{fail: 2}
	srv := httptest.NewServer(plat)
	defer srv.Close()
	c := sdk.New(sdk.Config{Endpoint: srv.URL, InstanceID: "dev"})
	subs := make([]sdk.Subscription, 2100)
	for i := range subs {
		subs[i] = c.NewSession().MessageSubscription("/m", sdk.Contact{Type: "sms", Number: fmt.Sprint(i)}, sdk.Contact{Type: "sms"})
	}
	ids, err := c.Subscribe(context.Background(), subs...)
	var e *sdk.Error
	if !errors.As(err, &e) || e.Status != http.StatusBadRequest || e.Code != "bad_subscription" {
		t.Fatalf("err %v, want the platform's 400 bad_subscription", err)
	}
	if len(ids) != sdk.MaxSubscriptions || ids[0] != subs[0].ID() || len(plat.reqs) != 2 {
		t.Fatalf("%d ids after %d requests, want the first chunk's %d and no request after the refused one", len(ids), len(plat.reqs), sdk.MaxSubscriptions)
	}
}
