package compat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/neru-dev/neru/cmd/neru/fakevonage"
	"github.com/neru-dev/neru/cmd/neru/simulate"
	"github.com/neru-dev/neru/internal/proctest"
)

// sdk is one of the two SDKs and its apps.
type sdk struct {
	Name                     string
	Seed, State, Unsubscribe string
	TTL, Sessions            string // ttl_test.go, sessions_test.go
}

var sdks = []sdk{
	{Name: "neru", Seed: "seed-neru.mjs", State: "state-neru.mjs", Unsubscribe: "unsubscribe-neru.mjs", TTL: "ttl-neru.mjs", Sessions: "sessions-neru.mjs"},
	{Name: "vcr", Seed: "seed-vcr.mjs", State: "state-vcr.mjs", Unsubscribe: "unsubscribe-vcr.mjs", TTL: "ttl-vcr.mjs", Sessions: "sessions-vcr.mjs"},
}

const (
	caller    = "447700900001" // the customer
	ourNumber = "447700900000" // the app's Vonage number
)

// How long one step of a scenario may take: the worker's retries and the
// SDK's background telemetry all run on a shared 2-core machine under -race.
const stepTimeout = 30 * time.Second

// TestSeedScenario runs the NeRu seed scenario with each SDK: a call opens a
// session that listens for the call's events and the caller's SMS; the
// caller's speech is kept in session state; the caller's SMS lands in the same
// session, which sends the transcript back through vonage-api.
func TestSeedScenario(t *testing.T) {
	for _, s := range sdks {
		t.Run(s.Name, func(t *testing.T) { seedScenario(t, s) })
	}
}

func seedScenario(t *testing.T, s sdk) {
	port := proctest.FreePort(t)
	e := start(t, options{AppPort: port, OnPort3001: true})
	mark := "compat-seed-" + s.Name
	app := startApp(t, s.Seed, port, e.appEnv(port, map[string]any{"mark": mark}))
	ready := app.MustAwait("ready", nil, stepTimeout, "*")
	if ready.Str("answerListener") == "" {
		t.Fatalf("the answer listener registration returned no id: %s", ready.Line)
	}

	// 1. The call: the app's NCCO comes back, not the platform's fallback.
	callUUID := uuid.NewString()
	status, ncco := e.webhook(simulate.Call(e.sim(simulate.Options{UUID: callUUID, From: caller, To: ourNumber})))
	if status != http.StatusOK || !bytes.Contains(ncco, []byte(mark+": say something")) {
		t.Fatalf("answer webhook: %d %s\nwant the NCCO of the app's /onCall (%s)", status, ncco, explain(app, "/onCall"))
	}
	call := app.MustAwait("onCall", func(r report) bool { return r.Str("uuid") == callUUID }, stepTimeout)
	session := call.Str("session")
	if session == "" || call.Str("eventListener") == "" || call.Str("messageListener") == "" {
		t.Fatalf("/onCall registered no listeners: %s", call.Line)
	}

	// 2. The caller speaks: the input result reaches /onEvent in the call's
	// session, which keeps the text in session state and answers an NCCO.
	transcript := "compat transcript " + uuid.NewString()[:8]
	status, ncco = e.webhook(simulate.VoiceEvent(e.sim(simulate.Options{UUID: callUUID, Speech: transcript, From: caller, To: ourNumber})))
	if status != http.StatusOK || !bytes.Contains(ncco, []byte(mark+": thanks")) {
		// Not fatal: the SMS leg below still shows whether routing works.
		t.Errorf("speech event: %d %s\nwant the NCCO of the app's /onEvent, which stores the transcript with State.set (%s)",
			status, ncco, explain(app, "/onEvent"))
	} else if ev := app.MustAwait("onEvent", nil, stepTimeout); ev.Str("session") != session || ev.Str("text") != transcript {
		t.Errorf("/onEvent: %s; want session %s and text %q", ev.Line, session, transcript)
	}

	// 3. The caller texts: the SMS reaches /onMessage in the same session.
	status, reply := e.webhook(simulate.SMS(e.sim(simulate.Options{From: caller, To: ourNumber, Text: "what did I say?"})))
	if status != http.StatusOK || !bytes.Contains(reply, []byte(`"deliveries":1`)) {
		t.Fatalf("inbound SMS: %d %s, want one delivery (to the call session's listener)", status, reply)
	}
	msg := app.MustAwait("onMessage", nil, stepTimeout)
	if msg.Str("session") != session || msg.Str("text") != "what did I say?" {
		t.Fatalf("/onMessage: %s; want session %s (the call's) and the SMS text", msg.Line, session)
	}

	// 4. The session's state holds the transcript...
	got, err := app.Await("transcript", nil, stepTimeout, "/onMessage")
	if err != nil {
		t.Fatalf("restoring the transcript with State.get in /onMessage: %v", err)
	}
	if got.Str("transcript") != transcript {
		t.Fatalf("State.get(transcript) in /onMessage = %s, want %q", got.Fields["transcript"], transcript)
	}

	// 5. ...and it goes out through vonage-api to the (fake) Vonage API.
	sent, err := app.Await("sent", nil, stepTimeout, "/onMessage")
	if err != nil {
		t.Fatalf("sending the transcript through vonage-api: %v", err)
	}
	msgs := e.Upstream.Messages()
	if len(msgs) != 1 {
		t.Fatalf("the fake Vonage API recorded %d message sends, want 1: %s", len(msgs), describe(e.Upstream.Requests()))
	}
	out := msgs[0]
	var m struct {
		To, From, Channel, Text string
		MessageType             string `json:"message_type"`
	}
	_ = json.Unmarshal(out.Body, &m)
	if out.Path != "/v1/messages" || out.Host != "api.nexmo.com" || out.ApplicationID != e.Inst.ApplicationID {
		t.Errorf("outbound message went to %s%s signed for application %q; want api.nexmo.com/v1/messages for %q",
			out.Host, out.Path, out.ApplicationID, e.Inst.ApplicationID)
	}
	if m.To != caller || m.From != ourNumber || m.Channel != "sms" || m.MessageType != "text" || m.Text != "You said: "+transcript {
		t.Errorf("outbound message %s; want an sms from %s to %s saying %q", out.Body, ourNumber, caller, "You said: "+transcript)
	}
	// The SDK hands the app the upstream body unchanged.
	if out.Status != http.StatusAccepted || !jsonEqual(sent.Fields["reply"], out.Response) {
		t.Errorf("the send returned %s to the app; the fake Vonage API answered %d %s", sent.Fields["reply"], out.Status, out.Response)
	}

	// 6. The SDK's logs of the call session reached logs-submission (neru
	// logs every Command action, vcr every request).
	if err := poll(stepTimeout, func() bool { return len(e.logs(session)) > 0 }); err != nil {
		t.Errorf("no log submission of session %s was stored (GET /admin/v1/instances/%s/logs)", session, e.Inst.ID)
	}

	// The app survived its own background telemetry (logs, session_created).
	if done, err := app.exited(); done {
		t.Errorf("the app exited (%v): %s", err, app.stderrText())
	}
}

