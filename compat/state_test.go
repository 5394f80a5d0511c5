package compat

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestStateRoundTrip runs every State operation of each SDK (session,
// instance and account state, custom namespaces) through the platform and
// reports each operation whose result is not what the SDK should return
// (apps/state-*.mjs hold the expectations).
func TestStateRoundTrip(t *testing.T) {
	for _, s := range sdks {
		t.Run(s.Name, func(t *testing.T) {
			e := start(t, options{OnPort3001: true})
			app := startApp(t, s.State, 0, e.appEnv(0, nil))
			r := app.MustAwait("summary", nil, appTimeout-stepTimeout)
			var checks []struct {
				Name  string          `json:"name"`
				OK    bool            `json:"ok"`
				Got   json.RawMessage `json:"got"`
				Want  json.RawMessage `json:"want"`
				Error string          `json:"error"`
				Note  string          `json:"note"`
			}
			if err := json.Unmarshal(r.Fields["checks"], &checks); err != nil || len(checks) < 40 {
				t.Fatalf("summary has %d checks (%v), want every operation: %s", len(checks), err, r.Line)
			}
			failed := 0
			threw := map[string][]string{} // error → the checks that threw it
			var order []string
			for _, c := range checks {
				switch {
				case !c.OK && c.Error != "":
					failed++
					if threw[c.Error] == nil {
						order = append(order, c.Error)
					}
					threw[c.Error] = append(threw[c.Error], c.Name)
				case !c.OK:
					failed++
					t.Errorf("%s: returned %s, want %s", c.Name, c.Got, c.Want)
				case c.Note != "":
					t.Logf("%s: %s (accepted: %s)", c.Name, c.Got, c.Note)
				}
			}
			for _, msg := range order {
				t.Errorf("%d SDK calls threw %s\n  calls: %s", len(threw[msg]), msg, strings.Join(threw[msg], ", "))
			}
			t.Logf("%s: %d of %d state checks passed", s.Name, len(checks)-failed, len(checks))
			// Background telemetry must not have crashed the app.
			if err := app.AwaitExit(stepTimeout); err != nil {
				t.Errorf("the state app did not exit cleanly: %v\n%s", err, app.stderrText())
			}
		})
	}
}
