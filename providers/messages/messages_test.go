package messages_test

import (
	"bytes"
	"embed"
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
	"github.com/neru-dev/neru/providers/messages"
	"github.com/neru-dev/neru/router"
)

// testdata holds sample Vonage webhooks (*.json);
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

// webhookFiles lists the sample webhooks; they seed the fuzz targets.
func webhookFiles(t testing.TB) []string {
	t.Helper()
	names, err := fs.Glob(testdata, "testdata/*.json")
	if err != nil || len(names) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	return names
}

func TestParseInbound(t *testing.T) {
	tests := []parsetest.Case{
		{
			File: "inbound-sms.json",
			ID:   "msg-in:aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab",
			Keys: []string{
				"msg-in|sms|447700900000|447700900001",
				"msg-in|sms|447700900000|*",
				"msg-in|sms|*|447700900001",
				"msg-in|sms|*|*",
				"msg-in|*|447700900000|447700900001",
				"msg-in|*|447700900000|*",
				"msg-in|*|*|447700900001",
				"msg-in|*|*|*",
			},
		},
		{
			File: "inbound-sms-other-sender.json",
			ID:   "msg-in:5d1c3a4e-7b1f-4f64-9a9e-2b3c4d5e6f70",
			Keys: []string{
				"msg-in|sms|447700900000|447700900999",
				"msg-in|sms|447700900000|*",
				"msg-in|sms|*|447700900999",
				"msg-in|sms|*|*",
				"msg-in|*|447700900000|447700900999",
				"msg-in|*|447700900000|*",
				"msg-in|*|*|447700900999",
				"msg-in|*|*|*",
			},
		},
		{
			File: "inbound-whatsapp-text.json",
			ID:   "msg-in:3f9c2e1a-5b7d-4e8f-9a0b-1c2d3e4f5a6b",
			Keys: []string{
				"msg-in|whatsapp|447700900000|447700900001",
				"msg-in|whatsapp|447700900000|*",
				"msg-in|whatsapp|*|447700900001",
				"msg-in|whatsapp|*|*",
				"msg-in|*|447700900000|447700900001",
				"msg-in|*|447700900000|*",
				"msg-in|*|*|447700900001",
				"msg-in|*|*|*",
			},
		},
		{
			File: "inbound-whatsapp-image.json",
			ID:   "msg-in:8a7b6c5d-4e3f-4a1b-9c8d-7e6f5a4b3c2d",
			Keys: []string{
				"msg-in|whatsapp|447700900000|447700900001",
				"msg-in|whatsapp|447700900000|*",
				"msg-in|whatsapp|*|447700900001",
				"msg-in|whatsapp|*|*",
				"msg-in|*|447700900000|447700900001",
				"msg-in|*|447700900000|*",
				"msg-in|*|*|447700900001",
				"msg-in|*|*|*",
			},
		},
		{
			File: "inbound-mms-image.json",
			ID:   "msg-in:c0ffee00-1234-4abc-8def-0123456789ab",
			Keys: []string{
				"msg-in|mms|14155550100|14155550101",
				"msg-in|mms|14155550100|*",
				"msg-in|mms|*|14155550101",
				"msg-in|mms|*|*",
				"msg-in|*|14155550100|14155550101",
				"msg-in|*|14155550100|*",
				"msg-in|*|*|14155550101",
				"msg-in|*|*|*",
			},
		},
		{
			File: "inbound-viber.json",
			ID:   "msg-in:1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
			Keys: []string{
				"msg-in|viber_service|16273|447700900001",
				"msg-in|viber_service|16273|*",
				"msg-in|viber_service|*|447700900001",
				"msg-in|viber_service|*|*",
				"msg-in|*|16273|447700900001",
				"msg-in|*|16273|*",
				"msg-in|*|*|447700900001",
				"msg-in|*|*|*",
			},
		},
		{
			File: "inbound-messenger.json",
			ID:   "msg-in:2b3c4d5e-6f70-4819-a2b3-c4d5e6f7a8b9",
			Keys: []string{
				"msg-in|messenger|107083064136738|5425830904155421",
				"msg-in|messenger|107083064136738|*",
				"msg-in|messenger|*|5425830904155421",
				"msg-in|messenger|*|*",
				"msg-in|*|107083064136738|5425830904155421",
				"msg-in|*|107083064136738|*",
				"msg-in|*|*|5425830904155421",
				"msg-in|*|*|*",
			},
		},
		{
			// v0.1: no channel field; to/from are {type, number} objects.
			File: "inbound-v0.1-sms.json",
			ID:   "msg-in:9c8b7a6f-5e4d-4c3b-a2a1-f0e9d8c7b6a5",
			Keys: []string{
				"msg-in|sms|447700900000|447700900001",
				"msg-in|sms|447700900000|*",
				"msg-in|sms|*|447700900001",
				"msg-in|sms|*|*",
				"msg-in|*|447700900000|447700900001",
				"msg-in|*|447700900000|*",
				"msg-in|*|*|447700900001",
				"msg-in|*|*|*",
			},
		},
		{
			// v0.1 Viber: type "viber_service_msg" is the v1 channel
			// "viber_service"; "to" is an {id} rather than a {number}.
			File: "inbound-v0.1-viber.json",
			ID:   "msg-in:7d6c5b4a-3928-4716-b5a4-938271605f4e",
			Keys: []string{
				"msg-in|viber_service|16273|447700900001",
				"msg-in|viber_service|16273|*",
				"msg-in|viber_service|*|447700900001",
				"msg-in|viber_service|*|*",
				"msg-in|*|16273|447700900001",
				"msg-in|*|16273|*",
				"msg-in|*|*|447700900001",
				"msg-in|*|*|*",
			},
		},
		{
			// A sender equal to the wildcard must not repeat Keys: each
			// repeat would make the store return the same listener twice.
			File: "edge-wildcard-sender.json",
			ID:   "msg-in:aaaaaaaa-bbbb-4ccc-8ddd-0123456789b2",
			Keys: []string{
				"msg-in|sms|447700900000|*",
				"msg-in|sms|*|*",
				"msg-in|*|447700900000|*",
				"msg-in|*|*|*",
			},
		},
		{File: "malformed-not-json.json", WantErr: "invalid character"},
		{File: "malformed-array.json", WantErr: "cannot unmarshal array"},
		{File: "malformed-missing-message-uuid.json", WantErr: "message_uuid is required"},
		{File: "malformed-missing-channel.json", WantErr: "channel is required"},
		{File: "malformed-missing-from.json", WantErr: "to and from are required"},
		{File: "malformed-pipe-in-number.json", WantErr: "may not contain |"},
		{File: "malformed-number-not-string.json", WantErr: "string or a {type, number} object"},
	}
	parsetest.Run(t, messages.ParseInbound, messages.KindInbound, messages.ErrBadWebhook, load, tests, nil)
}

