package voice_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/neru-dev/neru/internal/parsetest"
	"github.com/neru-dev/neru/providers/voice"
)

func TestFromQuery(t *testing.T) {
	tests := []struct {
		name, query, want, wantErr string
	}{
		{
			name:  "answer: every value stays a string",
			query: "to=447700900000&from=447700900001&endpoint_type=phone&uuid=U-1&conversation_uuid=CON-1&region_url=https%3A%2F%2Fapi-eu-3.vonage.com",
			want:  `{"conversation_uuid":"CON-1","endpoint_type":"phone","from":"447700900001","region_url":"https://api-eu-3.vonage.com","to":"447700900000","uuid":"U-1"}`,
		},
		{
			name:  "structured fields come back as objects",
			query: `uuid=U-1&custom_data=%7B%22crm_id%22%3A%22ACME-1138%22%7D&SipHeader_X-UserId=1938ND9`,
			want:  `{"SipHeader_X-UserId":"1938ND9","custom_data":{"crm_id":"ACME-1138"},"uuid":"U-1"}`,
		},
		{
			name:  "a structured field that is not JSON stays a string",
			query: "uuid=U-1&custom_data=plain",
			want:  `{"custom_data":"plain","uuid":"U-1"}`,
		},
		{name: "numbers stay strings", query: "uuid=U-1&duration=42&size=12222", want: `{"duration":"42","size":"12222","uuid":"U-1"}`},
		{name: "the first of repeated values", query: "uuid=U-1&uuid=U-2", want: `{"uuid":"U-1"}`},
		{name: "empty", query: "", want: `{}`},
		{name: "broken JSON in a structured field", query: "uuid=U-1&speech=%7B%22results%22", wantErr: "speech is not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := voice.FromQuery(q)
			if tt.wantErr != "" {
				if !errors.Is(err, voice.ErrBadWebhook) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %v containing %q", err, voice.ErrBadWebhook, tt.wantErr)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("FromQuery = %s, %v\nwant %s", got, err, tt.want)
			}
		})
	}
}

// toQuery sends a POST sample the way Vonage sends a GET webhook: scalars
// as their text, objects JSON-encoded, nulls left out.
func toQuery(t *testing.T, body []byte) url.Values {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	q := url.Values{}
	for k, raw := range m {
		var s string
		switch {
		case string(raw) == "null":
			continue
		case json.Unmarshal(raw, &s) == nil:
			q.Set(k, s)
		case raw[0] == '{' || raw[0] == '[':
			q.Set(k, string(raw))
		default:
			q.Set(k, string(raw)) // a number or a boolean, as text
		}
	}
	return q
}

// A GET webhook is the same event as its POST form: same kind, keys and
// answer mode, and the app gets the same fields (objects as objects).
func TestGetWebhooksParseAsPost(t *testing.T) {
	for _, file := range []string{"answer.json", "answer-sip.json", "answer-client-sdk.json"} {
		t.Run(file, func(t *testing.T) {
			post, err := voice.ParseAnswer(load(t, file))
			if err != nil {
				t.Fatal(err)
			}
			body, err := voice.FromQuery(toQuery(t, load(t, file)))
			if err != nil {
				t.Fatal(err)
			}
			get, err := voice.ParseAnswer(body)
			if err != nil {
				t.Fatal(err)
			}
			if get.Kind != post.Kind || get.ID != post.ID || !parsetest.SameKeys(get.Keys, post.Keys) {
				t.Fatalf("GET %s %s %q, POST %s %s %q", get.Kind, get.ID, get.Keys, post.Kind, post.ID, post.Keys)
			}
			sameFields(t, load(t, file), body)
		})
	}
	for _, file := range []string{"event-started.json", "event-ringing.json", "event-answered.json", "event-completed.json",
		"event-record.json", "event-input-speech.json", "event-input-dtmf.json"} {
		t.Run(file, func(t *testing.T) {
			post, postInput, err := voice.ParseEvent(load(t, file))
			if err != nil {
				t.Fatal(err)
			}
			q := toQuery(t, load(t, file))
			body, err := voice.FromQuery(q)
			if err != nil {
				t.Fatal(err)
			}
			get, getInput, err := voice.ParseEvent(body)
			if err != nil {
				t.Fatal(err)
			}
			if get.Kind != post.Kind || getInput != postInput || !parsetest.SameKeys(get.Keys, post.Keys) {
				t.Fatalf("GET %s input=%v %q, POST %s input=%v %q", get.Kind, getInput, get.Keys, post.Kind, postInput, post.Keys)
			}
			// A provider's retry of the same GET is the same event id.
			again, _ := voice.FromQuery(q)
			if ev, _, _ := voice.ParseEvent(again); ev.ID != get.ID {
				t.Fatalf("retried GET id %s, first %s", ev.ID, get.ID)
			}
			sameFields(t, load(t, file), body)
		})
	}
}

// sameFields: every non-null field of the POST body is in the GET body,
// strings and objects equal, numbers as their text.
func sameFields(t *testing.T, post, get []byte) {
	t.Helper()
	var p, g map[string]any
	if err := json.Unmarshal(post, &p); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(get, &g); err != nil {
		t.Fatal(err)
	}
	for k, v := range p {
		if v == nil {
			continue
		}
		want := v
		if f, ok := v.(float64); ok {
			want = fmt.Sprint(f)
		}
		if fmt.Sprint(g[k]) != fmt.Sprint(want) {
			t.Errorf("%s: GET %#v, POST %#v", k, g[k], v)
		}
	}
}
