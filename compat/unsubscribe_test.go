package compat

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"testing"

	"github.com/neru-dev/neru/cmd/neru/simulate"
	"github.com/neru-dev/neru/internal/proctest"
)

// TestUnsubscribeStopsDelivery: after an app unsubscribes a listener
// (neru messages.unsubscribeEvents, vcr vcr.unsubscribe(id,
// "vonage-messaging")), a matching SMS is no longer delivered. No sleeping:
// a later SMS to a listener of the same session is delivered, and deliveries
// of one session are FIFO, so the first SMS would have arrived before it.
func TestUnsubscribeStopsDelivery(t *testing.T) {
	for _, s := range sdks {
		t.Run(s.Name, func(t *testing.T) {
			const fromA, fromB = "447700900011", "447700900022"
			port := proctest.FreePort(t)
			e := start(t, options{AppPort: port, OnPort3001: true})
			app := startApp(t, s.Unsubscribe, port, e.appEnv(port, map[string]any{"fromA": fromA, "fromB": fromB, "to": ourNumber}))
			ready := app.MustAwait("ready", nil, stepTimeout, "*")
			session := ready.Str("session")

			sms := func(from, text string, wantDeliveries int) {
				t.Helper()
				status, reply := e.webhook(simulate.SMS(e.sim(simulate.Options{From: from, To: ourNumber, Text: text})))
				if status != http.StatusOK || !bytes.Contains(reply, []byte(`"deliveries":`+strconv.Itoa(wantDeliveries)+`}`)) {
					t.Fatalf("SMS %q from %s: %d %s, want %d deliveries", text, from, status, reply, wantDeliveries)
				}
			}
			// A is subscribed: its SMS arrives.
			sms(fromA, "before", 1)
			if r := app.MustAwait("onA", nil, stepTimeout, "*"); r.Str("session") != session || r.Str("text") != "before" {
				t.Fatalf("/onA got %s, want text \"before\" in session %s", r.Line, session)
			}

			// The app unsubscribes A.
			ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://127.0.0.1:"+strconv.Itoa(port)+"/control/unsubscribe", nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("unsubscribe failed: %d %s (%s)", resp.StatusCode, body, explain(app, "/control/unsubscribe"))
			}

			// A's next SMS matches nothing; B's sentinel is delivered.
			sms(fromA, "after unsubscribe", 0)
			sms(fromB, "sentinel", 1)
			if r := app.MustAwait("onB", nil, stepTimeout, "*"); r.Str("session") != session || r.Str("text") != "sentinel" {
				t.Fatalf("/onB got %s, want the sentinel in session %s", r.Line, session)
			}
			for _, r := range app.Reports("onA") {
				if r.Str("text") != "before" {
					t.Fatalf("/onA received %s after it was unsubscribed", r.Line)
				}
			}
		})
	}
}
