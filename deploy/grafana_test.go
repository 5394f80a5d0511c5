package deploy_test

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/neru-dev/neru/internal/observe"
	"github.com/neru-dev/neru/internal/telemetry"
)

// Every metric the Grafana dashboard queries is one the platform
// registers: a renamed metric would otherwise leave an empty panel.
func TestDashboardQueriesExistingMetrics(t *testing.T) {
	raw, err := os.ReadFile("grafana/neru.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard is not JSON: %v", err)
	}
	// Vectors are gathered once they have a series: one event of each kind.
	m := telemetry.NewMetrics(telemetry.Options{})
	m.Webhook(context.Background(), observe.Webhook{Route: "messages/inbound", Outcome: observe.Routed, Duration: time.Millisecond})
	m.Attempt(context.Background(), observe.Attempt{Outcome: observe.Delivered, Duration: time.Millisecond, Accepted: time.Now()})
	m.SDKCommand("vonage-voice", 200)
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	registered := map[string]bool{}
	for _, f := range fams {
		registered[f.GetName()] = true
	}
	name := regexp.MustCompile(`\b(neru|go|process)_[a-z_]+\b`)
	seen := 0
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			for _, n := range name.FindAllString(q.Expr, -1) {
				seen++
				base := n
				for _, suf := range []string{"_bucket", "_sum", "_count"} {
					if b, ok := strings.CutSuffix(n, suf); ok && registered[b] {
						base = b
					}
				}
				if !registered[base] {
					t.Errorf("panel %q queries %s, which the platform does not register", p.Title, n)
				}
			}
		}
	}
	if seen < 10 {
		t.Fatalf("only %d metric names in the dashboard's queries", seen)
	}
}
