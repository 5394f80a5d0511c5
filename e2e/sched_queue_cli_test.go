package e2e

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/neru-dev/neru/cmd/neru/cli"
)

// `neru schedules` and `neru queues` against the admin API.
func TestSchedulesAndQueuesCLI(t *testing.T) {
	h := start(t)
	ctx := context.Background()
	run := func(cmd func(context.Context, string, string, []string, io.Writer) error, args ...string) string {
		t.Helper()
		var out bytes.Buffer
		if err := cmd(ctx, h.gateway.URL, "e2e", args, &out); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return out.String()
	}
	schedules, queues := cli.Schedules, cli.Queues

	every := map[string]any{"cron": "*/5 * * * *"}
	if r := h.sdkPost("vonage-scheduler", "/v2/create", "", mustJSON(schedule("nightly", "sess-C", "2030-01-01T00:00:00.000Z", every))); r.Status != 200 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	if out := run(schedules, "list"); !strings.Contains(out, "nightly") || !strings.Contains(out, "2030-01-01T00:00:00.000Z") || !strings.Contains(out, "*/5 * * * *") {
		t.Fatalf("schedules list:\n%s", out)
	}
	if out := run(schedules, "get", "nightly"); !strings.Contains(out, `"neru_execution_id"`) || !strings.Contains(out, `"sess-C"`) {
		t.Fatalf("schedules get:\n%s", out)
	}
	run(schedules, "cancel", "nightly")
	var out bytes.Buffer
	if err := cli.Schedules(ctx, h.gateway.URL, "e2e", []string{"get", "nightly"}, &out); err == nil || !strings.Contains(err.Error(), "not_found") {
		t.Fatalf("get after cancel: %v", err)
	}
	if err := cli.Schedules(ctx, h.gateway.URL, "nobody", []string{"list"}, &out); err == nil || !strings.Contains(err.Error(), "not_found") {
		t.Fatalf("unknown instance: %v", err)
	}

	h.mustQueue(http.MethodPost, "/queue", createQueueBody("q 1", 3, 2))
	h.mustQueue(http.MethodPost, "/queue/q%201/enqueue", []byte(`[{"a":1},{"a":2}]`))
	if out := run(queues, "list"); !strings.Contains(out, "q 1") || !strings.Contains(out, "active") || !strings.Contains(out, "0/3") {
		t.Fatalf("queues list:\n%s", out)
	}
	run(queues, "pause", "q 1")
	if out := run(queues, "stats", "q 1"); !strings.Contains(out, `"active": false`) || !strings.Contains(out, `"totalEnqueue": 2`) {
		t.Fatalf("queues stats:\n%s", out)
	}
	run(queues, "resume", "q 1")
	if d := h.queueDetails("q%201"); !d.Queue.Active {
		t.Fatal("resume did not take")
	}
	// Dead letters, put there as the dispatcher would.
	if err := h.p.Redis.RPush(ctx, h.p.Config.Keyspace+"q:{e2e/q 1}:dl", `{"a":9}`, `{"a":10}`).Err(); err != nil {
		t.Fatal(err)
	}
	if out := run(queues, "deadletter", "q 1"); out != "{\"a\":9}\n{\"a\":10}\n" {
		t.Fatalf("deadletter:\n%s", out)
	}
	if out := run(queues, "deadletter", "--pop", "1", "q 1"); out != "{\"a\":9}\n" {
		t.Fatalf("deadletter --pop:\n%s", out)
	}
	if out := run(queues, "deadletter", "q 1"); out != "{\"a\":10}\n" {
		t.Fatalf("after pop:\n%s", out)
	}
}
