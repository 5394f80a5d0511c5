package listener_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"
	"testing"

	"github.com/neru-dev/neru/listener"
)

// doc decodes a JSON document the way router.Event.Doc does; invalid JSON
// is a nil document.
func doc(s string) any {
	var v any
	_ = json.Unmarshal([]byte(s), &v)
	return v
}

// filters decodes filters as the SDKs send them (null values included).
func filters(t testing.TB, s string) []listener.Filter {
	t.Helper()
	var fs []listener.Filter
	if err := json.Unmarshal([]byte(s), &fs); err != nil {
		t.Fatalf("filters %s: %v", s, err)
	}
	return fs
}

func strs(v ...string) []*string {
	out := make([]*string, len(v))
	for i := range v {
		out[i] = &v[i]
	}
	return out
}

func TestFilterMatch(t *testing.T) {
	tests := []struct {
		name   string
		filter string // one filter as JSON
		doc    string
		want   bool
	}{
		{"equal value", `{"path":"type","op":"contains","values":["audio:dtmf"]}`, `{"type":"audio:dtmf"}`, true},
		{"membership, not substring", `{"path":"type","op":"contains","values":["audio:say"]}`, `{"type":"audio:say:done"}`, false},
		{"nor prefix the other way", `{"path":"type","op":"contains","values":["audio:say:done"]}`, `{"type":"audio:say"}`, false},
		{"case sensitive", `{"path":"type","op":"contains","values":["audio:dtmf"]}`, `{"type":"Audio:DTMF"}`, false},
		{"one of several", `{"path":"type","op":"contains","values":["audio:dtmf","member:joined"]}`, `{"type":"member:joined"}`, true},
		{"none of several", `{"path":"type","op":"contains","values":["audio:dtmf","member:joined"]}`, `{"type":"member:left"}`, false},
		{"[null] is no constraint", `{"path":"body.name","op":"contains","values":[null]}`, `{"type":"conversation:created","body":{"id":"CON-1"}}`, true},
		{"[null] matches even a non-JSON body", `{"path":"body.name","op":"contains","values":[null]}`, `not json`, true},
		{"[] is no constraint", `{"path":"type","op":"contains","values":[]}`, `{"type":"x"}`, true},
		{"missing values is no constraint", `{"path":"type","op":"contains"}`, `{}`, true},
		{"null beside a value: the value counts", `{"path":"body.name","op":"contains","values":[null,"sales"]}`, `{"body":{"name":"support"}}`, false},
		{"null beside a value: matching", `{"path":"body.name","op":"contains","values":[null,"sales"]}`, `{"body":{"name":"sales"}}`, true},
		{"nested path", `{"path":"body.user.name","op":"contains","values":["bob"]}`, `{"body":{"user":{"name":"bob","id":"USR-1"}}}`, true},
		{"nested path, other value", `{"path":"body.user.name","op":"contains","values":["bob"]}`, `{"body":{"user":{"name":"alice"}}}`, false},
		{"missing path", `{"path":"body.user.name","op":"contains","values":["bob"]}`, `{"body":{}}`, false},
		{"path through a string", `{"path":"body.user","op":"contains","values":["bob"]}`, `{"body":"bob"}`, false},
		{"path through an array", `{"path":"body.user","op":"contains","values":["bob"]}`, `{"body":[{"user":"bob"}]}`, false},
		{"array value: any element", `{"path":"tags","op":"contains","values":["b"]}`, `{"tags":["a","b"]}`, true},
		{"array value: no element", `{"path":"tags","op":"contains","values":["c"]}`, `{"tags":["a","b"]}`, false},
		{"array of objects", `{"path":"tags","op":"contains","values":["a"]}`, `{"tags":[{"a":"a"}]}`, false},
		{"empty array", `{"path":"tags","op":"contains","values":["a"]}`, `{"tags":[]}`, false},
		{"integer as text", `{"path":"to","op":"contains","values":["447700900000"]}`, `{"to":447700900000}`, true},
		{"decimal as text", `{"path":"n","op":"contains","values":["1.5"]}`, `{"n":1.5}`, true},
		{"bool as text", `{"path":"ok","op":"contains","values":["true"]}`, `{"ok":true}`, true},
		{"null at path", `{"path":"name","op":"contains","values":["null"]}`, `{"name":null}`, false},
		{"object at path", `{"path":"body","op":"contains","values":["{}"]}`, `{"body":{}}`, false},
		{"empty string value", `{"path":"name","op":"contains","values":[""]}`, `{"name":""}`, true},
		{"dot is always a separator", `{"path":"a.b","op":"contains","values":["x"]}`, `{"a.b":"x"}`, false},
		{"array document", `{"path":"type","op":"contains","values":["x"]}`, `[{"type":"x"}]`, false},
		{"not JSON", `{"path":"type","op":"contains","values":["x"]}`, `type=x`, false},
		{"null document", `{"path":"type","op":"contains","values":["x"]}`, `null`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f listener.Filter
			if err := json.Unmarshal([]byte(tt.filter), &f); err != nil {
				t.Fatal(err)
			}
			if got := f.Match(doc(tt.doc)); got != tt.want {
				t.Errorf("Match(%s) = %v, want %v", tt.doc, got, tt.want)
			}
		})
	}
}