func TestParseStatus(t *testing.T) {
	tests := []parsetest.Case{
		{
			// Status keys run from our number (the sender) to the recipient.
			File: "status-submitted.json",
			ID:   "msg-ev:aaaaaaaa-bbbb-4ccc-8ddd-0123456789ac:submitted:2025-02-03T12:14:26Z",
			Keys: []string{
				"msg-ev|sms|447700900000|447700900001",
				"msg-ev|sms|447700900000|*",
				"msg-ev|sms|*|447700900001",
				"msg-ev|sms|*|*",
				"msg-ev|*|447700900000|447700900001",
				"msg-ev|*|447700900000|*",
				"msg-ev|*|*|447700900001",
				"msg-ev|*|*|*",
			},
		},
		{
			// Same message, later status: a different event id.
			File: "status-delivered.json",
			ID:   "msg-ev:aaaaaaaa-bbbb-4ccc-8ddd-0123456789ac:delivered:2025-02-03T12:14:29Z",
			Keys: []string{
				"msg-ev|sms|447700900000|447700900001",
				"msg-ev|sms|447700900000|*",
				"msg-ev|sms|*|447700900001",
				"msg-ev|sms|*|*",
				"msg-ev|*|447700900000|447700900001",
				"msg-ev|*|447700900000|*",
				"msg-ev|*|*|447700900001",
				"msg-ev|*|*|*",
			},
		},
		{
			File: "status-rejected.json",
			ID:   "msg-ev:6e5d4c3b-2a19-4807-96f5-e4d3c2b1a090:rejected:2025-02-03T12:40:00Z",
			Keys: []string{
				"msg-ev|whatsapp|447700900000|447700900001",
				"msg-ev|whatsapp|447700900000|*",
				"msg-ev|whatsapp|*|447700900001",
				"msg-ev|whatsapp|*|*",
				"msg-ev|*|447700900000|447700900001",
				"msg-ev|*|447700900000|*",
				"msg-ev|*|*|447700900001",
				"msg-ev|*|*|*",
			},
		},
		{File: "malformed-status-without-status.json", WantErr: "status is required"},
		{File: "inbound-sms.json", WantErr: "status is required"},
		{File: "malformed-not-json.json", WantErr: "invalid character"},
		{File: "malformed-array.json", WantErr: "cannot unmarshal array"},
		{File: "malformed-missing-message-uuid.json", WantErr: "message_uuid is required"},
		{File: "malformed-missing-channel.json", WantErr: "channel is required"},
		{File: "malformed-pipe-in-number.json", WantErr: "may not contain |"},
	}
	parsetest.Run(t, messages.ParseStatus, messages.KindStatus, messages.ErrBadWebhook, load, tests, nil)
}

