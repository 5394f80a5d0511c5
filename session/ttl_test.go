package session_test

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/neru-dev/neru/internal/captures"
	"github.com/neru-dev/neru/session"
)

// sdkExpiresAt is what both SDKs send: d = new Date(); d.setSeconds(ttl).
// JS's setSeconds works in local time; every zone's offset is whole
// minutes, so "this minute" is the same minute in UTC.
func sdkExpiresAt(d time.Time, ttl int) time.Time {
	ms := time.Duration(d.Nanosecond()) / time.Millisecond * time.Millisecond
	return d.Truncate(time.Minute).Add(time.Duration(ttl)*time.Second + ms)
}

func TestRequestedTTL(t *testing.T) {
	minute := time.Date(2026, 11, 21, 22, 59, 0, 0, time.UTC)
	ttls := []int{0, 1, 4, 30, 59, 60, 61, 90, 119, 3600, 86399, 604800}
	// The SDK takes d a few ms before or after the event's timestamp.
	skews := []time.Duration{-40 * time.Millisecond, -1 * time.Millisecond, 0, 1 * time.Millisecond, 40 * time.Millisecond}
	n := 0
	for sec := 0; sec < 60; sec++ {
		for _, msOfSec := range []int{0, 1, 499, 500, 961, 999} {
			ts := minute.Add(time.Duration(sec)*time.Second + time.Duration(msOfSec)*time.Millisecond)
			for _, skew := range skews {
				d := ts.Add(skew) // may fall in another second or minute than ts
				for _, ttl := range ttls {
					got := session.RequestedTTL(ts, sdkExpiresAt(d, ttl), ts)
					want := max(time.Duration(ttl)*time.Second, session.MinTTL)
					if got != want {
						t.Fatalf("ts %s, SDK now %s, ttl %d: got %s, want %s", ts.Format("15:04:05.000"), d.Format("15:04:05.000"), ttl, got, want)
					}
					n++
				}
			}
		}
	}
	t.Logf("%d cases", n)
}

func TestRequestedTTLFallback(t *testing.T) {
	now := time.Date(2026, 11, 21, 22, 59, 40, 0, time.UTC)
	for _, c := range []struct {
		name          string
		ts, expiresAt time.Time
		want          time.Duration
	}{
		{"no timestamp: time left", time.Time{}, now.Add(90 * time.Second), 90 * time.Second},
		{"expiresAt before the minute: time left, at least MinTTL", now, now.Add(-time.Hour), session.MinTTL},
		{"nothing", time.Time{}, time.Time{}, session.MinTTL},
	} {
		if got := session.RequestedTTL(c.ts, c.expiresAt, now); got != c.want {
			t.Errorf("%s: got %s, want %s", c.name, got, c.want)
		}
	}
}

// The SDKs' own session_created events, as captured.
func TestRequestedTTLCaptures(t *testing.T) {
	want := map[string]time.Duration{
		"neru-alpha-5.1.0/events-submission-session_created--neru.createSession.json":        604800 * time.Second,
		"neru-alpha-5.1.0/events-submission-session_created--neru.createSession_ttl_60.json": 60 * time.Second,
		"neru-alpha-5.1.0/prod-mode/events-submission-session_created.json":                  604800 * time.Second,
		"vcr-sdk-1.3.0/events-submission-session_created.json":                               604800 * time.Second,
		"vcr-sdk-1.3.0/prod-mode/events-submission-session_created.json":                     604800 * time.Second,
	}
	seen := 0
	err := fs.WalkDir(captures.FS, ".", func(p string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() || !strings.Contains(path.Base(p), "session_created") {
			return err
		}
		raw, err := fs.ReadFile(captures.FS, p)
		if err != nil {
			return err
		}
		var c struct {
			Body struct {
				Timestamp time.Time `json:"timestamp"`
				Details   struct {
					ExpiresAt time.Time `json:"expiresAt"`
				} `json:"details"`
			} `json:"body"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		w, ok := want[p]
		if !ok {
			t.Errorf("%s: a session_created capture this test does not know", p)
			return nil
		}
		seen++
		if got := session.RequestedTTL(c.Body.Timestamp, c.Body.Details.ExpiresAt, c.Body.Timestamp); got != w {
			t.Errorf("%s: got %s, want %s", p, got, w)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen != len(want) {
		t.Fatalf("read %d session_created captures, want %d", seen, len(want))
	}
}
