package simulate

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/neru-dev/neru/providers/messages"
	"github.com/neru-dev/neru/providers/voice"
)

// fixedClock makes timestamps predictable for the duration of a test.
func fixedClock(t *testing.T) time.Time {
	t.Helper()
	at := time.Date(2025, 2, 3, 12, 14, 25, 123_000_000, time.FixedZone("CET", 3600))
	old := now
	now = func() time.Time { return at }
	t.Cleanup(func() { now = old })
	return at
}

func decode(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("payload is not a JSON object: %v\n%s", err, body)
	}
	return m
}

// field reads a dot path of a decoded payload.
func field(m map[string]any, path string) any {
	var cur any = m
	for p := range strings.SplitSeq(path, ".") {
		o, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = o[p]
	}
	return cur
}

func TestSMS(t *testing.T) {
	fixedClock(t)
	tests := []struct {
		name   string
		o      Options
		path   string
		key    string         // must be among the event's keys
		fields map[string]any // dot path → value in the payload
		absent []string       // dot paths that must not be set
		id     string         // event id; empty: a generated uuid
		extra  func(*testing.T, map[string]any)
	}{
		{
			name: "defaults",
			o:    Options{ApplicationID: "app-1"},
			path: "/webhooks/app-1/messages/inbound",
			key:  "msg-in|sms|447700900000|447700900001",
			fields: map[string]any{
				"channel": "sms", "to": "447700900000", "from": "447700900001",
				"message_type": "text", "text": "Hello", "timestamp": "2025-02-03T11:14:25Z",
				"sms.num_messages": "1", "sms.keyword": "HELLO",
				"usage.currency": "EUR", "usage.price": "0.0057",
			},
			absent: []string{"profile"},
		},
		{
			name: "given numbers, text and uuid",
			o: Options{ApplicationID: "app-1", From: "447700900999", To: "447700900000",
				Text: "stop all messages", UUID: "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab"},
			path: "/webhooks/app-1/messages/inbound",
			key:  "msg-in|sms|447700900000|447700900999",
			id:   "msg-in:aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab",
			fields: map[string]any{
				"from": "447700900999", "text": "stop all messages", "sms.keyword": "STOP",
				"message_uuid": "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab",
			},
		},
		{
			name:   "long text takes several parts",
			o:      Options{ApplicationID: "app-1", Text: strings.Repeat("a", 161)},
			path:   "/webhooks/app-1/messages/inbound",
			key:    "msg-in|sms|*|*",
			fields: map[string]any{"sms.num_messages": "2", "sms.keyword": strings.ToUpper(strings.Repeat("a", 161))},
		},
		{
			name:   "whatsapp",
			o:      Options{ApplicationID: "app-1", Channel: "whatsapp"},
			path:   "/webhooks/app-1/messages/inbound",
			key:    "msg-in|whatsapp|447700900000|447700900001",
			fields: map[string]any{"channel": "whatsapp", "profile.name": "Simulated Customer", "text": "Hello"},
			absent: []string{"sms", "usage"},
		},
		{
			name:   "mms",
			o:      Options{ApplicationID: "app-1", Channel: "mms", From: "14155550101", To: "14155550100"},
			path:   "/webhooks/app-1/messages/inbound",
			key:    "msg-in|mms|14155550100|14155550101",
			fields: map[string]any{"channel": "mms"},
			absent: []string{"sms", "profile"},
		},
		{
			name:   "viber",
			o:      Options{ApplicationID: "app-1", Channel: "viber_service", To: "16273"},
			path:   "/webhooks/app-1/messages/inbound",
			key:    "msg-in|viber_service|16273|447700900001",
			fields: map[string]any{"channel": "viber_service"},
		},
		{
			name:   "messenger ids",
			o:      Options{ApplicationID: "app-1", Channel: "messenger", From: "5425830904155421", To: "107083064136738"},
			path:   "/webhooks/app-1/messages/inbound",
			key:    "msg-in|messenger|107083064136738|5425830904155421",
			fields: map[string]any{"channel": "messenger"},
		},
		{
			name: "application id is escaped",
			o:    Options{ApplicationID: "app 1/x"},
			path: "/webhooks/app%201%2Fx/messages/inbound",
			key:  "msg-in|*|*|*",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, body := SMS(tt.o)
			if path != tt.path {
				t.Errorf("path = %q, want %q", path, tt.path)
			}
			ev, err := messages.ParseInbound(body)
			if err != nil {
				t.Fatalf("ParseInbound: %v\n%s", err, body)
			}
			if !slices.Contains(ev.Keys, tt.key) {
				t.Errorf("key %q not in %q", tt.key, ev.Keys)
			}
			m := decode(t, body)
			if tt.id != "" {
				if ev.ID != tt.id {
					t.Errorf("id = %q, want %q", ev.ID, tt.id)
				}
			} else if _, err := uuid.Parse(field(m, "message_uuid").(string)); err != nil {
				t.Errorf("generated message_uuid: %v", err)
			}
			for p, want := range tt.fields {
				if got := field(m, p); got != want {
					t.Errorf("%s = %#v, want %#v", p, got, want)
				}
			}
			for _, p := range tt.absent {
				if got := field(m, p); got != nil {
					t.Errorf("%s = %#v, want absent", p, got)
				}
			}
		})
	}
}