// capture is the part of an SDK capture file (../shared/sdk-captures) the
// tests read.
type capture struct {
	SDKCall string          `json:"sdkCall"`
	URL     string          `json:"url"`
	Body    json.RawMessage `json:"body"`
	Outcome struct {
		Returned string `json:"returned"`
	} `json:"sdkCallOutcome"`
}

// subscription extracts the action and payload from a capture: neru wraps
// every action in a Command envelope, vcr posts the bare payload to /<action>
// (and uses the envelope for unsubscribe only).
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
		if len(env.Actions) != 1 || env.Actions[0].Provider != messages.Provider {
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

// authInstance is the instance the gateway authenticated; the captures claim
// "instance-id-0001" in the callback, which must not be used.
const authInstance = "inst-authenticated-42"

func TestListenerFromSDKCaptures(t *testing.T) {
	const (
		neru = "sdk/neru-alpha-5.1.0/"
		vcr  = "sdk/vcr-sdk-1.3.0/"
	)
	tests := []struct {
		file    string
		action  string
		key     string
		path    string
		session string
	}{
		{
			file:    neru + "vonage-messaging-subscribe-inbound-messages--messages.onMessage.json",
			action:  messages.ActionInbound,
			key:     "msg-in|sms|447700900000|447700900001",
			path:    "onMessage",
			session: "66726a67-bd25-441c-bd1e-cfdd4c9dc927",
		},
		{
			file:    neru + "vonage-messaging-subscribe-inbound-messages--messages.listenMessages.json",
			action:  messages.ActionInbound,
			key:     "msg-in|sms|447700900000|447700900001",
			path:    "onMessage2",
			session: "66726a67-bd25-441c-bd1e-cfdd4c9dc927",
		},
		{
			// The registration the recorder answered 500: the payload is valid.
			file:    neru + "vonage-messaging-subscribe-inbound-messages--FORCE500.messages.onMessage.json",
			action:  messages.ActionInbound,
			key:     "msg-in|sms|447700900000|447700900001",
			path:    "onMessage",
			session: "66726a67-bd25-441c-bd1e-cfdd4c9dc927",
		},
		{
			file:    neru + "vonage-messaging-subscribe-inbound-events--messages.onMessageEvents.json",
			action:  messages.ActionEvents,
			key:     "msg-ev|sms|447700900000|447700900001",
			path:    "onMessageEvent",
			session: "66726a67-bd25-441c-bd1e-cfdd4c9dc927",
		},
		{
			file:    neru + "vonage-messaging-subscribe-inbound-events--messages.listenEvents.json",
			action:  messages.ActionEvents,
			key:     "msg-ev|sms|447700900000|447700900001",
			path:    "onMessageEvent2",
			session: "66726a67-bd25-441c-bd1e-cfdd4c9dc927",
		},
		{
			file:    vcr + "vonage-messaging-POST_subscribe-inbound-messages--messages.onMessage.json",
			action:  messages.ActionInbound,
			key:     "msg-in|sms|447700900000|447700900001",
			path:    "onMessage",
			session: "7d7d1447-5606-4218-ab80-315829415010",
		},
		{
			file:    vcr + "vonage-messaging-POST_subscribe-inbound-events.json",
			action:  messages.ActionEvents,
			key:     "msg-ev|sms|447700900000|447700900001",
			path:    "onMessageEvent",
			session: "7d7d1447-5606-4218-ab80-315829415010",
		},
	}
	for _, tt := range tests {
		t.Run(path.Base(tt.file), func(t *testing.T) {
			c, action, payload := subscription(t, tt.file)
			if action != tt.action {
				t.Fatalf("capture action = %q, want %q", action, tt.action)
			}
			l, err := messages.Listener(authInstance, action, payload)
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
			var sent struct {
				Callback struct{ ID string } `json:"callback"`
			}
			if err := json.Unmarshal(payload, &sent); err != nil {
				t.Fatal(err)
			}
			if l.ID != sent.Callback.ID || (c.Outcome.Returned != "" && l.ID != c.Outcome.Returned) {
				t.Errorf("id = %q, want the callback id %q that the SDK returned (%q)", l.ID, sent.Callback.ID, c.Outcome.Returned)
			}
			if l.Provider != messages.Provider || l.Action != tt.action {
				t.Errorf("provider/action = %q/%q", l.Provider, l.Action)
			}
			if len(l.Filters) != 0 {
				t.Errorf("filters = %+v, want none", l.Filters)
			}
			if err := l.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

func TestListenerRejects(t *testing.T) {
	const cb = `"callback":{"filters":[],"id":"cb-1","sessionId":"s-1","path":"onMessage"}`
	tests := []struct {
		name    string
		action  string
		payload string
	}{
		{"unsubscribe is not a subscription (neru capture)", messages.ActionUnsubscribe,
			string(mustPayload(t, "sdk/neru-alpha-5.1.0/vonage-messaging-unsubscribe-event.json"))},
		{"unsubscribe is not a subscription (vcr capture)", messages.ActionUnsubscribe,
			string(mustPayload(t, "sdk/vcr-sdk-1.3.0/vonage-messaging-unsubscribe-event.json"))},
		{"voice action", "vapi-subscribe-inbound-call", `{` + cb + `}`},
		{"not JSON", messages.ActionInbound, `{"from":`},
		{"array", messages.ActionInbound, `[]`},
		{"number not a string", messages.ActionInbound, `{"from":{"type":"sms","number":447700900001},` + cb + `}`},
		{"| in number", messages.ActionInbound, `{"from":{"type":"sms","number":"1|*"},` + cb + `}`},
		{"| in id", messages.ActionEvents, `{"to":{"type":"messenger","id":"1|2"},` + cb + `}`},
		{"| in channel", messages.ActionInbound, `{"to":{"type":"sms|*","number":"447700900000"},` + cb + `}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := messages.Listener(authInstance, tt.action, json.RawMessage(tt.payload))
			if !errors.Is(err, listener.ErrInvalid) {
				t.Fatalf("Listener = %+v, %v; want ErrInvalid", l, err)
			}
		})
	}
}

func mustPayload(t testing.TB, file string) json.RawMessage {
	_, _, p := subscription(t, file)
	return p
}

// TestListenerMatchesWebhook checks that a registration's one key is among the
// keys of the webhooks it should receive, and only those.
func TestListenerMatchesWebhook(t *testing.T) {
	const cb = `"callback":{"filters":[],"id":"cb-1","sessionId":"s-1","instanceId":"someone-else","path":"onMessage"}`
	onMessage := mustPayload(t, "sdk/neru-alpha-5.1.0/vonage-messaging-subscribe-inbound-messages--messages.onMessage.json")
	onMessageVCR := mustPayload(t, "sdk/vcr-sdk-1.3.0/vonage-messaging-POST_subscribe-inbound-messages--messages.onMessage.json")
	onEvents := mustPayload(t, "sdk/neru-alpha-5.1.0/vonage-messaging-subscribe-inbound-events--messages.onMessageEvents.json")
	onEventsVCR := mustPayload(t, "sdk/vcr-sdk-1.3.0/vonage-messaging-POST_subscribe-inbound-events.json")
	anySender := json.RawMessage(`{"from":{"type":"sms","number":null},"to":{"type":"sms","number":"447700900000"},` + cb + `}`)

	inbound, status := messages.ParseInbound, messages.ParseStatus
	tests := []struct {
		name    string
		action  string
		payload json.RawMessage
		webhook string
		parse   func([]byte) (*router.Event, error)
		match   bool
	}{
		{"neru onMessage: the SMS it names", messages.ActionInbound, onMessage, "inbound-sms.json", inbound, true},
		{"neru onMessage: another sender", messages.ActionInbound, onMessage, "inbound-sms-other-sender.json", inbound, false},
		{"neru onMessage: same numbers on WhatsApp", messages.ActionInbound, onMessage, "inbound-whatsapp-text.json", inbound, false},
		{"neru onMessage: v0.1 webhook", messages.ActionInbound, onMessage, "inbound-v0.1-sms.json", inbound, true},
		{"neru onMessage: a status is not an inbound", messages.ActionInbound, onMessage, "status-delivered.json", status, false},
		{"vcr onMessage: the SMS it names", messages.ActionInbound, onMessageVCR, "inbound-sms.json", inbound, true},
		{"vcr onMessage: another sender", messages.ActionInbound, onMessageVCR, "inbound-sms-other-sender.json", inbound, false},
		{"null number matches any sender", messages.ActionInbound, anySender, "inbound-sms-other-sender.json", inbound, true},
		{"null number: still only sms", messages.ActionInbound, anySender, "inbound-mms-image.json", inbound, false},
		{"null number: still only our number", messages.ActionInbound, json.RawMessage(`{"from":{"type":"mms","number":null},"to":{"type":"mms","number":"447700900000"},` + cb + `}`), "inbound-mms-image.json", inbound, false},
		{"empty number matches any sender", messages.ActionInbound, json.RawMessage(`{"from":{"type":"sms","number":""},"to":{"type":"sms","number":"447700900000"},` + cb + `}`), "inbound-sms-other-sender.json", inbound, true},
		{"a bare + is no number, so any sender", messages.ActionInbound, json.RawMessage(`{"from":{"type":"sms","number":"+"},"to":{"type":"sms","number":"447700900000"},` + cb + `}`), "inbound-sms.json", inbound, true},
		{"leading + in the registration", messages.ActionInbound, json.RawMessage(`{"from":{"type":"whatsapp","number":null},"to":{"type":"whatsapp","number":"+447700900000"},` + cb + `}`), "inbound-whatsapp-image.json", inbound, true},
		{"channel in upper case", messages.ActionInbound, json.RawMessage(`{"from":{"type":"SMS","number":"447700900001"},"to":{"type":"SMS","number":"447700900000"},` + cb + `}`), "inbound-sms.json", inbound, true},
		{"no contacts: every inbound", messages.ActionInbound, json.RawMessage(`{` + cb + `}`), "inbound-messenger.json", inbound, true},
		{"MMS by number", messages.ActionInbound, json.RawMessage(`{"from":{"type":"mms","number":"14155550101"},"to":{"type":"mms","number":"14155550100"},` + cb + `}`), "inbound-mms-image.json", inbound, true},
		{"Viber by service id", messages.ActionInbound, json.RawMessage(`{"from":{"type":"viber_service","number":null},"to":{"type":"viber_service","number":null,"id":"16273"},` + cb + `}`), "inbound-viber.json", inbound, true},
		{"Viber v0.1 webhook", messages.ActionInbound, json.RawMessage(`{"from":{"type":"viber_service","number":null},"to":{"type":"viber_service","number":"16273"},` + cb + `}`), "inbound-v0.1-viber.json", inbound, true},
		{"Messenger by ids", messages.ActionInbound, json.RawMessage(`{"from":{"type":"messenger","number":null,"id":"5425830904155421"},"to":{"type":"messenger","number":null,"id":"107083064136738"},` + cb + `}`), "inbound-messenger.json", inbound, true},
		{"Messenger: another page", messages.ActionInbound, json.RawMessage(`{"from":{"type":"messenger","number":null},"to":{"type":"messenger","number":null,"id":"999"},` + cb + `}`), "inbound-messenger.json", inbound, false},
		{"neru onMessageEvents: status of our message", messages.ActionEvents, onEvents, "status-delivered.json", status, true},
		{"neru onMessageEvents: submitted too", messages.ActionEvents, onEvents, "status-submitted.json", status, true},
		{"neru onMessageEvents: WhatsApp status", messages.ActionEvents, onEvents, "status-rejected.json", status, false},
		{"neru onMessageEvents: an inbound is not a status", messages.ActionEvents, onEvents, "inbound-sms.json", inbound, false},
		{"vcr onMessageEvent: status of our message", messages.ActionEvents, onEventsVCR, "status-submitted.json", status, true},
		{"events from our number to anyone", messages.ActionEvents, json.RawMessage(`{"from":{"type":"whatsapp","number":"447700900000"},"to":{"type":"whatsapp","number":null},` + cb + `}`), "status-rejected.json", status, true},
		{"events in the inbound direction do not match", messages.ActionEvents, json.RawMessage(`{"from":{"type":"sms","number":"447700900001"},"to":{"type":"sms","number":"447700900000"},` + cb + `}`), "status-delivered.json", status, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := messages.Listener(authInstance, tt.action, tt.payload)
			if err != nil {
				t.Fatal(err)
			}
			if l.InstanceID != authInstance {
				t.Errorf("instance = %q, want %q", l.InstanceID, authInstance)
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

func TestNumber(t *testing.T) {
	tests := []struct{ in, want string }{
		{"447700900001", "447700900001"},
		{"+447700900001", "447700900001"},
		{" +447700900001 ", "447700900001"},
		{"+", ""},
		{"", ""},
		{"Vonage", "Vonage"},
		{"++44", "+44"},
	}
	for _, tt := range tests {
		if got := messages.Number(tt.in); got != tt.want {
			t.Errorf("Number(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// checkEvent is the invariant of every parser: no panic; an error is
// ErrBadWebhook with no event; an event has the kind, an id, well-formed keys
// with the prefix (the catch-all among them, none repeated) and the body it
// was given, unchanged.
func checkEvent(t *testing.T, orig, body []byte, ev *router.Event, err error, kind, prefix string) {
	t.Helper()
	if err != nil {
		if !errors.Is(err, messages.ErrBadWebhook) {
			t.Fatalf("error %v is not ErrBadWebhook", err)
		}
		if ev != nil {
			t.Fatalf("event with error %v", err)
		}
		return
	}
	if !bytes.Equal(body, orig) {
		t.Fatal("parser modified its input")
	}
	if ev.Kind != kind || ev.ID == "" || !parsetest.SameBody(ev.Body, body) {
		t.Fatalf("bad event: kind %q id %q body changed %v", ev.Kind, ev.ID, !parsetest.SameBody(ev.Body, body))
	}
	seen := map[string]bool{}
	for _, k := range ev.Keys {
		if !strings.HasPrefix(k, prefix+"|") || strings.Count(k, "|") != 3 {
			t.Fatalf("bad key %q", k)
		}
		if seen[k] {
			t.Fatalf("repeated key %q in %q", k, ev.Keys)
		}
		seen[k] = true
	}
	if !seen[listener.Key(prefix, listener.Any, listener.Any, listener.Any)] {
		t.Fatalf("no catch-all key in %q", ev.Keys)
	}
}

func fuzzSeeds(f *testing.F) {
	for _, name := range webhookFiles(f) {
		b, err := testdata.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"channel":"sms","message_uuid":"u","to":{"type":"sms","id":"x"},"from":"*","status":"read"}`))
	f.Add([]byte(`null`))
	f.Add([]byte{})
}

func FuzzParseInbound(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		orig := bytes.Clone(body)
		ev, err := messages.ParseInbound(body)
		checkEvent(t, orig, body, ev, err, messages.KindInbound, "msg-in")
		if err == nil && !strings.HasPrefix(ev.ID, "msg-in:") {
			t.Fatalf("id %q", ev.ID)
		}
	})
}

func FuzzParseStatus(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		orig := bytes.Clone(body)
		ev, err := messages.ParseStatus(body)
		checkEvent(t, orig, body, ev, err, messages.KindStatus, "msg-ev")
		if err == nil && !strings.HasPrefix(ev.ID, "msg-ev:") {
			t.Fatalf("id %q", ev.ID)
		}
	})
}