// explain says what the app reported about route, for failure messages.
func explain(app *nodeApp, route string) string {
	for _, e := range app.Reports("error") {
		if e.Str("route") == route {
			return "the app reported: " + e.Str("error")
		}
	}
	if done, err := app.exited(); done {
		return "the app exited: " + errString(err) + "\n" + app.stderrText()
	}
	return "the app reported no error on " + route
}

func errString(err error) string {
	if err == nil {
		return "exit code 0"
	}
	return err.Error()
}

func describe(rs []fakevonage.Request) string {
	if len(rs) == 0 {
		return "nothing"
	}
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "\n  %s %s%s → %d %s (body %s)", r.Method, r.Host, r.Path, r.Status, r.Response, r.Body)
	}
	return b.String()
}

// logs returns the SDK log submissions the platform kept for a session.
func (e *env) logs(session string) []json.RawMessage {
	e.t.Helper()
	resp, err := http.Get(e.Public + "/admin/v1/instances/" + e.Inst.ID + "/logs?limit=1000")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct {
		Logs []struct {
			Log json.RawMessage `json:"log"`
		} `json:"logs"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&page) != nil {
		e.t.Fatalf("GET /admin/v1/instances/%s/logs: %s", e.Inst.ID, resp.Status)
	}
	var out []json.RawMessage
	for _, l := range page.Logs {
		var entry struct {
			SessionID string `json:"session_id"`
		}
		if json.Unmarshal(l.Log, &entry) == nil && entry.SessionID == session {
			out = append(out, l.Log)
		}
	}
	return out
}

// poll checks cond every 10ms until it holds or timeout passes.
func poll(timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s", timeout)
		}
		time.Sleep(10 * time.Millisecond) // polling
	}
	return nil
}