func TestSMSGeneratesFreshIDs(t *testing.T) {
	_, a := SMS(Options{ApplicationID: "app-1"})
	_, b := SMS(Options{ApplicationID: "app-1"})
	if field(decode(t, a), "message_uuid") == field(decode(t, b), "message_uuid") {
		t.Error("two simulated messages share a message_uuid")
	}
}

func TestSegmentsAndKeyword(t *testing.T) {
	tests := []struct {
		text     string
		segments int
		keyword  string
	}{
		{"", 1, ""},
		{"hello world", 1, "HELLO"},
		{"  stop\tnow", 1, "STOP"},
		{strings.Repeat("x", 160), 1, strings.Repeat("X", 160)},
		{strings.Repeat("x", 161), 2, strings.Repeat("X", 161)},
		{strings.Repeat("x", 306), 2, strings.Repeat("X", 306)},
		{strings.Repeat("x", 307), 3, strings.Repeat("X", 307)},
		{strings.Repeat("é", 70), 1, strings.Repeat("É", 70)},
		{strings.Repeat("é", 71), 2, strings.Repeat("É", 71)},
		{strings.Repeat("😀", 35), 1, strings.Repeat("😀", 35)}, // 70 UTF-16 units
		{strings.Repeat("😀", 36), 2, strings.Repeat("😀", 36)},
	}
	for _, tt := range tests {
		if got := segments(tt.text); got != tt.segments {
			t.Errorf("segments(%d chars %.8q) = %d, want %d", len(tt.text), tt.text, got, tt.segments)
		}
		if got := keyword(tt.text); got != tt.keyword {
			t.Errorf("keyword(%.8q) = %.8q, want %.8q", tt.text, got, tt.keyword)
		}
	}
}

func TestSMSStatus(t *testing.T) {
	fixedClock(t)
	const id = "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ac"
	tests := []struct {
		name   string
		o      Options
		key    string
		id     string
		fields map[string]any
		absent []string
	}{
		{
			// Defaults run from the app's number to the customer: the
			// listener onMessageEvents(from=our number, to=customer) matches.
			name: "defaults",
			o:    Options{ApplicationID: "app-1", UUID: id},
			key:  "msg-ev|sms|447700900000|447700900001",
			id:   "msg-ev:" + id + ":delivered:2025-02-03T11:14:25Z",
			fields: map[string]any{
				"status": "delivered", "from": "447700900000", "to": "447700900001", "channel": "sms",
				"usage.price": "0.0333",
			},
			absent: []string{"error"},
		},
		{
			name:   "submitted",
			o:      Options{ApplicationID: "app-1", UUID: id, Status: "submitted"},
			key:    "msg-ev|sms|447700900000|447700900001",
			id:     "msg-ev:" + id + ":submitted:2025-02-03T11:14:25Z",
			fields: map[string]any{"status": "submitted"},
		},
		{
			name: "rejected carries an error",
			o:    Options{ApplicationID: "app-1", UUID: id, Status: "rejected", Channel: "whatsapp"},
			key:  "msg-ev|whatsapp|447700900000|447700900001",
			id:   "msg-ev:" + id + ":rejected:2025-02-03T11:14:25Z",
			fields: map[string]any{
				"status": "rejected", "channel": "whatsapp", "error.title": float64(1320),
				"error.type": "https://developer.vonage.com/api-errors/messages#1320",
			},
			absent: []string{"usage"},
		},
		{
			name:   "given numbers are the webhook's from and to",
			o:      Options{ApplicationID: "app-1", UUID: id, From: "447700900002", To: "447700900003"},
			key:    "msg-ev|sms|447700900002|447700900003",
			id:     "msg-ev:" + id + ":delivered:2025-02-03T11:14:25Z",
			fields: map[string]any{"from": "447700900002", "to": "447700900003"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, body := SMSStatus(tt.o)
			if path != "/webhooks/app-1/messages/status" {
				t.Errorf("path = %q", path)
			}
			ev, err := messages.ParseStatus(body)
			if err != nil {
				t.Fatalf("ParseStatus: %v\n%s", err, body)
			}
			if ev.ID != tt.id {
				t.Errorf("id = %q, want %q", ev.ID, tt.id)
			}
			if !slices.Contains(ev.Keys, tt.key) {
				t.Errorf("key %q not in %q", tt.key, ev.Keys)
			}
			m := decode(t, body)
			for p, want := range tt.fields {
				if got := field(m, p); got != want {
					t.Errorf("%s = %#v, want %#v", p, got, want)
				}
			}
			for _, p := range tt.absent {
				if got := field(m, p); got != nil {
					t.Errorf("%s = %#v, want absent", p, got)
				}
			}
		})
	}
}

