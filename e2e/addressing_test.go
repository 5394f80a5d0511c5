package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/neru-dev/neru/listener"
	"github.com/neru-dev/neru/session"
	"github.com/neru-dev/neru/state"
)

// The production-mode captures of both SDKs, replayed in each of the three
// ways an SDK can address a self-hosted platform: debug style (?func=),
// DNS style (Host: <provider>.neru) and proxy style (an absolute-form URI,
// as axios sends through HTTP_PROXY). Every one reaches the right provider,
// acts as the instance of the JWT (not the X-Neru-* headers), and gets what
// the capture server answered.
func TestProductionCapturesInEveryAddressingStyle(t *testing.T) {
	h := start(t)
	tn := h.addTenant(capInstance, capApp, capAccount)
	ctx := context.Background()
	for _, sdkName := range []string{"neru-alpha-5.1.0", "vcr-sdk-1.3.0"} {
		for _, style := range []string{"debug", "host", "proxy"} {
			t.Run(sdkName+"/"+style, func(t *testing.T) {
				dir := sdkName + "/prod-mode/"
				// State: the value lands under the JWT's instance and the
				// session the namespace names.
				c := loadCapture(t, dir+"client-persistence-api-SET.json")
				if r := h.replay(c, style, tn); r.Status != 200 || string(r.Body) != c.Response.Wire {
					t.Fatalf("state SET: %d %s, want 200 %s", r.Status, r.Body, c.Response.Wire)
				}
				var cmd struct{ Namespace string }
				_ = json.Unmarshal(c.Body, &cmd)
				if got := h.stateGet(tenantOf(tn.inst), cmd.Namespace, "k"); got != `"\"v\""` {
					t.Fatalf("stored value %s", got)
				}
				// Telemetry always succeeds.
				for _, f := range []string{"events-submission-session_created.json", "logs-submission-log-info.json"} {
					c := loadCapture(t, dir+f)
					if r := h.replay(c, style, tn); r.Status != 200 || string(r.Body) != `"OK"`+"\n" {
						t.Fatalf("%s: %d %s", f, r.Status, r.Body)
					}
				}
				// Listener registration: neru Command envelope at the root,
				// vcr bare payload at /vapi-subscribe-inbound-call.
				name := "vonage-voice-vapi-subscribe-inbound-call.json"
				if sdkName == "vcr-sdk-1.3.0" {
					name = "vonage-voice-POST_vapi-subscribe-inbound-call.json"
				}
				c = loadCapture(t, dir+name)
				if r := h.replay(c, style, tn); r.Status != 200 || string(bytes.TrimSpace(r.Body)) != c.Response.Wire {
					t.Fatalf("subscribe: %d %s, want %s", r.Status, r.Body, c.Response.Wire)
				}
				var id string
				_ = json.Unmarshal(c.Outcome.Returned, &id)
				l, err := h.p.Listeners.Get(ctx, capInstance, id)
				if err != nil || l.Path != "onCall" || l.InstanceID != capInstance {
					t.Fatalf("listener %s: %+v, %v", id, l, err)
				}
				// vcr.unsubscribe: a Command in the global session.
				if sdkName == "vcr-sdk-1.3.0" {
					c := loadCapture(t, dir+"vonage-messaging-unsubscribe-event.json")
					cbID := unsubscribeID(t, c)
					add(t, h, &listener.Listener{ID: cbID, InstanceID: capInstance, SessionID: session.GlobalID,
						Provider: "vonage-messaging", Action: "subscribe-inbound-messages", Path: "onMessage", Key: "msg-in|sms|*|*"})
					if r := h.replay(c, style, tn); r.Status != 200 || string(bytes.TrimSpace(r.Body)) != c.Response.Wire {
						t.Fatalf("unsubscribe: %d %s", r.Status, r.Body)
					}
					if _, err := h.p.Listeners.Get(ctx, capInstance, cbID); err != listener.ErrNotFound {
						t.Fatalf("listener %s still there after unsubscribe: %v", cbID, err)
					}
				}
				// Queue and assets requests (other providers) still reach
				// their provider, with an empty body, a percent-encoded path
				// and a trailing "&" (protocol §1.1, §8.5): whatever that
				// provider answers, it is not an addressing failure.
				for _, f := range []string{"queue-service-POST_queue_q_1_deadletter_pop.json", "vonage-assets-POST_copy.json"} {
					c, err := captures.ReadFile(dir + f)
					if err != nil {
						continue // not captured for this SDK
					}
					var capd sdkCapture
					_ = json.Unmarshal(c, &capd)
					r := h.replay(&capd, style, tn)
					if r.Status == http.StatusInternalServerError || r.Status == http.StatusUnauthorized ||
						(r.errCode() == "unknown_provider" && !strings.Contains(string(r.Body), `"`+capd.Provider+`"`)) {
						t.Fatalf("%s: %d %s", f, r.Status, r.Body)
					}
				}
			})
		}
	}
}

func unsubscribeID(t *testing.T, c *sdkCapture) string {
	var env struct {
		Actions []struct {
			Payload struct{ ID string }
		}
	}
	if err := json.Unmarshal(c.Body, &env); err != nil || len(env.Actions) != 1 || env.Actions[0].Payload.ID == "" {
		t.Fatalf("unsubscribe capture: %s", c.Body)
	}
	return env.Actions[0].Payload.ID
}

func add(t *testing.T, h *harness, l *listener.Listener) {
	t.Helper()
	if _, err := h.p.Sessions.Ensure(context.Background(), l.InstanceID, l.SessionID); err != nil {
		t.Fatal(err)
	}
	if err := h.p.Listeners.Add(context.Background(), l); err != nil {
		t.Fatal(err)
	}
}

