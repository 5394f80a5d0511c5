package compat

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/neru-dev/neru/cmd/neru/simulate"
	"github.com/neru-dev/neru/internal/proctest"
)

// TestSessionsThroughSDKs runs apps/sessions-*.mjs (see lib.mjs
// sessionsScenario) with each SDK:
//
//   - a session id with spaces, braces and 1,000 characters round-trips
//     through state, a listener and the x-neru-sessionid of its delivery;
//   - once a session is deleted with the admin API, its pending schedule and
//     queue items never reach the app, and state.get in it throws 410
//     session_expired. "Never" is proved by sentinels of the global session
//     that were due later and do arrive: a schedule due after the doomed
//     one, and a queue item enqueued after the delete, when the doomed
//     queue's next items were free to go.
func TestSessionsThroughSDKs(t *testing.T) {
	const fromLong = "447700900031"
	longID := "user alice {support desk} "
	longID += strings.Repeat("x", 1000-len(longID))
	for _, s := range sdks {
		t.Run(s.Name, func(t *testing.T) {
			port := proctest.FreePort(t)
			e := start(t, options{AppPort: port, OnPort3001: true})
			app := startApp(t, s.Sessions, port, e.appEnv(port, map[string]any{
				"longId": longID, "fromLong": fromLong, "to": ourNumber,
				"doomedInMs": 2500, "sentinelInMs": 4000,
			}))
			ready := app.MustAwait("ready", nil, stepTimeout, "*")
			doomed := ready.Str("doomed")

			// The long id: state, listener, delivery header.
			if r := app.MustAwait("longState", nil, stepTimeout, "*"); string(r.Fields["got"]) != `{"v":"long"}` || r.Str("session") != longID {
				t.Fatalf("state in the long session: %s", r.Line)
			}
			status, reply := e.webhook(simulate.SMS(e.sim(simulate.Options{From: fromLong, To: ourNumber, Text: "long"})))
			if status != http.StatusOK || !bytes.Contains(reply, []byte(`"deliveries":1}`)) {
				t.Fatalf("SMS to the long session's listener: %d %s, want 1 delivery", status, reply)
			}
			if r := app.MustAwait("onLong", nil, stepTimeout, "*"); r.Str("session") != longID || r.Str("text") != "long" {
				t.Fatalf("/onLong got session %q (%d bytes), text %q; want the long id (%d bytes)", r.Str("session"), len(r.Str("session")), r.Str("text"), len(longID))
			}

			// The doomed session's first queue item is held by the app:
			// delete the session now, before its schedule is due.
			app.MustAwait("queueFirst", nil, stepTimeout, "*")
			adminDelete(t, e, doomed)
			control(t, app, port, "/control/release")
			after := app.MustAwait("doomedStateAfterDelete", nil, stepTimeout, "*")
			if string(after.Fields["threw"]) != "true" {
				t.Fatalf("state.get in the deleted session did not throw: %s", after.Line)
			}
			expiredRefusal(t, "state.get after admin delete", after, doomed)

			const global = "00000000-0000-0000-0000-000000000000"
			if r := app.MustAwait("sentinelSchedule", nil, stepTimeout, "*"); r.Str("session") != global {
				t.Fatalf("sentinel schedule in session %q, want the global session", r.Str("session"))
			}
			if r := app.MustAwait("sentinelQueue", nil, stepTimeout, "*"); r.Str("session") != global {
				t.Fatalf("sentinel queue item in session %q, want the global session", r.Str("session"))
			}
			for _, ev := range []string{"doomedSchedule", "doomedQueue"} {
				if got := app.Reports(ev); len(got) > 0 {
					t.Errorf("the deleted session's %s reached the app: %s", ev, got[0].Line)
				}
			}
		})
	}
}

// adminDelete ends a session with the admin API (loopback, no token).
func adminDelete(t *testing.T, e *env, session string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodDelete, e.Public+"/admin/v1/instances/"+e.Inst.ID+"/sessions/"+url.PathEscape(session), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("admin delete of session %s: %d %s", session, resp.StatusCode, body)
	}
}

// control POSTs one of the app's /control routes and wants 200.
func control(t *testing.T, app *nodeApp, port int, path string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://127.0.0.1:"+strconv.Itoa(port)+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d %s (%s)", path, resp.StatusCode, body, explain(app, path))
	}
}

// expiredRefusal checks a refusal an app reported (apps/lib.mjs refusal):
// HTTP 410 with {"code":"session_expired","message":"session <id> expired at …"}.
// Both SDKs re-throw axios' error unchanged, so err.message is "Request
// failed with status code 410" and the code is only in err.response.data.
func expiredRefusal(t *testing.T, what string, r report, session string) {
	t.Helper()
	var status int
	_ = json.Unmarshal(r.Fields["status"], &status)
	var data struct{ Code, Message string }
	_ = json.Unmarshal(r.Fields["data"], &data)
	if status != http.StatusGone || data.Code != "session_expired" || !strings.HasPrefix(data.Message, "session "+session+" expired at ") {
		t.Fatalf("%s: the SDK threw %s, want HTTP 410 with code session_expired and \"session %s expired at …\"", what, r.Line, session)
	}
}
