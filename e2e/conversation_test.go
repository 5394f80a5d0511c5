package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/neru-dev/neru/internal/testenv"
	"github.com/neru-dev/neru/sdk"
)

func knocking(to, from string) []byte {
	return mustJSON(map[string]any{
		"type": "app:knocking", "application_id": appID, "timestamp": time.Now().UTC().Format(time.RFC3339Nano),
		"from": "KNK-" + to + "-" + from,
		"body": map[string]any{
			"user":    map[string]string{"id": "USR-1"},
			"channel": map[string]any{"id": "LEG-1", "type": "phone", "to": map[string]string{"type": "phone", "number": to}, "from": map[string]string{"type": "phone", "number": from}},
		},
	})
}

func csEvent(typ, conv string, id int) []byte {
	return mustJSON(map[string]any{
		"type": typ, "conversation_id": conv, "id": id, "from": "MEM-1", "timestamp": time.Now().UTC().Format(time.RFC3339Nano),
		"body": map[string]any{"digit": "5", "user": map[string]string{"name": "bob"}},
	})
}

// Conversation API listeners, registered with the real SDKs' requests and
// with the Go SDK, get the RTC webhooks they ask for, in their sessions.
func TestConversationListeners(t *testing.T) {
	h := start(t)
	h.startWorker()
	ctx := context.Background()
	const conv = "CON-f972836a-550f-45fa-956c-12a2ab5b7d22"

	// neru voice.onInboundCall(to 447700900000, from 447700900001), as captured.
	if r := h.replay(loadCapture(t, "neru-alpha-5.1.0/vonage-voice-conversation-subscribe-inbound-call.json"), "debug", nil); r.Status != 200 {
		t.Fatalf("onInboundCall: %d %s", r.Status, r.Body)
	}
	// neru conversation.onDTMF, for conv.
	if r := h.replay(loadCapture(t, "neru-alpha-5.1.0/vonage-voice-conversation-subscribe-event--conversation.onDTMF.json"), "debug", nil); r.Status != 200 {
		t.Fatalf("onDTMF: %d %s", r.Status, r.Body)
	}
	// vcr onConversationEvent(route, ["audio:dtmf", "member:joined"]): application-wide.
	tn := h.addTenant(capInstance, capApp, capAccount)
	if r := h.replay(loadCapture(t, "vcr-sdk-1.3.0/vonage-voice-POST_conversation-subscribe-event--conversation.onConversationEvent_events.json"), "debug", tn); r.Status != 200 {
		t.Fatalf("vcr onConversationEvent: %d %s", r.Status, r.Body)
	}
	// Go SDK: knocking to another number, and leave events of conv.
	s := h.sdk.NewSession()
	if _, err := s.OnInboundCall(ctx, "/goKnock", sdk.Contact{Number: "+442079460000"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ListenForEvents(ctx, "/goLeft", conv, sdk.TypeFilter("member:left")); err != nil {
		t.Fatal(err)
	}

	// Each webhook reports how many deliveries it made: exactly the
	// listeners it should reach.
	rtc := func(app string, body []byte, want int) {
		t.Helper()
		resp, err := http.Post(h.gateway.URL+"/webhooks/"+app+"/voice/rtc", "application/json", strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct{ Deliveries int }
		_ = json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode != 200 || out.Deliveries != want {
			t.Fatalf("rtc webhook %s: %d, %d deliveries, want %d", body, resp.StatusCode, out.Deliveries, want)
		}
	}
	rtc(appID, knocking("447700900000", "447700900001"), 1)  // → onInboundCall
	rtc(appID, knocking("447700900000", "447700900999"), 0)  // another caller
	rtc(appID, knocking("442079460000", "447700900999"), 1)  // → goKnock
	rtc(appID, csEvent("audio:dtmf", conv, 7), 1)            // → cb_onDTMF
	rtc(appID, csEvent("audio:dtmf", "CON-other", 8), 0)     // another conversation
	rtc(appID, csEvent("member:left", conv, 9), 1)           // → goLeft
	rtc(capApp, csEvent("member:joined", "CON-any", 10), 1)  // → vcr onConvEvent (capInstance)
	rtc(capApp, csEvent("conversation:created", "x", 11), 0) // not a type it asked for

	testenv.Eventually(t, 20*time.Second, func() bool {
		return len(h.app.requests("/onInboundCall")) == 1 && len(h.app.requests("/goKnock")) == 1 &&
			len(h.app.requests("/cb_onDTMF")) == 1 && len(h.app.requests("/goLeft")) == 1 && len(tn.app.requests("/onConvEvent")) == 1
	}, "every listener gets its event")
	if r := h.app.requests("/onInboundCall")[0]; r.Session != "66726a67-bd25-441c-bd1e-cfdd4c9dc927" || !strings.Contains(string(r.Body), "447700900001") {
		t.Fatalf("onInboundCall got %s in %s", r.Body, r.Session)
	}
	if r := h.app.requests("/goLeft")[0]; r.Session != s.ID {
		t.Fatalf("goLeft in session %s, want %s", r.Session, s.ID)
	}
}
