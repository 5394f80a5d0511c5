package compat

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// TestSessionTTLAnySecond: createSession(4) lives 4 s ± 1 whatever second of
// the minute the SDK's clock shows (issue 13: both SDKs send expiresAt as
// "this minute, second = ttl"). Each app runs with apps/clock.cjs
// preloaded, which shifts the SDK's Date to second 0, 20, 40 or 59 of a
// minute; the app measures, with the real clock, how long state.get keeps
// answering. The four apps of one SDK run at once on one platform.
//
// After expiry both SDKs throw axios' error unchanged: err.message is
// "Request failed with status code 410" (it does not name the code), and
// err.response.data is the platform's {"code":"session_expired",
// "message":"session <id> expired at <time>"}, which is what an app can
// test. A listener registration in the ended session throws the same.
func TestSessionTTLAnySecond(t *testing.T) {
	const ttl = 4
	seconds := []int{0, 20, 40, 59}
	clock, err := filepath.Abs(filepath.Join("apps", "clock.cjs"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sdks {
		t.Run(s.Name, func(t *testing.T) {
			e := start(t, options{OnPort3001: true})
			apps := make([]*nodeApp, len(seconds))
			for i, sec := range seconds {
				env := e.appEnv(0, map[string]any{"ttl": ttl, "limitMs": 15000, "from": fmt.Sprint("4477009001", 10+i), "to": ourNumber})
				env["NODE_OPTIONS"] = `--require "` + clock + `"`
				env["COMPAT_CLOCK_SECOND"] = fmt.Sprint(sec)
				apps[i] = startApp(t, s.TTL, 0, env)
			}
			for i, sec := range seconds {
				app := apps[i]
				r := app.MustAwait("expired", nil, stepTimeout, "*")
				var ms float64
				_ = json.Unmarshal(r.Fields["elapsedMs"], &ms)
				// The SDK's clock must really have been at that second.
				if clk := r.Str("sdkClock"); len(clk) < 19 || clk[17:19] != fmt.Sprintf("%02d", sec) {
					t.Fatalf("second %d: the SDK's clock read %q at createSession", sec, clk)
				}
				if ms < (ttl-1)*1000 || ms > (ttl+1)*1000 {
					t.Errorf("createSession(%d) at second %d (SDK clock %s) lived %.0f ms, want %d s ± 1", ttl, sec, r.Str("sdkClock"), ms, ttl)
				}
				t.Logf("second %d: lived %.0f ms; state.get threw %q", sec, ms, r.Str("message"))
				expiredRefusal(t, "state.get after expiry", r, r.Str("session"))
				l := app.MustAwait("listenAfterExpiry", nil, stepTimeout, "*")
				if l.Fields["threw"] == nil || string(l.Fields["threw"]) != "true" {
					t.Fatalf("second %d: a listener registration in the expired session did not throw: %s", sec, l.Line)
				}
				expiredRefusal(t, "listener registration after expiry", l, r.Str("session"))
			}
		})
	}
}

// expiredRefusal checks a refusal an app reported (apps/lib.mjs refusal):
// HTTP 410 with {"code":"session_expired","message":"session <id> expired at …"}.
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
