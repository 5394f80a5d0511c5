package platform

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

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
	if lines != 5 {
		t.Fatalf("%d lines logged, want the start line and 4 probes:\n%s", lines, logs.String())
	}
}
