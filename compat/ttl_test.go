package compat

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestSessionTTLAnySecond: createSession(4) lives 4 s ± 1 whatever second of
// the minute the SDK's clock shows (issue 13: both SDKs send expiresAt as
// "this minute, second = ttl"). Each app runs with apps/clock.cjs
// preloaded, which shifts the SDK's Date to second 0, 20, 40 or 59 of a
// minute (from just before createSession). The test reads the lifetime the
// platform gave the session with the admin API as soon as session_created
// has arrived (the SDK sends it in the background), and the app reports,
// with the real clock, when state.get starts failing: that must be when
// the platform said. The four apps of one SDK run at once on one platform.
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
			// Each session's TTL is read while it is young, all at once.
			type sighting struct {
				created report
				left    float64
				seen    time.Time
				err     error
			}
			sightings := make([]sighting, len(apps))
			var wg sync.WaitGroup
			for i, app := range apps {
				wg.Go(func() {
					c, err := app.Await("created", nil, stepTimeout, "*")
					if err != nil {
						sightings[i].err = err
						return
					}
					left, seen, err := platformTTL(e, c.Str("session"))
					sightings[i] = sighting{c, left, seen, err}
				})
			}
			wg.Wait()
			for i, sec := range seconds {
				app := apps[i]
				c, left, seen := sightings[i].created, sightings[i].left, sightings[i].seen
				if err := sightings[i].err; err != nil {
					t.Fatalf("second %d: %v", sec, err)
				}
				// The SDK's clock must really have been at that second.
				if clk := c.Str("sdkClock"); len(clk) < 19 || clk[17:19] != fmt.Sprintf("%02d", sec) {
					t.Fatalf("second %d: the SDK's clock read %q at createSession", sec, clk)
				}
				if left < ttl-1 || left > ttl {
					t.Errorf("createSession(%d) at second %d: the platform gave it %.2f s, want %d s ± 1", ttl, sec, left, ttl)
				}
				r := app.MustAwait("expired", nil, stepTimeout, "*")
				var ms, at float64
				_ = json.Unmarshal(r.Fields["elapsedMs"], &ms)
				_ = json.Unmarshal(r.Fields["atUnixMs"], &at)
				// It ends when the platform said, ± 1 s (the app polls every
				// 50 ms on a loaded machine).
				end := seen.Add(time.Duration(left * float64(time.Second)))
				if d := time.UnixMilli(int64(at)).Sub(end); d < -time.Second || d > time.Second {
					t.Errorf("second %d: state.get started failing %v from the end the platform announced", sec, d)
				}
				// From the app's own clock, createSession to the first
				// refusal also counts the SDK's background send of
				// session_created, which can lag on a loaded machine.
				if ms < (ttl-1)*1000 || ms > (ttl+3)*1000 {
					t.Errorf("createSession(%d) at second %d (SDK clock %s): state.get failed %.0f ms after it, want %d s (+ the SDK's send)", ttl, sec, c.Str("sdkClock"), ms, ttl)
				}
				t.Logf("second %d: platform TTL %.2f s, state.get refused %.0f ms after createSession; err.message %q", sec, left, ms, r.Str("message"))
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

// platformTTL polls the admin API until the session has the short TTL of
// its session_created (before it arrives, the SDK's first state.set may
// have created the session with the default TTL) and returns the seconds
// it has left and when they were read.
func platformTTL(e *env, session string) (float64, time.Time, error) {
	deadline := time.Now().Add(stepTimeout)
	for {
		resp, err := http.Get(e.Public + "/admin/v1/instances/" + e.Inst.ID + "/sessions/" + url.PathEscape(session))
		if err != nil {
			return 0, time.Time{}, err
		}
		seen := time.Now()
		var s struct {
			TTLSeconds *float64 `json:"ttlSeconds"`
		}
		err = json.NewDecoder(resp.Body).Decode(&s)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK && err == nil && s.TTLSeconds != nil && *s.TTLSeconds < 60 {
			return *s.TTLSeconds, seen, nil
		}
		if time.Now().After(deadline) {
			return 0, time.Time{}, fmt.Errorf("session %s: the admin API never showed the TTL of its session_created (last: %d, %v)", session, resp.StatusCode, s.TTLSeconds)
		}
		time.Sleep(10 * time.Millisecond) // polling the admin API
	}
}
