package bench

import (
	"fmt"
	"strings"

	"github.com/neru-dev/neru/sdk"
)

// Markdown renders the report as docs/benchmarks.md: the table of
// measures, the machine, the command and the per-process CPU of each phase.
// As a section (appended to such a file) it starts with a second-level
// heading that names the stores.
func (r *Report) Markdown(args []string, section bool) string {
	var b strings.Builder
	f := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	m, o := r.Machine, r.Options
	if section {
		f("")
		f("## Redis %s, NATS %s", m.Redis, m.NATS)
	} else {
		f("# Benchmarks")
	}
	f("")
	f("Measured from outside the platform by `neru bench` (`make bench`): the platform (`neru dev`), the app (a sink")
	f("counting deliveries) and the load generator (%d keep-alive connections posting unique inbound-SMS webhooks from", o.Concurrency)
	f("%d numbers, one listener and one session each) run as separate processes on one machine, with Redis and NATS.", o.Sessions)
	f("")
	f("- machine: %d CPUs (%s), %d GiB RAM, %s", m.CPUs, m.CPUModel, m.MemGiB, m.Kernel)
	f("- software: %s; Redis: %s; NATS: %s (JetStream file storage)", m.Go, m.Redis, m.NATS)
	f("- command: `%s`", strings.Join(append([]string{"neru"}, args[1:]...), " "))
	f("- load average before the run: %s", r.Max.LoadBefore)
	f("")
	b.WriteString(r.Summary())
	mx := r.Max
	f("")
	f("CPU per delivered event, by process (µs; Redis and NATS are shared servers, so theirs include any other client):")
	f("")
	f("| phase | delivered/s | ack p50/p99 ms | ingest→app p50/p99 ms | %s | total |", strings.Join(roles(mx), " | "))
	f("|---|---|---|---|%s---|", strings.Repeat("---|", len(mx.CPU)))
	for _, p := range []*Phase{r.Max, r.Half, r.Naive, r.Scaled} {
		if p == nil {
			continue
		}
		cells := make([]string, 0, len(mx.CPU))
		for _, role := range roles(mx) {
			cells = append(cells, cpuCell(p, role))
		}
		f("| %s | %.0f | %.2f / %.2f | %.2f / %.2f | %s | %.1f |", phaseTitle(p), p.DeliveredPerSecond, p.Ack.P50, p.Ack.P99,
			p.Latency.P50, p.Latency.P99, strings.Join(cells, " | "), p.TotalMicrosPerEvent())
	}
	if len(r.Rounds) > 1 {
		f("")
		f("Platform and naive pipeline took turns (%d rounds; the tables show the median round):", len(r.Rounds))
		f("")
		for i, rd := range r.Rounds {
			f("- round %d: platform %.0f/s, naive %.0f/s, %.2f×", i+1, rd.Platform, rd.Naive, rd.Platform/max(rd.Naive, 1))
		}
	}
	f("")
	f("The \"platform\" column of the naive row is the naive pipeline's process. Figures are from one run on a shared")
	f("2-core machine: expect ±10%% between runs; CPU per event moves less than throughput.")
	return b.String()
}

func roles(p *Phase) []string {
	out := make([]string, 0, len(p.CPU))
	for _, c := range p.CPU {
		out = append(out, c.Role)
	}
	return out
}

func cpuCell(p *Phase, role string) string {
	for _, c := range p.CPU {
		if c.Role == role || (role == "platform" && c.Role == "naive pipeline") {
			if c.PID == 0 {
				return c.Note
			}
			return fmt.Sprintf("%.1f", c.MicrosPerEvent)
		}
	}
	return "—"
}

func phaseTitle(p *Phase) string {
	switch p.Name {
	case "maximum":
		return "maximum (closed loop)"
	case "half":
		return fmt.Sprintf("half load (%.0f/s)", p.OfferedPerSecond)
	case "scaled":
		return "maximum, after registering more listeners"
	}
	return p.Name
}

// Summary is the table of the measures with this report's figures
// (the README shows it between its bench markers).
func (r *Report) Summary() string {
	var b strings.Builder
	f := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	o, mx := r.Options, r.Max
	f("| measure | result | target |")
	f("|---|---|---|")
	row := func(measure, result, target string) { f("| %s | %s | %s |", measure, result, target) }
	naive := "not measured (no `--naive`)"
	if r.Naive != nil {
		naive = fmt.Sprintf("naive pipeline %.0f/s: **%.2f×**", r.Naive.DeliveredPerSecond, mx.DeliveredPerSecond/max(r.Naive.DeliveredPerSecond, 1))
	}
	row(fmt.Sprintf("delivered events/s, %d sessions", o.Sessions), fmt.Sprintf("**%.0f**; %s", mx.DeliveredPerSecond, naive), "≥ 20,000 and ≥ 2× naive")
	row("webhook ack latency p50 / p99 at that load", fmt.Sprintf("%.2f / %.2f ms", mx.Ack.P50, mx.Ack.P99), "≤ 3 / ≤ 10 ms")
	if h := r.Half; h != nil {
		row(fmt.Sprintf("ingest → app latency p50 / p99 at half load (%.0f/s paced)", h.OfferedPerSecond),
			fmt.Sprintf("%.2f / %.2f ms", h.Latency.P50, h.Latency.P99), "≤ 2 / ≤ 10 ms")
	}
	if s := r.Scaled; s != nil {
		row(fmt.Sprintf("throughput at %d listeners ÷ at %d", o.ScaleTo, o.Sessions+o.Listeners),
			fmt.Sprintf("%.0f / %.0f = **%.2f**", s.DeliveredPerSecond, mx.DeliveredPerSecond, s.DeliveredPerSecond/max(mx.DeliveredPerSecond, 1)), "≥ 0.9")
		row("listener registration through the Go SDK", fmt.Sprintf("%.0f listeners/s (%d in %.1f s, batches of %d, %d requests in flight)",
			r.ScaleRegister.PerSecond, r.ScaleRegister.Listeners, r.ScaleRegister.Seconds, sdk.MaxSubscriptions, o.RegisterConcurrency), "≥ 30,000/s")
	}
	if s := r.State; s != nil {
		row("SDK state ops/s (set/get via the command endpoint) ÷ bare echo handler req/s",
			fmt.Sprintf("%.0f / %.0f = **%.2f**", s.StatePerSecond, s.EchoPerSecond, s.Ratio), "≥ 0.5")
	}
	return b.String()
}

// ReplaceBetween replaces what lies between the lines <!-- bench:begin -->
// and <!-- bench:end --> of doc with text.
func ReplaceBetween(doc, text string) (string, error) {
	const begin, end = "<!-- bench:begin -->\n", "<!-- bench:end -->"
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		return "", fmt.Errorf("bench: no %q ... %q markers", strings.TrimSpace(begin), end)
	}
	return doc[:i+len(begin)] + text + doc[j:], nil
}
