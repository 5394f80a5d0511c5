package platform

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/neru-dev/neru/deploy"
	"github.com/neru-dev/neru/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// Every line a production binary logs names its component once: the
// binary's own lines, and those of each part the platform builds. (Main used
// to hand the platform a logger that already had "component", so every
// worker line carried it twice.)
func TestEveryLogLineNamesItsComponentOnce(t *testing.T) {
	_, ks := testenv.Redis(t)
	t.Setenv("NERU_REDIS_URL", testenv.RedisURL(t))
	t.Setenv("NERU_NATS_URL", testenv.NATSServer(t).ClientURL())
	t.Setenv("NERU_KEYSPACE", ks)
	t.Setenv("NERU_OPS_ADDR", "127.0.0.1:0") // any free port: tests run side by side
	var logs bytes.Buffer
	err := serve(context.Background(), &logs, "worker", func(ctx context.Context, p *Platform) error {
		for _, part := range []string{"worker", "gateway", "scheduler", "queues"} {
			p.logger(part).Info("probe", "part", part)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	lines := 0
	sc := bufio.NewScanner(&logs)
	for sc.Scan() {
		lines++
		line := sc.Text()
		if n := strings.Count(line, `"component":`); n != 1 {
			t.Errorf("%d component keys in %s", n, line)
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("not JSON: %s", line)
		}
		if part, ok := rec["part"]; ok && rec["component"] != part {
			t.Errorf("component %v in a line of %v", rec["component"], part)
		}
	}
	if lines != 6 {
		t.Fatalf("%d lines logged, want the operations listener's, the start line and 4 probes:\n%s", lines, logs.String())
	}
}

// A log level or format serve does not know stops it before it opens
// anything, with a message naming the variable.
func TestServeRefusesBadLogSettings(t *testing.T) {
	for _, kv := range [][2]string{{"NERU_LOG_LEVEL", "loud"}, {"NERU_LOG_FORMAT", "xml"}} {
		t.Setenv(kv[0], kv[1])
		var logs bytes.Buffer
		ran := false
		err := serve(context.Background(), &logs, "worker", func(context.Context, *Platform) error { ran = true; return nil })
		if err == nil || ran || !strings.Contains(logs.String(), kv[0]) {
			t.Fatalf("%s=%s: err %v, ran %v, logs %q; want a refusal naming the variable", kv[0], kv[1], err, ran, logs.String())
		}
		t.Setenv(kv[0], "")
	}
}

func TestAnswerArgs(t *testing.T) {
	for _, name := range []string{"gateway", "worker"} {
		for _, args := range [][]string{{"-h"}, {"--help"}, {"-help"}, {"help"}} {
			var out, errOut bytes.Buffer
			code, done := answerArgs(name, args, &out, &errOut)
			if !done || code != 0 {
				t.Fatalf("%s %v: done %v code %d, want help and exit 0", name, args, done, code)
			}
			if s := out.String(); !strings.Contains(s, about[name]) || !strings.Contains(s, "NERU_REDIS_URL") || !strings.Contains(s, "NERU_LOG_LEVEL") {
				t.Fatalf("%s %v: help does not say what it is and list the NERU_* variables:\n%s", name, args, s)
			}
		}
		for _, args := range [][]string{{"--version"}, {"-version"}, {"version"}} {
			var out bytes.Buffer
			code, done := answerArgs(name, args, &out, &out)
			if !done || code != 0 || !strings.HasPrefix(out.String(), name+" ") || !strings.Contains(out.String(), "github.com/neru-dev/neru") {
				t.Fatalf("%s %v: done %v code %d output %q, want the version and exit 0", name, args, done, code, out.String())
			}
		}
		if _, done := answerArgs(name, nil, os.Stdout, os.Stderr); done {
			t.Fatalf("%s without arguments must start, not exit", name)
		}
		var errOut bytes.Buffer
		if code, done := answerArgs(name, []string{"--addr", ":80"}, &errOut, &errOut); !done || code == 0 || !strings.Contains(errOut.String(), "environment") {
			t.Fatalf("%s --addr: done %v code %d %q, want a non-zero exit pointing at the environment", name, done, code, errOut.String())
		}
	}
}

// Every NERU_* variable the configuration reads is in deploy/.env.example,
// which is what -h prints.
func TestEnvExampleListsEveryVariable(t *testing.T) {
	files, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(deploy.EnvExample))
	for sc.Scan() {
		if m := regexp.MustCompile(`^#?(NERU_[A-Z0-9_]+)=`).FindStringSubmatch(sc.Text()); m != nil {
			listed[m[1]] = true
		}
	}
	read := regexp.MustCompile(`"(NERU_[A-Z0-9_]+)"`)
	n := 0
	for _, f := range files {
		if !strings.HasSuffix(f.Name(), ".go") || strings.HasSuffix(f.Name(), "_test.go") {
			continue
		}
		src, err := os.ReadFile(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range read.FindAllStringSubmatch(string(src), -1) {
			n++
			if !listed[m[1]] {
				t.Errorf("%s reads %s, which deploy/.env.example does not list", f.Name(), m[1])
			}
		}
	}
	// Tracing reads the standard OpenTelemetry variables (telemetry.StartTracing).
	otel := regexp.MustCompile(`^#?(OTEL_[A-Z0-9_]+)=`)
	sc = bufio.NewScanner(strings.NewReader(deploy.EnvExample))
	for sc.Scan() {
		if m := otel.FindStringSubmatch(sc.Text()); m != nil {
			listed[m[1]] = true
		}
	}
	for _, v := range []string{"NERU_LOG_LEVEL", "NERU_LOG_FORMAT", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
		"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_SERVICE_NAME", "OTEL_TRACES_EXPORTER"} {
		if !listed[v] {
			t.Errorf("deploy/.env.example does not list %s", v)
		}
	}
	if n < 20 {
		t.Fatalf("found only %d NERU_* names in platform/*.go: has the configuration moved? point this test at it", n)
	}
}
