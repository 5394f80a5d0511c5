package platform_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/neru-dev/neru/internal/proctest"
	"github.com/neru-dev/neru/internal/testenv"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The production worker serves its operations listener on NERU_OPS_ADDR:
// /healthz at once, /readyz 503 naming NATS while NATS is not there, and,
// once connected and holding its partitions, /readyz 200, /metrics with
// the Go, process and neru_* metrics, and pprof.
func TestWorkerOpsListener(t *testing.T) {
	bin := proctest.Binary(t, "github.com/neru-dev/neru/cmd/worker")
	_, keyspace := testenv.Redis(t)
	env := func(ops, natsURL string) []string {
		return []string{"NERU_OPS_ADDR=" + ops, "NERU_REDIS_URL=" + testenv.RedisURL(t), "NERU_NATS_URL=" + natsURL,
			"NERU_KEYSPACE=" + keyspace, "NERU_LOG_LEVEL=warn"}
	}

	// No NATS: alive, not ready, and the answer says what it waits for.
	ops := proctest.Addr(proctest.FreePort(t))
	waiting := proctest.Start(t, "worker without NATS", bin, env(ops, "nats://"+proctest.Addr(proctest.FreePort(t))))
	proctest.WaitHTTP(t, waiting, "http://"+ops+"/healthz", 30*time.Second)
	testenv.Eventually(t, 30*time.Second, func() bool {
		code, body := get(t, "http://"+ops+"/readyz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, `"not_ready"`) && strings.Contains(body, "nats")
	}, "/readyz 503 waiting for nats")
	waiting.Kill()

	nats := proctest.StartNATS(t)
	ops = proctest.Addr(proctest.FreePort(t))
	w := proctest.Start(t, "worker", bin, env(ops, nats.ClientURL))
	proctest.WaitHTTP(t, w, "http://"+ops+"/healthz", 30*time.Second)
	testenv.Eventually(t, 60*time.Second, func() bool {
		code, _ := get(t, "http://"+ops+"/readyz")
		return code == http.StatusOK
	}, "/readyz 200 once connected and holding partitions")
	var metrics string
	testenv.Eventually(t, 30*time.Second, func() bool {
		_, metrics = get(t, "http://"+ops+"/metrics")
		return strings.Contains(metrics, "\nneru_partitions_owned 16\n")
	}, "neru_partitions_owned 16 on /metrics")
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total", "neru_deliveries_total{outcome=\"delivered\"} 0",
		"neru_session_lanes 0", "neru_dlq_messages 0", "neru_circuits_open 0"} {
		if !strings.Contains(metrics, name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	if code, body := get(t, "http://"+ops+"/debug/pprof/"); code != 200 || !strings.Contains(body, "goroutine") {
		t.Errorf("pprof: %d", code)
	}
}

// `neru dev` serves the operations endpoints on its main listener: a
// webhook shows up in /metrics there, and pprof answers.
func TestDevServesMetricsOnItsMainListener(t *testing.T) {
	bin := proctest.Binary(t, "github.com/neru-dev/neru/cmd/neru")
	addr, cmd := proctest.Addr(proctest.FreePort(t)), proctest.Addr(proctest.FreePort(t))
	dev := proctest.Start(t, "neru dev", bin, nil, "dev", "--ephemeral", "--data-dir", t.TempDir(), "--addr", addr,
		"--command-addr", cmd, "--fake-vonage-addr", proctest.Addr(proctest.FreePort(t)))
	proctest.WaitHTTP(t, dev, "http://"+addr+"/readyz", 60*time.Second)
	sms := `{"message_uuid":"m-1","channel":"sms","message_type":"text","from":"447700900999","to":"447700900000","text":"hi"}`
	resp, err := http.Post("http://"+addr+"/webhooks/dev-app/messages/inbound", "application/json", strings.NewReader(sms))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("webhook: %d", resp.StatusCode)
	}
	if code, _ := get(t, "http://"+cmd+"/?func=no-such-provider"); code != 404 {
		t.Fatalf("unknown SDK provider: %d", code)
	}
	code, metrics := get(t, "http://"+addr+"/metrics")
	for _, want := range []string{`neru_webhooks_total{kind="messages/inbound",outcome="unmatched"} 1`,
		`neru_sdk_commands_total{code="404",provider="unknown"} 1`} {
		if code != 200 || !strings.Contains(metrics, want) {
			t.Fatalf("/metrics %d lacks %s:\n%.3000s", code, want, metrics)
		}
	}
	if code, _ := get(t, "http://"+addr+"/debug/pprof/"); code != 200 {
		t.Fatalf("pprof: %d", code)
	}
}