func TestMatchAll(t *testing.T) {
	const (
		conv = "CON-f972836a-550f-45fa-956c-12a2ab5b7d22"
		// Filters exactly as captured from neru-alpha 5.1.0 and vcr-sdk 1.3.0.
		onDTMF                = `[{"path":"type","op":"contains","values":["audio:dtmf"]},{"path":"conversation_id","op":"contains","values":["` + conv + `"]}]`
		onConversationCreated = `[{"path":"type","op":"contains","values":["conversation:created"]},{"path":"body.name","op":"contains","values":[null]}]`
		onMemberJoinedBob     = `[{"path":"type","op":"contains","values":["member:joined"]},{"path":"conversation_id","op":"contains","values":["` + conv + `"]},{"path":"body.user.name","op":"contains","values":["bob"]}]`
		onConversationEvent   = `[{"path":"type","op":"contains","values":["audio:dtmf","member:joined"]}]`
	)
	dtmf := `{"type":"audio:dtmf","conversation_id":"` + conv + `","from":"MEM-1","body":{"digit":"5","channel":{"type":"phone"}},"id":7,"timestamp":"2025-02-03T12:00:21.654Z"}`
	joined := func(c, name string) string {
		return `{"type":"member:joined","conversation_id":"` + c + `","body":{"user":{"id":"USR-1","name":"` + name + `"},"channel":{"type":"app"}}}`
	}
	tests := []struct {
		name    string
		filters string
		doc     string
		want    bool
	}{
		{"no filters", `[]`, `{}`, true},
		{"no filters, not JSON", `[]`, `not json`, true},
		{"onDTMF: its event", onDTMF, dtmf, true},
		{"onDTMF: another conversation", onDTMF, strings.Replace(dtmf, conv, "CON-other", 1), false},
		{"onDTMF: another type", onDTMF, joined(conv, "bob"), false},
		{"onConversationCreated: unnamed filter matches", onConversationCreated, `{"type":"conversation:created","conversation_id":"CON-2","body":{"id":"CON-2","timestamp":{"created":"2025-02-03T12:00:00Z"}}}`, true},
		{"onConversationCreated: other type", onConversationCreated, dtmf, false},
		{"onMemberJoined(bob): bob", onMemberJoinedBob, joined(conv, "bob"), true},
		{"onMemberJoined(bob): alice", onMemberJoinedBob, joined(conv, "alice"), false},
		{"onMemberJoined(bob): bob elsewhere", onMemberJoinedBob, joined("CON-other", "bob"), false},
		{"vcr onConversationEvent(events): dtmf", onConversationEvent, dtmf, true},
		{"vcr onConversationEvent(events): joined", onConversationEvent, joined("CON-any", "x"), true},
		{"vcr onConversationEvent(events): other", onConversationEvent, `{"type":"audio:say:done"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := filters(t, tt.filters)
			for _, f := range fs {
				if err := f.Validate(); err != nil {
					t.Fatalf("captured filter %+v does not validate: %v", f, err)
				}
			}
			if got := listener.MatchAll(fs, doc(tt.doc)); got != tt.want {
				t.Errorf("MatchAll = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFilterValidate(t *testing.T) {
	tests := []struct {
		name string
		f    listener.Filter
		ok   bool
	}{
		{"contains", listener.Filter{Path: "type", Op: "contains", Values: strs("x")}, true},
		{"null values", listener.Filter{Path: "body.name", Op: "contains", Values: []*string{nil}}, true},
		{"256-character path", listener.Filter{Path: strings.Repeat("p", 256), Op: "contains"}, true},
		{"other op", listener.Filter{Path: "type", Op: "equals", Values: strs("x")}, false},
		{"no op", listener.Filter{Path: "type", Values: strs("x")}, false},
		{"empty path", listener.Filter{Op: "contains", Values: strs("x")}, false},
		{"257-character path", listener.Filter{Path: strings.Repeat("p", 257), Op: "contains"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.f.Validate()
			if tt.ok != (err == nil) || (err != nil && !errors.Is(err, listener.ErrInvalid)) {
				t.Errorf("Validate = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestValidatePath(t *testing.T) {
	tests := []struct {
		path string
		ok   bool
	}{
		{"onMessage", true},
		{"/onMessage", true},
		{"webhooks/event", true},
		{"/api/v1/on-event_2", true},
		{"a..b/...", true}, // dots inside a segment are a name, not a dot segment
		{".well-known/hook", true},
		{"x:y", true}, // a colon in a relative path is a name here: JoinPath keeps the base
		{strings.Repeat("p", 512), true},

		{"", false},
		{strings.Repeat("p", 513), false},
		{strings.Repeat("a/", 300), false}, // 600 characters
		{"http://evil", false},
		{"https://evil.example/x", false},
		{"//evil", false},
		{"//evil.example/onMessage", false},
		{"../x", false},
		{"a/../../b", false},
		{"/..", false},
		{"a/..", false},
		{"./x", false},
		{"a/./b", false},
		{"?x", false},
		{"onMessage?x=1", false},
		{"onMessage#frag", false},
		{"%2e%2e", false},
		{"%2e%2e/x", false},
		{"a%2F..%2Fb", false},
		{`a\..\b`, false},
		{"user@evil", false},
		{"on Message", false},
		{"onMessage\r\nX-Injected: 1", false},
		{"\tonMessage", false},
	}
	for _, tt := range tests {
		name := tt.path
		if len(name) > 40 {
			name = fmt.Sprintf("%.20s…(%d chars)", name, len(name))
		}
		t.Run(name, func(t *testing.T) {
			err := listener.ValidatePath(tt.path)
			if tt.ok && err != nil {
				t.Fatalf("ValidatePath(%q) = %v, want ok", tt.path, err)
			}
			if !tt.ok && !errors.Is(err, listener.ErrInvalid) {
				t.Fatalf("ValidatePath(%q) = %v, want ErrInvalid", tt.path, err)
			}
		})
	}
}

func FuzzFilterMatch(f *testing.F) {
	f.Add([]byte(`{"type":"audio:dtmf","conversation_id":"CON-1"}`), "type", "audio:dtmf", "member:joined")
	f.Add([]byte(`{"type":"audio:say:done"}`), "type", "audio:say", "")
	f.Add([]byte(`{"body":{"user":{"name":"bob"}}}`), "body.user.name", "bob", "alice")
	f.Add([]byte(`{"tags":["a","b",1,true,null,{"x":1}]}`), "tags", "1", "true")
	f.Add([]byte(`{"to":447700900000,"n":1.5e300}`), "to", "447700900000", "1.5e300")
	f.Add([]byte(`[1,2]`), "", "", ".")
	f.Add([]byte(`not json`), "a..b", "x", "y")
	f.Fuzz(func(t *testing.T, body []byte, p, v1, v2 string) {
		d := doc(string(body))
		one := listener.Filter{Path: p, Op: "contains", Values: strs(v1)}
		got := one.Match(d)
		if again := one.Match(d); again != got {
			t.Fatal("Match is not deterministic")
		}
		if all := listener.MatchAll([]listener.Filter{one}, d); all != got {
			t.Fatalf("MatchAll of one filter = %v, Match = %v", all, got)
		}
		// More accepted values never reject what fewer accepted.
		two := listener.Filter{Path: p, Op: "contains", Values: strs(v1, v2)}
		if got && !two.Match(d) {
			t.Fatalf("adding value %q turned a match into a miss", v2)
		}
		if other := (listener.Filter{Path: p, Op: "contains", Values: strs(v2)}); two.Match(d) != (got || other.Match(d)) {
			t.Fatal("a filter with two values is not the union of the two")
		}
		// Nulls are no constraint: alone they match anything; beside a
		// value they change nothing.
		null := listener.Filter{Path: p, Op: "contains", Values: []*string{nil}}
		if !null.Match(d) || !(listener.Filter{Path: p, Op: "contains"}).Match(d) {
			t.Fatal("a filter without values rejected a document")
		}
		withNull := listener.Filter{Path: p, Op: "contains", Values: append([]*string{nil}, strs(v1)...)}
		if withNull.Match(d) != got {
			t.Fatal("a null beside a value changed the result")
		}
		if listener.MatchAll([]listener.Filter{one, null}, d) != got {
			t.Fatal("MatchAll with a no-constraint filter changed the result")
		}
	})
}

// FuzzValidatePath checks the property ValidatePath exists for: an accepted
// path, joined to an instance base URL, stays on that host and under that
// base path. (A path url.Parse rejects cannot escape; the delivery fails.)
func FuzzValidatePath(f *testing.F) {
	for _, s := range []string{"onMessage", "/onMessage", "webhooks/event", "http://evil", "//evil", "../x",
		"a/../../b", "?x", "%2e%2e", "/\\evil", "x:y", ".../..", "a/./b", "/"} {
		f.Add(s)
	}
	const base = "https://app.example.com/base"
	f.Fuzz(func(t *testing.T, p string) {
		if listener.ValidatePath(p) != nil {
			return
		}
		joined := listener.JoinPath(base, p)
		u, err := url.Parse(joined)
		if err != nil {
			return
		}
		if u.Scheme != "https" || u.Host != "app.example.com" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			t.Fatalf("accepted %q escapes: %s → %#v", p, joined, u)
		}
		if c := path.Clean(u.Path); c != "/base" && !strings.HasPrefix(c, "/base/") {
			t.Fatalf("accepted %q leaves the base path: %s → %s", p, joined, c)
		}
	})
}
