package voice_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"github.com/neru-dev/neru/internal/parsetest"
	"github.com/neru-dev/neru/router"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/neru-dev/neru/listener"
	"github.com/neru-dev/neru/providers/voice"
)

const csConv = "CON-f972836a-550f-45fa-956c-12a2ab5b7d22"

func TestParseRTC(t *testing.T) {
	knock := []string{
		"cs-ev|*",
		"cs-knock|447700900000|447700900001", "cs-knock|447700900000|*",
		"cs-knock|*|447700900001", "cs-knock|*|*",
	}
	tests := []parsetest.Case{
		{File: "rtc-knocking.json", Keys: knock},
		{
			// "+" is dropped from numbers, as for messages and answers.
			File: "rtc-knocking-plus.json",
			Keys: []string{
				"cs-ev|*",
				"cs-knock|442079460000|447700900002", "cs-knock|442079460000|*",
				"cs-knock|*|447700900002", "cs-knock|*|*",
			},
		},
		{
			// SIP ends carry a URI, not a number: only "any number" listeners.
			File: "rtc-knocking-sip.json",
			Keys: []string{"cs-ev|*", "cs-knock|*|*"},
		},
		{File: "rtc-member-joined.json", Keys: []string{"cs-ev|*", "cs-ev|conv|" + csConv}},
		{File: "rtc-audio-dtmf.json", Keys: []string{"cs-ev|*", "cs-ev|conv|" + csConv}},
		{File: "rtc-conversation-created.json", Keys: []string{"cs-ev|*", "cs-ev|conv|CON-0b1c2d3e-4f50-4a6b-9c8d-7e6f5a4b3c2d"}},
		{File: "malformed-rtc-no-type.json", WantErr: "type is required"},
		{File: "malformed-rtc-pipe.json", WantErr: "may not contain |"},
		{File: "malformed-not-json.json", WantErr: "invalid character"},
		{File: "malformed-array.json", WantErr: "cannot unmarshal array"},
		// A Voice API event is not a Conversation API event.
		{File: "event-started.json", WantErr: "type is required"},
	}
	parsetest.Run(t, voice.ParseRTC, voice.KindRTC, voice.ErrBadWebhook, load, tests, func(t *testing.T, _ parsetest.Case, ev *router.Event) {
		if !strings.HasPrefix(ev.ID, "cs:") {
			t.Errorf("id = %q, want a cs: id", ev.ID)
		}
	})
}

