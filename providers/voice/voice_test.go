package voice_test

import (
	"bytes"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"github.com/neru-dev/neru/internal/parsetest"
	"io/fs"
	"net/url"
	"path"
	"slices"
	"strings"
	"testing"

	sdkcaptures "github.com/neru-dev/neru/internal/captures"
	"github.com/neru-dev/neru/listener"
	"github.com/neru-dev/neru/providers/voice"
	"github.com/neru-dev/neru/router"
)

// testdata holds sample Vonage Voice webhooks (*.json);
// "sdk/<package>/<file>" names a real SDK request in internal/captures.
//
//go:embed testdata
var testdata embed.FS

func load(t testing.TB, name string) []byte {
	t.Helper()
	var b []byte
	var err error
	if capture, ok := strings.CutPrefix(name, "sdk/"); ok {
		b, err = sdkcaptures.FS.ReadFile(capture)
	} else {
		b, err = testdata.ReadFile("testdata/" + name)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const (
	leg  = "63f61863-4a51-4f6b-86e1-46edebcf9356"
	conv = "CON-f972836a-550f-45fa-956c-12a2ab5b7d22"
)

func TestParseAnswer(t *testing.T) {
	tests := []parsetest.Case{
		{
			File: "answer.json",
			ID:   "answer:" + leg,
			Keys: []string{"vapi-answer|*", "vapi-answer|447700900000"},
		},
		{
			File: "answer-sip.json",
			ID:   "answer:0e1d2c3b-4a59-4687-9766-a5b4c3d2e1f0",
			Keys: []string{"vapi-answer|*", "vapi-answer|442079460000"},
		},
		{
			// A Client SDK call has from_user and no from; routing uses "to".
			File: "answer-client-sdk.json",
			ID:   "answer:4f3e2d1c-0b9a-4877-a665-544332211000",
			Keys: []string{"vapi-answer|*", "vapi-answer|447700900000"},
		},
		{
			// A websocket URI with "|" is no number: the call still reaches
			// the every-call listeners instead of failing.
			File: "event-websocket-to-pipe.json",
			ID:   "answer:7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d",
			Keys: []string{"vapi-answer|*"},
		},
		{File: "event-record.json", WantErr: "uuid is required"},
		{File: "malformed-missing-uuid.json", WantErr: "uuid is required"},
		{File: "malformed-not-json.json", WantErr: "invalid character"},
		{File: "malformed-array.json", WantErr: "cannot unmarshal array"},
		{File: "malformed-pipe-in-uuid.json", WantErr: "may not contain |"},
		{File: "malformed-to-not-string.json", WantErr: "cannot unmarshal number"},
	}
	parsetest.Run(t, voice.ParseAnswer, voice.KindAnswer, voice.ErrBadWebhook, load, tests, nil)
}

func TestParseEvent(t *testing.T) {
	callKeys := []string{"vapi-ev|*", "vapi-ev|uuid|" + leg, "vapi-ev|conv|" + conv}
	tests := []struct {
		file    string
		id      string // sha256 of the body, so a provider retry has the same id
		keys    []string
		input   bool
		wantErr string
	}{
		{file: "event-started.json", id: "vev:879d696ca6367e9921871a91c32c0048", keys: callKeys},
		{file: "event-ringing.json", id: "vev:7f7e1b7bd5a58f6d79b53c2406ccbc7a", keys: callKeys},
		{file: "event-answered.json", id: "vev:008fbac9871e45b139b0d2d7b22c1685", keys: callKeys},
		{file: "event-completed.json", id: "vev:2770839ac5905d43f97b1ece81197d6a", keys: callKeys},
		{file: "event-input-speech.json", id: "vev:278c0658fcf3f3d0d8ae7d143b764d73", keys: callKeys, input: true},
		{file: "event-input-dtmf.json", id: "vev:e1554ce44aca710eac0314476f2de821", keys: callKeys, input: true},
		{
			// Recording events name the conversation only.
			file: "event-record.json",
			id:   "vev:3a8cbaa0987c53b49fd6ebe75f2bcd2d",
			keys: []string{"vapi-ev|*", "vapi-ev|conv|" + conv},
		},
		{
			// "to" is not a key part of events: a "|" in it is harmless.
			file: "event-websocket-to-pipe.json",
			id:   "vev:bdffd9b0ed69cb512b8c6eaf6bf24e65",
			keys: []string{"vapi-ev|*", "vapi-ev|uuid|7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d", "vapi-ev|conv|" + conv},
		},
		{file: "malformed-no-ids.json", wantErr: "uuid or conversation_uuid is required"},
		{file: "malformed-pipe-in-uuid.json", wantErr: "may not contain |"},
		{file: "malformed-not-json.json", wantErr: "invalid character"},
		{file: "malformed-array.json", wantErr: "cannot unmarshal array"},
		{file: "malformed-to-not-string.json", wantErr: "cannot unmarshal number"},
	}
	cases := make([]parsetest.Case, len(tests))
	input := map[string]bool{}
	for i, tt := range tests {
		cases[i] = parsetest.Case{File: tt.file, ID: tt.id, Keys: tt.keys, WantErr: tt.wantErr}
		input[tt.file] = tt.input
	}
	parse := func(b []byte) (*router.Event, error) { ev, _, err := voice.ParseEvent(b); return ev, err }
	parsetest.Run(t, parse, voice.KindEvent, voice.ErrBadWebhook, load, cases, func(t *testing.T, c parsetest.Case, ev *router.Event) {
		if _, got, _ := voice.ParseEvent(ev.Body); got != input[c.File] {
			t.Errorf("input = %v, want %v", got, input[c.File])
		}
	})
}

// capture is the part of an SDK capture file the tests read.
type capture struct {
	URL     string          `json:"url"`
	Body    json.RawMessage `json:"body"`
	Outcome struct {
		Returned string `json:"returned"`
	} `json:"sdkCallOutcome"`
}

// subscription extracts the action and payload from a capture: neru wraps
// them in a Command envelope, vcr posts the bare payload to /<action>.
func subscription(t testing.TB, file string) (c capture, action string, payload json.RawMessage) {
	t.Helper()
	if err := json.Unmarshal(load(t, file), &c); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var env struct {
		Actions []struct {
			Provider string          `json:"provider"`
			Action   string          `json:"action"`
			Payload  json.RawMessage `json:"payload"`
		} `json:"actions"`
	}
	if err := json.Unmarshal(c.Body, &env); err == nil && len(env.Actions) > 0 {
		if len(env.Actions) != 1 || env.Actions[0].Provider != voice.Provider {
			t.Fatalf("%s: unexpected envelope %s", file, c.Body)
		}
		return c, env.Actions[0].Action, env.Actions[0].Payload
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		t.Fatal(err)
	}
	return c, strings.TrimPrefix(u.Path, "/"), c.Body
}

func mustPayload(t testing.TB, file string) json.RawMessage {
	_, _, p := subscription(t, file)
	return p
}

// authInstance is the instance the gateway authenticated; the captures claim
// "instance-id-0001" in the callback, which must not be used.
const authInstance = "inst-authenticated-42"

const (
	neru = "sdk/neru-alpha-5.1.0/"
	vcr  = "sdk/vcr-sdk-1.3.0/"
)

func TestListenerFromSDKCaptures(t *testing.T) {
	const (
		neruSession = "66726a67-bd25-441c-bd1e-cfdd4c9dc927"
		vcrSession  = "7d7d1447-5606-4218-ab80-315829415010"
	)
	tests := []struct {
		file    string
		action  string
		key     string
		path    string
		session string
	}{
		{neru + "vonage-voice-vapi-subscribe-inbound-call.json", voice.ActionAnswer, "vapi-answer|*", "onCall", neruSession},
		{neru + "prod-mode/vonage-voice-vapi-subscribe-inbound-call.json", voice.ActionAnswer, "vapi-answer|*", "onCall", "11a7141a-e61e-4f29-a525-44c2a41808d1"},
		{neru + "vonage-voice-vapi-subscribe-event--voice.onVapiEvent_vapiUUID.json", voice.ActionEvent, "vapi-ev|uuid|" + leg, "/onEvent", neruSession},
		{neru + "vonage-voice-vapi-subscribe-event--voice.onVapiEvent_conversationID.json", voice.ActionEvent, "vapi-ev|conv|" + conv, "onEvent", neruSession},
		{vcr + "vonage-voice-POST_vapi-subscribe-inbound-call.json", voice.ActionAnswer, "vapi-answer|*", "onCall", vcrSession},
		{vcr + "vonage-voice-POST_vapi-subscribe-event--voice.onCallEvent_vapiID.json", voice.ActionEvent, "vapi-ev|uuid|" + leg, "onEvent", vcrSession},
		{vcr + "vonage-voice-POST_vapi-subscribe-event--voice.onCallEvent_conversationID.json", voice.ActionEvent, "vapi-ev|conv|" + conv, "onEvent", vcrSession},
		{vcr + "vonage-voice-POST_vapi-subscribe-event--voice.onCallEvent_neither.json", voice.ActionEvent, "vapi-ev|*", "onEvent", vcrSession},
	}
	for _, tt := range tests {
		t.Run(path.Base(tt.file), func(t *testing.T) {
			c, action, payload := subscription(t, tt.file)
			if action != tt.action {
				t.Fatalf("capture action = %q, want %q", action, tt.action)
			}
			l, err := voice.Listener(authInstance, action, payload)
			if err != nil {
				t.Fatal(err)
			}
			if l.Key != tt.key {
				t.Errorf("key = %q, want %q", l.Key, tt.key)
			}
			if l.Path != tt.path {
				t.Errorf("path = %q, want %q", l.Path, tt.path)
			}
			if l.SessionID != tt.session {
				t.Errorf("session = %q, want %q", l.SessionID, tt.session)
			}
			if l.InstanceID != authInstance {
				t.Errorf("instance = %q, want the authenticated %q, not the callback's claim", l.InstanceID, authInstance)
			}
			if l.ID == "" || l.ID != c.Outcome.Returned {
				t.Errorf("id = %q, want the id the SDK returned, %q", l.ID, c.Outcome.Returned)
			}
			if l.Provider != voice.Provider || l.Action != tt.action {
				t.Errorf("provider/action = %q/%q", l.Provider, l.Action)
			}
			if err := l.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

func TestListenerRejects(t *testing.T) {
	const cb = `"callback":{"filters":[],"id":"cb-1","sessionId":"s-1","path":"onCall"}`
	tests := []struct {
		name    string
		action  string
		payload string
	}{
		{"messaging action", "subscribe-inbound-messages", `{` + cb + `}`},
		{"conversation action is not a vapi one", "conversation-subscribe-event", `{` + cb + `,"conversationId":"CON-1"}`},
		{"unsubscribe", voice.ActionUnsubscribe, `{"id":"cb-1"}`},
		{"not JSON", voice.ActionAnswer, `{"callback":`},
		{"array", voice.ActionEvent, `[]`},
		{"| in vapiID", voice.ActionEvent, `{` + cb + `,"vapiID":"a|b"}`},
		{"| in conversationId", voice.ActionEvent, `{` + cb + `,"conversationId":"CON-1|*"}`},
		{"| in to", voice.ActionAnswer, `{` + cb + `,"to":"447700900000|x"}`},
		{"vapiID not a string", voice.ActionEvent, `{` + cb + `,"vapiID":42}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := voice.Listener(authInstance, tt.action, json.RawMessage(tt.payload))
			if !errors.Is(err, listener.ErrInvalid) {
				t.Fatalf("Listener = %+v, %v; want ErrInvalid", l, err)
			}
		})
	}
}

// TestListenerMatchesWebhook checks that a registration's one key is among the
// keys of the webhooks it should receive, and only those.
func TestListenerMatchesWebhook(t *testing.T) {
	const cb = `"callback":{"filters":[],"id":"cb-1","sessionId":"s-1","instanceId":"someone-else","path":"onCall"}`
	answerN := mustPayload(t, neru+"vonage-voice-vapi-subscribe-inbound-call.json")
	answerV := mustPayload(t, vcr+"vonage-voice-POST_vapi-subscribe-inbound-call.json")
	byLegN := mustPayload(t, neru+"vonage-voice-vapi-subscribe-event--voice.onVapiEvent_vapiUUID.json")
	byConvN := mustPayload(t, neru+"vonage-voice-vapi-subscribe-event--voice.onVapiEvent_conversationID.json")
	byLegV := mustPayload(t, vcr+"vonage-voice-POST_vapi-subscribe-event--voice.onCallEvent_vapiID.json")
	byConvV := mustPayload(t, vcr+"vonage-voice-POST_vapi-subscribe-event--voice.onCallEvent_conversationID.json")
	allV := mustPayload(t, vcr+"vonage-voice-POST_vapi-subscribe-event--voice.onCallEvent_neither.json")
	toOurNumber := json.RawMessage(`{` + cb + `,"to":"447700900000"}`)

	answer := voice.ParseAnswer
	event := func(b []byte) (*router.Event, error) {
		ev, _, err := voice.ParseEvent(b)
		return ev, err
	}
	tests := []struct {
		name    string
		action  string
		payload json.RawMessage
		webhook string
		parse   func([]byte) (*router.Event, error)
		match   bool
	}{
		{"neru onVapiAnswer: any inbound call", voice.ActionAnswer, answerN, "answer.json", answer, true},
		{"neru onVapiAnswer: another number too", voice.ActionAnswer, answerN, "answer-sip.json", answer, true},
		{"neru onVapiAnswer: not a call event", voice.ActionAnswer, answerN, "event-started.json", event, false},
		{"vcr onCall: any inbound call", voice.ActionAnswer, answerV, "answer-client-sdk.json", answer, true},
		{"answer for one number", voice.ActionAnswer, toOurNumber, "answer.json", answer, true},
		{"answer for one number: another number", voice.ActionAnswer, toOurNumber, "answer-sip.json", answer, false},
		{"answer for one number: websocket URI", voice.ActionAnswer, toOurNumber, "event-websocket-to-pipe.json", answer, false},
		{"answer for +number", voice.ActionAnswer, json.RawMessage(`{` + cb + `,"to":"+447700900000"}`), "answer-client-sdk.json", answer, true},
		{"neru onVapiEvent(vapiUUID): started", voice.ActionEvent, byLegN, "event-started.json", event, true},
		{"neru onVapiEvent(vapiUUID): completed", voice.ActionEvent, byLegN, "event-completed.json", event, true},
		{"neru onVapiEvent(vapiUUID): speech input", voice.ActionEvent, byLegN, "event-input-speech.json", event, true},
		{"neru onVapiEvent(vapiUUID): conversation-only event", voice.ActionEvent, byLegN, "event-record.json", event, false},
		{"neru onVapiEvent(vapiUUID): another leg", voice.ActionEvent, byLegN, "event-websocket-to-pipe.json", event, false},
		{"neru onVapiEvent(vapiUUID): the answer webhook", voice.ActionEvent, byLegN, "answer.json", answer, false},
		{"neru onVapiEvent(conversationID): recording", voice.ActionEvent, byConvN, "event-record.json", event, true},
		{"neru onVapiEvent(conversationID): other leg, same conversation", voice.ActionEvent, byConvN, "event-websocket-to-pipe.json", event, true},
		{"neru onVapiEvent(conversationID): another conversation", voice.ActionEvent, byConvN, "answer-sip.json", event, false},
		{"vcr onCallEvent(vapiID): dtmf input", voice.ActionEvent, byLegV, "event-input-dtmf.json", event, true},
		{"vcr onCallEvent(vapiID): another call", voice.ActionEvent, byLegV, "answer-sip.json", event, false},
		{"vcr onCallEvent(conversationID): ringing", voice.ActionEvent, byConvV, "event-ringing.json", event, true},
		{"vcr onCallEvent(neither): any event", voice.ActionEvent, allV, "event-record.json", event, true},
		{"vcr onCallEvent(neither): not the answer", voice.ActionEvent, allV, "answer.json", answer, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := voice.Listener(authInstance, tt.action, tt.payload)
			if err != nil {
				t.Fatal(err)
			}
			ev, err := tt.parse(load(t, tt.webhook))
			if err != nil {
				t.Fatal(err)
			}
			if got := slices.Contains(ev.Keys, l.Key); got != tt.match {
				t.Errorf("listener key %q in event keys = %v, want %v\nevent keys: %q", l.Key, got, tt.match, ev.Keys)
			}
		})
	}
}

func fuzzSeeds(f *testing.F) {
	names, err := fs.Glob(testdata, "testdata/*.json")
	if err != nil || len(names) == 0 {
		f.Fatalf("no testdata: %v", err)
	}
	for _, name := range names {
		b, err := testdata.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"uuid":"*","conversation_uuid":"*","to":"*"}`))
	f.Add([]byte(`{"uuid":"u","to":"+"}`))
	f.Add([]byte(`null`))
	f.Add([]byte{})
}

// checkCommon is the invariant shared by both parsers: no panic; an error is
// ErrBadWebhook with no event; an event has the kind, the body it was given
// (unchanged), the catch-all key, and no key twice.
func checkCommon(t *testing.T, orig, body []byte, ev *router.Event, err error, kind, catchAll string) bool {
	t.Helper()
	if err != nil {
		if !errors.Is(err, voice.ErrBadWebhook) {
			t.Fatalf("error %v is not ErrBadWebhook", err)
		}
		if ev != nil {
			t.Fatalf("event with error %v", err)
		}
		return false
	}
	if !bytes.Equal(body, orig) {
		t.Fatal("parser modified its input")
	}
	if ev.Kind != kind || !parsetest.SameBody(ev.Body, body) {
		t.Fatalf("bad event: kind %q, body changed %v", ev.Kind, !parsetest.SameBody(ev.Body, body))
	}
	if !slices.Contains(ev.Keys, catchAll) {
		t.Fatalf("no %q in %q", catchAll, ev.Keys)
	}
	seen := map[string]bool{}
	for _, k := range ev.Keys {
		if seen[k] {
			t.Fatalf("repeated key %q in %q", k, ev.Keys)
		}
		seen[k] = true
	}
	return true
}

func FuzzParseAnswer(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		orig := bytes.Clone(body)
		ev, err := voice.ParseAnswer(body)
		if !checkCommon(t, orig, body, ev, err, voice.KindAnswer, "vapi-answer|*") {
			return
		}
		if !strings.HasPrefix(ev.ID, "answer:") || len(ev.ID) == len("answer:") {
			t.Fatalf("id %q", ev.ID)
		}
		for _, k := range ev.Keys {
			if !strings.HasPrefix(k, "vapi-answer|") || strings.Count(k, "|") != 1 || k == "vapi-answer|" {
				t.Fatalf("bad key %q", k)
			}
		}
	})
}

func FuzzParseEvent(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		orig := bytes.Clone(body)
		ev, _, err := voice.ParseEvent(body)
		if !checkCommon(t, orig, body, ev, err, voice.KindEvent, "vapi-ev|*") {
			return
		}
		if h, ok := strings.CutPrefix(ev.ID, "vev:"); !ok || len(h) != 32 {
			t.Fatalf("id %q", ev.ID)
		} else if _, err := hex.DecodeString(h); err != nil {
			t.Fatalf("id %q", ev.ID)
		}
		for _, k := range ev.Keys {
			if k == "vapi-ev|*" {
				continue
			}
			rest, ok := strings.CutPrefix(k, "vapi-ev|uuid|")
			if !ok {
				rest, ok = strings.CutPrefix(k, "vapi-ev|conv|")
			}
			if !ok || rest == "" || strings.Contains(rest, "|") {
				t.Fatalf("bad key %q", k)
			}
		}
		again, _, err := voice.ParseEvent(bytes.Clone(body))
		if err != nil || again.ID != ev.ID {
			t.Fatalf("not deterministic: %v %v", again, err)
		}
	})
}