// The debug captures of neru carry no token at all (DEBUG mode): from
// loopback they act as the dev instance, whatever X-Neru-InstanceId and the
// body claim.
func TestNeruDebugCapturesActAsTheDevInstance(t *testing.T) {
	h := start(t)
	c := loadCapture(t, "neru-alpha-5.1.0/client-persistence-api-SET--state.set.json")
	if r := h.replay(c, "debug", nil); r.Status != 200 || string(r.Body) != `"OK"` {
		t.Fatalf("SET: %d %s", r.Status, r.Body)
	}
	var cmd struct{ Namespace, Key string }
	_ = json.Unmarshal(c.Body, &cmd)
	if got := h.stateGet(tenantOf(h.inst), cmd.Namespace, cmd.Key); got == "null" {
		t.Fatal("the value is not the dev instance's")
	}
	if got := h.stateGet(state.Tenant{AccountID: capAccount, InstanceID: capInstance}, cmd.Namespace, cmd.Key); got != "null" {
		t.Fatalf("the claimed instance %s got the value %s", capInstance, got)
	}
	// GET returns what the SDK parses, exactly as the capture server did:
	// the stored JSON text as a JSON string.
	get := loadCapture(t, "neru-alpha-5.1.0/client-persistence-api-GET--state.get.json")
	if r := h.replay(get, "debug", nil); r.Status != 200 || string(r.Body) != get.Response.Wire {
		t.Fatalf("GET: %d %s, want %s", r.Status, r.Body, get.Response.Wire)
	}
}

// Inputs the SDKs really send that a strict server would refuse (protocol
// §1.1, §8.5, §8.6).
func TestTolerantParsing(t *testing.T) {
	h := start(t)
	post := func(target, body string) reply {
		req, _ := http.NewRequest(http.MethodPost, h.command.URL+target, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		return do(t, http.DefaultClient, req)
	}
	set := `{"operation":"SET","namespace":"state:s1","key":"k","args":["\"v\""]}`
	tests := []struct {
		name, target, body string
		status             int
		code               string
	}{
		{"trailing & after func", "/?func=client-persistence-api.neru&async=false&", set, 200, ""},
		{"trailing & after a parameter", "/?func=client-persistence-api.neru&async=false&x=1&", set, 200, ""},
		{"async=true is ignored too", "/?func=client-persistence-api.neru&async=true", set, 200, ""},
		{"null args (neru hscan)", "/?func=client-persistence-api.neru&async=false",
			`{"operation":"HSCAN","namespace":"state:s1","key":"h","args":["0","MATCH",null,"COUNT",null]}`, 200, ""},
		{"args null", "/?func=client-persistence-api.neru&async=false", `{"operation":"GET","namespace":"state:s1","key":"k","args":null}`, 200, ""},
		{"no args", "/?func=client-persistence-api.neru&async=false", `{"operation":"GET","namespace":"state:s1","key":"k"}`, 200, ""},
		{"empty body: events", "/?func=events-submission.neru&async=false", "", 200, ""},
		{"empty body: logs", "/?func=logs-submission.neru&async=false", "", 200, ""},
		{"garbage: logs", "/?func=logs-submission.neru&async=false", "{", 200, ""},
		{"empty body: state", "/?func=client-persistence-api.neru&async=false", "", 400, "bad_request"},
		{"empty body: command", "/?func=vonage-voice.neru&async=false", "", 400, "bad_command"},
		{"empty body: bare action", "/vapi-subscribe-inbound-call?func=vonage-voice.neru&async=false", "", 400, "bad_request"},
		{"null payload", "/?func=vonage-messaging.neru&async=false", `{"actions":[{"provider":"vonage-messaging","action":"unsubscribe-event","payload":null}]}`, 400, "bad_payload"},
		{"unknown provider", "/?func=nope.neru&async=false", set, 404, "unknown_provider"},
		{"unknown action", "/?func=vonage-voice.neru&async=false", `{"actions":[{"provider":"vonage-voice","action":"dance","payload":{}}]}`, 404, "unknown_action"},
		{"unknown state op", "/?func=client-persistence-api.neru&async=false", `{"operation":"FLUSHALL","namespace":"state:s1","key":"k","args":[]}`, 400, "bad_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := post(tt.target, tt.body)
			if r.Status != tt.status || (tt.code != "" && r.errCode() != tt.code) {
				t.Fatalf("%d %s, want %d %s", r.Status, r.Body, tt.status, tt.code)
			}
		})
	}
}

// vcr.unsubscribe(id, "vonage-voice"), as captured: a Command in the global
// session removes the instance's listener, whichever session registered it.
func TestVCRUnsubscribeVoice(t *testing.T) {
	h := start(t)
	tn := h.addTenant(capInstance, capApp, capAccount)
	c := loadCapture(t, "vcr-sdk-1.3.0/vonage-voice-unsubscribe-event.json")
	id := unsubscribeID(t, c)
	add(t, h, &listener.Listener{ID: id, InstanceID: capInstance, SessionID: "some-session",
		Provider: "vonage-voice", Action: "vapi-subscribe-event", Path: "onEvent", Key: "vapi-ev|*"})
	if r := h.replay(c, "debug", tn); r.Status != 200 || string(bytes.TrimSpace(r.Body)) != c.Response.Wire {
		t.Fatalf("unsubscribe: %d %s, want %s", r.Status, r.Body, c.Response.Wire)
	}
	if _, err := h.p.Listeners.Get(context.Background(), capInstance, id); err != listener.ErrNotFound {
		t.Fatalf("listener still there: %v", err)
	}
	if r := h.replay(c, "debug", tn); r.Status != http.StatusNotFound || r.errCode() != "not_found" {
		t.Fatalf("second unsubscribe: %d %s, want 404", r.Status, r.Body)
	}
}