func TestCall(t *testing.T) {
	const leg, conv = "63f61863-4a51-4f6b-86e1-46edebcf9356", "CON-f972836a-550f-45fa-956c-12a2ab5b7d22"
	path, body := Call(Options{ApplicationID: "app-1", UUID: leg, ConversationUUID: conv})
	if path != "/webhooks/app-1/voice/answer" {
		t.Errorf("path = %q", path)
	}
	ev, err := voice.ParseAnswer(body)
	if err != nil {
		t.Fatalf("ParseAnswer: %v\n%s", err, body)
	}
	if ev.ID != "answer:"+leg {
		t.Errorf("id = %q", ev.ID)
	}
	want := []string{"vapi-answer|*", "vapi-answer|447700900000"}
	if g := slices.Sorted(slices.Values(ev.Keys)); !slices.Equal(g, want) {
		t.Errorf("keys = %q, want %q", g, want)
	}
	m := decode(t, body)
	for p, want := range map[string]any{
		"to": "447700900000", "from": "447700900001", "uuid": leg, "conversation_uuid": conv,
		"region_url": "https://api-eu-3.vonage.com", "endpoint_type": "phone",
	} {
		if got := field(m, p); got != want {
			t.Errorf("%s = %#v, want %#v", p, got, want)
		}
	}
	if cd, ok := m["custom_data"].(map[string]any); !ok || len(cd) != 0 {
		t.Errorf("custom_data = %#v, want {}", m["custom_data"])
	}

	// Generated ids: a uuid leg, a CON- conversation.
	_, body = Call(Options{ApplicationID: "app-1"})
	m = decode(t, body)
	if _, err := uuid.Parse(m["uuid"].(string)); err != nil {
		t.Errorf("uuid: %v", err)
	}
	if c := m["conversation_uuid"].(string); !strings.HasPrefix(c, "CON-") || uuid.Validate(c[4:]) != nil {
		t.Errorf("conversation_uuid = %q", c)
	}
}

func TestVoiceEvent(t *testing.T) {
	fixedClock(t)
	const leg, conv = "63f61863-4a51-4f6b-86e1-46edebcf9356", "CON-f972836a-550f-45fa-956c-12a2ab5b7d22"
	tests := []struct {
		name   string
		o      Options
		input  bool
		fields map[string]any
		absent []string
	}{
		{
			name: "default status",
			o:    Options{},
			fields: map[string]any{
				"status": "answered", "direction": "inbound", "from": "447700900001", "to": "447700900000",
				"timestamp": "2025-02-03T11:14:25.123Z",
			},
			absent: []string{"duration", "price", "speech", "dtmf"},
		},
		{
			name:   "started",
			o:      Options{Status: "started"},
			fields: map[string]any{"status": "started"},
		},
		{
			name: "completed has duration and price",
			o:    Options{Status: "completed"},
			fields: map[string]any{
				"status": "completed", "duration": "42", "price": "0.00889000", "rate": "0.01270000",
				"start_time": "2025-02-03T11:13:43.123Z", "end_time": "2025-02-03T11:14:25.123Z",
			},
		},
		{
			name:  "speech input",
			o:     Options{Speech: "sales please", Status: "ignored for input"},
			input: true,
			fields: map[string]any{
				"speech.timeout_reason": "end_on_silence_timeout", "dtmf.timed_out": false,
			},
			absent: []string{"status", "dtmf.digits"},
		},
		{
			name:   "dtmf input",
			o:      Options{DTMF: "1234"},
			input:  true,
			fields: map[string]any{"dtmf.digits": "1234", "dtmf.timed_out": false},
			absent: []string{"speech", "status"},
		},
		{
			name:   "speech and dtmf",
			o:      Options{Speech: "yes", DTMF: "1"},
			input:  true,
			fields: map[string]any{"dtmf.digits": "1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.o.ApplicationID, tt.o.UUID, tt.o.ConversationUUID = "app-1", leg, conv
			path, body := VoiceEvent(tt.o)
			if path != "/webhooks/app-1/voice/event" {
				t.Errorf("path = %q", path)
			}
			ev, input, err := voice.ParseEvent(body)
			if err != nil {
				t.Fatalf("ParseEvent: %v\n%s", err, body)
			}
			if input != tt.input {
				t.Errorf("input = %v, want %v", input, tt.input)
			}
			want := []string{"vapi-ev|*", "vapi-ev|conv|" + conv, "vapi-ev|uuid|" + leg}
			if g := slices.Sorted(slices.Values(ev.Keys)); !slices.Equal(g, want) {
				t.Errorf("keys = %q, want %q", g, want)
			}
			m := decode(t, body)
			if m["uuid"] != leg || m["conversation_uuid"] != conv {
				t.Errorf("ids = %v / %v", m["uuid"], m["conversation_uuid"])
			}
			for p, want := range tt.fields {
				if got := field(m, p); got != want {
					t.Errorf("%s = %#v, want %#v", p, got, want)
				}
			}
			for _, p := range tt.absent {
				if got := field(m, p); got != nil {
					t.Errorf("%s = %#v, want absent", p, got)
				}
			}
			if tt.o.Speech != "" {
				res, _ := field(m, "speech.results").([]any)
				if len(res) != 1 || field(res[0].(map[string]any), "text") != tt.o.Speech {
					t.Errorf("speech.results = %#v", field(m, "speech.results"))
				}
			}
		})
	}
}