func TestConversationListenerFromSDKCaptures(t *testing.T) {
	const (
		neruSession = "66726a67-bd25-441c-bd1e-cfdd4c9dc927"
		vcrSession  = "7d7d1447-5606-4218-ab80-315829415010"
	)
	conv := func(name, route string, filters int) struct {
		file, action, key, path, session string
		filters                          int
	} {
		return struct {
			file, action, key, path, session string
			filters                          int
		}{neru + "vonage-voice-conversation-subscribe-event--conversation." + name + ".json", voice.ActionConvEvent, "cs-ev|conv|" + csConv, route, neruSession, filters}
	}
	tests := []struct {
		file, action, key, path, session string
		filters                          int
	}{
		{neru + "vonage-voice-conversation-subscribe-inbound-call.json", voice.ActionConvInbound, "cs-knock|447700900000|447700900001", "onInboundCall", neruSession, 0},
		conv("listenForEvents", "onConvEvent", 1),
		conv("onConversationCreated", "cb_onConversationCreated", 2),
		conv("onDTMF", "cb_onDTMF", 2),
		conv("onLegStatusUpdate", "cb_onLegStatusUpdate", 2),
		conv("onMemberInvited", "cb_onMemberInvited", 2),
		conv("onMemberJoined", "cb_onMemberJoined", 3),
		conv("onMemberLeft", "cb_onMemberLeft", 3),
		conv("onPlay", "cb_onPlay", 2),
		conv("onPlayDone", "cb_onPlayDone", 2),
		conv("onPlayStop", "cb_onPlayStop", 2),
		conv("onSay", "cb_onSay", 2),
		conv("onSayDone", "cb_onSayDone", 2),
		conv("onSayStop", "cb_onSayStop", 2),
		{vcr + "vonage-voice-POST_conversation-subscribe-event--conversation.onConversationEvent.json", voice.ActionConvEvent, "cs-ev|*", "onConvEvent", vcrSession, 0},
		{vcr + "vonage-voice-POST_conversation-subscribe-event--conversation.onConversationEvent_events.json", voice.ActionConvEvent, "cs-ev|*", "onConvEvent", vcrSession, 1},
	}
	for _, tt := range tests {
		t.Run(path.Base(tt.file), func(t *testing.T) {
			c, action, payload := subscription(t, tt.file)
			if action != tt.action {
				t.Fatalf("capture action = %q, want %q", action, tt.action)
			}
			l, err := voice.ConversationListener(authInstance, action, payload)
			if err != nil {
				t.Fatal(err)
			}
			if l.Key != tt.key || l.Path != tt.path || l.SessionID != tt.session || len(l.Filters) != tt.filters {
				t.Errorf("listener = key %q path %q session %q %d filters; want %q %q %q %d",
					l.Key, l.Path, l.SessionID, len(l.Filters), tt.key, tt.path, tt.session, tt.filters)
			}
			if l.InstanceID != authInstance || l.ID != c.Outcome.Returned {
				t.Errorf("instance, id = %q, %q; want %q, %q", l.InstanceID, l.ID, authInstance, c.Outcome.Returned)
			}
			if err := l.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

func TestConversationListenerRejects(t *testing.T) {
	const cb = `"callback":{"filters":[],"id":"cb-1","sessionId":"s-1","path":"onCall"}`
	tests := []struct {
		name, action, payload string
	}{
		{"vapi action", voice.ActionAnswer, `{` + cb + `}`},
		{"not JSON", voice.ActionConvEvent, `{"callback":`},
		{"null", voice.ActionConvEvent, `null`},
		{"| in conversationId", voice.ActionConvEvent, `{` + cb + `,"conversationId":"CON-1|*"}`},
		{"| in to", voice.ActionConvInbound, `{` + cb + `,"to":{"number":"4477|1","type":"phone"}}`},
		{"| in from", voice.ActionConvInbound, `{` + cb + `,"to":{"number":"1"},"from":{"number":"2|3"}}`},
		{"to not an object", voice.ActionConvInbound, `{` + cb + `,"to":"447700900000"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := voice.ConversationListener(authInstance, tt.action, json.RawMessage(tt.payload))
			if tt.name == "null" {
				// JSON null decodes to an empty payload: a listener without a
				// callback, which the store's Validate refuses.
				if err == nil {
					err = l.Validate()
				}
			}
			if !errors.Is(err, listener.ErrInvalid) {
				t.Fatalf("ConversationListener = %+v, %v; want ErrInvalid", l, err)
			}
		})
	}
}

// TestConversationListenerMatchesWebhook runs the router's rule on one
// listener and one webhook: the listener's key is among the event's keys and
// its filters accept the event.
func TestConversationListenerMatchesWebhook(t *testing.T) {
	const cb = `"callback":{"filters":[],"id":"cb-1","sessionId":"s-1","path":"onCall"}`
	inbound := mustPayload(t, neru+"vonage-voice-conversation-subscribe-inbound-call.json")
	inboundTo := json.RawMessage(`{` + cb + `,"to":{"number":"+447700900000","type":"phone"}}`)
	onDTMF := mustPayload(t, neru+"vonage-voice-conversation-subscribe-event--conversation.onDTMF.json")
	onJoinedBob := mustPayload(t, neru+"vonage-voice-conversation-subscribe-event--conversation.onMemberJoined.json")
	onCreated := mustPayload(t, neru+"vonage-voice-conversation-subscribe-event--conversation.onConversationCreated.json")
	vcrAll := mustPayload(t, vcr+"vonage-voice-POST_conversation-subscribe-event--conversation.onConversationEvent.json")
	vcrTypes := mustPayload(t, vcr+"vonage-voice-POST_conversation-subscribe-event--conversation.onConversationEvent_events.json")
	bobJoined := bytes.Replace(load(t, "rtc-member-joined.json"), []byte(`"alice"`), []byte(`"bob"`), 1)
	createdHere := bytes.ReplaceAll(load(t, "rtc-conversation-created.json"), []byte("CON-0b1c2d3e-4f50-4a6b-9c8d-7e6f5a4b3c2d"), []byte(csConv))

	tests := []struct {
		name    string
		action  string
		payload json.RawMessage
		webhook []byte
		match   bool
	}{
		{"onInboundCall(to, from): the call", voice.ActionConvInbound, inbound, load(t, "rtc-knocking.json"), true},
		{"onInboundCall(to, from): another caller and number", voice.ActionConvInbound, inbound, load(t, "rtc-knocking-plus.json"), false},
		{"onInboundCall(to, from): a member event", voice.ActionConvInbound, inbound, load(t, "rtc-member-joined.json"), false},
		{"onInboundCall(+to): any caller", voice.ActionConvInbound, inboundTo, load(t, "rtc-knocking.json"), true},
		{"onInboundCall(+to): a SIP call", voice.ActionConvInbound, inboundTo, load(t, "rtc-knocking-sip.json"), false},
		{"onDTMF: dtmf in the conversation", voice.ActionConvEvent, onDTMF, load(t, "rtc-audio-dtmf.json"), true},
		{"onDTMF: a member event", voice.ActionConvEvent, onDTMF, load(t, "rtc-member-joined.json"), false},
		{"onDTMF: another conversation", voice.ActionConvEvent, onDTMF, bytes.ReplaceAll(load(t, "rtc-audio-dtmf.json"), []byte(csConv), []byte("CON-other")), false},
		{"onMemberJoined(bob): alice", voice.ActionConvEvent, onJoinedBob, load(t, "rtc-member-joined.json"), false},
		{"onMemberJoined(bob): bob", voice.ActionConvEvent, onJoinedBob, bobJoined, true},
		{"onConversationCreated ([null] name)", voice.ActionConvEvent, onCreated, createdHere, true},
		{"vcr onConversationEvent(): dtmf", voice.ActionConvEvent, vcrAll, load(t, "rtc-audio-dtmf.json"), true},
		{"vcr onConversationEvent(): knocking too", voice.ActionConvEvent, vcrAll, load(t, "rtc-knocking.json"), true},
		{"vcr onConversationEvent(types): member:joined", voice.ActionConvEvent, vcrTypes, load(t, "rtc-member-joined.json"), true},
		{"vcr onConversationEvent(types): conversation:created", voice.ActionConvEvent, vcrTypes, load(t, "rtc-conversation-created.json"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := voice.ConversationListener(authInstance, tt.action, tt.payload)
			if err != nil {
				t.Fatal(err)
			}
			ev, err := voice.ParseRTC(tt.webhook)
			if err != nil {
				t.Fatal(err)
			}
			got := slices.Contains(ev.Keys, l.Key) && listener.MatchAll(l.Filters, ev.Doc())
			if got != tt.match {
				t.Errorf("match = %v, want %v (key %q, event keys %q)", got, tt.match, l.Key, ev.Keys)
			}
		})
	}
}

func FuzzParseRTC(f *testing.F) {
	fuzzSeeds(f)
	f.Add([]byte(`{"type":"app:knocking","body":{"channel":{"to":{"number":"*"},"from":{"number":"+"}}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		orig := bytes.Clone(body)
		ev, err := voice.ParseRTC(body)
		if !checkCommon(t, orig, body, ev, err, voice.KindRTC, "cs-ev|*") {
			return
		}
		if h, ok := strings.CutPrefix(ev.ID, "cs:"); !ok || len(h) != 32 {
			t.Fatalf("id %q", ev.ID)
		} else if _, err := hex.DecodeString(h); err != nil {
			t.Fatalf("id %q", ev.ID)
		}
		for _, k := range ev.Keys {
			parts := strings.Split(k, "|")
			switch parts[0] {
			case "cs-ev":
				if k != "cs-ev|*" && (len(parts) != 3 || parts[1] != "conv" || parts[2] == "") {
					t.Fatalf("bad key %q", k)
				}
			case "cs-knock":
				if len(parts) != 3 || parts[1] == "" || parts[2] == "" {
					t.Fatalf("bad key %q", k)
				}
			default:
				t.Fatalf("bad key %q", k)
			}
		}
	})
}
