package cli

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/neru-dev/neru/cmd/neru/bench"
	"github.com/neru-dev/neru/internal/testenv"
)

// asNeru makes the test binary act as the neru command when `neru bench`
// starts it as its platform (`neru dev`) or its app (`neru bench sink`).
const asNeru = "NERU_CLI_TEST_AS_NERU=1"

func TestMain(m *testing.M) {
	if os.Getenv("NERU_CLI_TEST_AS_NERU") == "1" {
		os.Exit(Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(testenv.Main(m))
}

// A tiny `neru bench`: neru dev and the sink as child processes, on a real
// Redis and neru dev's embedded NATS. It must count every delivery once.
// No timing is asserted.
func TestBenchSmoke(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	o := bench.DefaultOptions()
	o.Self, o.SelfEnv = self, []string{asNeru}
	o.RedisURL = testenv.RedisURL(t)
	o.Events, o.Sessions, o.Concurrency, o.StateOps, o.Rounds = 300, 20, 4, 40, 2
	o.Timeout = time.Minute
	rep, err := bench.Run(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Register.Listeners != 20 {
		t.Errorf("registered %d listeners, want 20", rep.Register.Listeners)
	}
	for _, p := range []*bench.Phase{rep.Max, rep.Half} {
		if p == nil {
			t.Fatal("a phase is missing")
		}
		if !p.Complete() || p.Delivered != p.Events || p.Expected != p.Events || p.Duplicates != 0 {
			t.Errorf("phase %s: %d events, %d expected, %d delivered, %d duplicates, complete %v",
				p.Name, p.Events, p.Expected, p.Delivered, p.Duplicates, p.Complete())
		}
		if p.Latency.Count != p.Delivered || p.Ack.Count != p.Accepted {
			t.Errorf("phase %s: %d latencies for %d deliveries, %d acks for %d accepted",
				p.Name, p.Latency.Count, p.Delivered, p.Ack.Count, p.Accepted)
		}
		for _, c := range p.CPU {
			if (c.Role == "platform" || c.Role == "app (sink)") && c.PID == 0 {
				t.Errorf("phase %s: no process for %s", p.Name, c.Role)
			}
		}
	}
	if rep.Half.Events != 150 {
		t.Errorf("half phase: %d events, want 150", rep.Half.Events)
	}
	if rep.State == nil || rep.State.StatePerSecond <= 0 || rep.State.EchoPerSecond <= 0 {
		t.Errorf("state phase: %+v", rep.State)
	}
	if md := rep.Markdown([]string{"neru", "bench"}, false); len(md) == 0 {
		t.Error("empty markdown")
	}
}