// TestSimulatedCallReachesItsListener follows `neru simulate call` then
// `voice-event --uuid`: the event reaches an onVapiEvent listener for that
// leg, and an SMS reaches an onMessage listener for its numbers.
func TestSimulatedCallReachesItsListener(t *testing.T) {
	o := Options{ApplicationID: "app-1"}
	_, answer := Call(o)
	o.UUID = decode(t, answer)["uuid"].(string)
	l, err := voice.Listener("inst-1", voice.ActionEvent, json.RawMessage(
		`{"callback":{"id":"cb","sessionId":"s","path":"onEvent"},"vapiID":"`+o.UUID+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	_, body := VoiceEvent(o)
	ev, _, err := voice.ParseEvent(body)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(ev.Keys, l.Key) {
		t.Errorf("listener key %q not in event keys %q", l.Key, ev.Keys)
	}

	ml, err := messages.Listener("inst-1", messages.ActionInbound, json.RawMessage(
		`{"from":{"type":"sms","number":"447700900001"},"to":{"type":"sms","number":"447700900000"},"callback":{"id":"cb","sessionId":"s","path":"onMessage"}}`))
	if err != nil {
		t.Fatal(err)
	}
	_, body = SMS(Options{ApplicationID: "app-1"})
	mev, err := messages.ParseInbound(body)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(mev.Keys, ml.Key) {
		t.Errorf("listener key %q not in event keys %q", ml.Key, mev.Keys)
	}
}

func TestPost(t *testing.T) {
	type request struct {
		method, path, contentType, ua string
		body                          []byte
	}
	got := make(chan request, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- request{r.Method, r.URL.EscapedPath(), r.Header.Get("Content-Type"), r.Header.Get("User-Agent"), b}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"deliveries":1}`)
	}))
	defer srv.Close()

	for _, gw := range []string{srv.URL, srv.URL + "/", strings.TrimPrefix(srv.URL, "http://")} {
		t.Run(gw, func(t *testing.T) {
			o := Options{Gateway: gw, ApplicationID: "app-1", Client: srv.Client()}
			path, body := SMS(o)
			status, reply, err := Post(context.Background(), o, path, body)
			if err != nil {
				t.Fatal(err)
			}
			if status != http.StatusAccepted || string(reply) != `{"deliveries":1}` {
				t.Errorf("Post = %d %q", status, reply)
			}
			r := <-got
			if r.method != http.MethodPost || r.path != "/webhooks/app-1/messages/inbound" ||
				r.contentType != "application/json" || r.ua != "neru-simulate" || string(r.body) != string(body) {
				t.Errorf("gateway got %s %s (%s, %s) %s", r.method, r.path, r.contentType, r.ua, r.body)
			}
		})
	}
}

func TestPostNon2xxIsNotAnError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"code":"unknown_application","message":"no instance"}`, http.StatusNotFound)
	}))
	defer srv.Close()
	o := Options{Gateway: srv.URL, ApplicationID: "nope"}
	path, body := Call(o)
	status, reply, err := Post(context.Background(), o, path, body)
	if err != nil || status != http.StatusNotFound || !strings.Contains(string(reply), "unknown_application") {
		t.Fatalf("Post = %d %q %v", status, reply, err)
	}
}

func TestPostErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	closed := srv.URL
	srv.Close()

	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		gw   string
	}{
		{"gateway down", context.Background(), closed},
		{"context canceled", canceled, closed},
		{"bad gateway URL", context.Background(), "http://[::1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Options{Gateway: tt.gw, ApplicationID: "app-1"}
			path, body := SMS(o)
			if status, _, err := Post(tt.ctx, o, path, body); err == nil {
				t.Fatalf("Post = %d, want an error", status)
			}
		})
	}
}
