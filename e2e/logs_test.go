package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/neru-dev/neru/cmd/neru/cli"
	"github.com/neru-dev/neru/sdk"
)

// App logs (logs-submission) are kept per instance, numbered, and read back
// through the admin API and `neru logs`.
func TestAppLogs(t *testing.T) {
	h := start(t)
	ctx := context.Background()
	s := h.sdk.NewSession()
	for i, msg := range []string{"first", "second"} {
		if err := s.Log(ctx, sdk.LogInfo, msg, &sdk.LogContext{ActionName: "step", Payload: string(rune('a' + i))}); err != nil {
			t.Fatal(err)
		}
	}
	// neru's session.log, as captured (DEBUG mode: the dev instance).
	if r := h.replay(loadCapture(t, "neru-alpha-5.1.0/logs-submission-log-info--session.log.json"), "debug", nil); r.Status != 200 {
		t.Fatalf("captured log: %d %s", r.Status, r.Body)
	}
	// Another instance's log is not the dev instance's.
	b := h.addTenant("inst-b", "app-b", "")
	if err := b.client(h).NewSession().Log(ctx, sdk.LogError, "b's secret", nil); err != nil {
		t.Fatal(err)
	}

	get := func(inst, query string) (entries []struct {
		Seq int64
		Log json.RawMessage
	}, next int64) {
		t.Helper()
		resp, err := http.Get(h.gateway.URL + "/admin/v1/instances/" + inst + "/logs" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			Logs []struct {
				Seq int64
				Log json.RawMessage
			}
			Next int64
		}
		if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&out) != nil {
			t.Fatalf("GET logs of %s%s: %d", inst, query, resp.StatusCode)
		}
		return out.Logs, out.Next
	}
	all, next := get("e2e", "")
	if len(all) != 3 || next != 3 || all[0].Seq != 1 || !strings.Contains(string(all[2].Log), "hello from app") {
		t.Fatalf("logs: %d entries, next %d: %+v", len(all), next, all)
	}
	if later, next := get("e2e", "?after=2"); len(later) != 1 || later[0].Seq != 3 || next != 3 {
		t.Fatalf("after=2: %+v next %d", later, next)
	}
	if none, next := get("e2e", "?after=3"); len(none) != 0 || next != 3 {
		t.Fatalf("after=3: %+v next %d", none, next)
	}
	if one, next := get("e2e", "?limit=1"); len(one) != 1 || next != 1 {
		t.Fatalf("limit=1: %+v next %d", one, next)
	}
	if bl, _ := get("inst-b", ""); len(bl) != 1 || !strings.Contains(string(bl[0].Log), "b's secret") {
		t.Fatalf("inst-b's logs: %+v", bl)
	}

	var out strings.Builder
	if err := cli.Logs(ctx, h.gateway.URL, "e2e", 1, false, time.Second, false, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "INFO  second") || !strings.Contains(lines[0], "session="+s.ID) || strings.Contains(out.String(), "b's secret") {
		t.Fatalf("neru logs --after 1 printed:\n%s", out.String())
	}
	// --follow stops when its context does.
	fctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if err := cli.Logs(fctx, h.gateway.URL, "e2e", 3, true, 50*time.Millisecond, true, &out); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(h.gateway.URL + "/admin/v1/instances/nobody/logs")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("logs of an unknown instance: %d", resp.StatusCode)
	}
}
