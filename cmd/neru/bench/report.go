package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/neru-dev/neru/internal/redisx"
)

// Report is what one invocation measured. Rates are per second, times in
// seconds unless the name says otherwise.
type Report struct {
	Machine Machine `json:"machine"`
	Options Options `json:"-"`

	Register      Registration  `json:"register"`
	Max           *Phase        `json:"max"`
	Half          *Phase        `json:"half,omitempty"`
	Naive         *Phase        `json:"naive,omitempty"`
	Rounds        []Round       `json:"rounds,omitempty"` // delivered/s of each platform/naive pair
	State         *StateResult  `json:"state,omitempty"`
	ScaleRegister Registration  `json:"scale_register,omitzero"`
	Scaled        *Phase        `json:"scaled,omitempty"`
	Started       time.Time     `json:"started"`
	Took          time.Duration `json:"took_ns"`
}

// Round is one maximum-rate phase of the platform and the naive phase
// right after it.
type Round struct {
	Platform float64 `json:"platform_per_second"`
	Naive    float64 `json:"naive_per_second"`
}

// Machine describes where a report was measured.
type Machine struct {
	CPUs     int    `json:"cpus"`
	CPUModel string `json:"cpu_model"`
	MemGiB   int    `json:"mem_gib"`
	Kernel   string `json:"kernel"`
	Go       string `json:"go"`
	Redis    string `json:"redis"`
	NATS     string `json:"nats"`
}

// Registration is one batch of listener registrations through the SDK.
type Registration struct {
	Listeners int     `json:"listeners"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"per_second"`
}

// Phase is one measured load.
type Phase struct {
	Name             string  `json:"name"`
	Events           int     `json:"events"`
	Concurrency      int     `json:"concurrency"`
	OfferedPerSecond float64 `json:"offered_per_second"` // 0: closed loop

	Posted          int         `json:"posted"`
	Accepted        int         `json:"accepted"`
	Errors          int         `json:"errors"`           // non-2xx answers
	TransportErrors int         `json:"transport_errors"` // no answer at all
	Statuses        map[int]int `json:"statuses,omitempty"`
	Unmatched       int         `json:"unmatched"` // accepted with 0 deliveries
	Expected        int         `json:"expected"`  // deliveries the platform reported stored
	Delivered       int         `json:"delivered"`
	Missing         int         `json:"missing"`
	Duplicates      int         `json:"duplicates"`
	Strays          int         `json:"strays"` // deliveries of no webhook of this phase

	AcceptedPerSecond  float64 `json:"accepted_per_second"`
	Seconds            float64 `json:"seconds"` // first POST → last arrival
	DeliveredPerSecond float64 `json:"delivered_per_second"`
	Ack                Latency `json:"ack_latency"` // POST start → 2xx answer
	Latency            Latency `json:"latency"`     // POST start → arrival at the app
	WallSeconds        float64 `json:"wall_seconds"`

	CPU        []ProcCPU `json:"cpu"` // first POST → every delivery arrived
	LoadBefore string    `json:"load_before"`
	LoadAfter  string    `json:"load_after"`
}

// ProcCPU is the CPU one process spent in a phase.
type ProcCPU struct {
	Role           string  `json:"role"`
	PID            int     `json:"pid,omitempty"`
	Name           string  `json:"name,omitempty"`
	Note           string  `json:"note,omitempty"`
	Seconds        float64 `json:"seconds"`
	MicrosPerEvent float64 `json:"us_per_event"`
}

// StateResult compares SDK state operations with a bare echo handler.
type StateResult struct {
	Ops            int     `json:"ops"`
	Concurrency    int     `json:"concurrency"`
	StatePerSecond float64 `json:"state_per_second"`
	EchoPerSecond  float64 `json:"echo_per_second"`
	Ratio          float64 `json:"ratio"`
}

// Complete reports whether every webhook was accepted and every stored
// delivery arrived exactly once.
func (p *Phase) Complete() bool {
	return p != nil && p.Accepted == p.Posted && p.Posted == p.Events && p.Missing == 0 && p.Duplicates == 0 &&
		p.Unmatched == 0 && p.Delivered == p.Expected
}

func (p *Phase) problem() string {
	return fmt.Sprintf("%d/%d accepted (non-2xx %d%s, transport errors %d, unmatched %d), %d/%d delivered, %d duplicates",
		p.Accepted, p.Events, p.Errors, statuses(p.Statuses), p.TransportErrors, p.Unmatched, p.Delivered, p.Expected, p.Duplicates)
}

// Complete reports whether every phase of the report is.
func (r *Report) Complete() bool {
	for _, p := range []*Phase{r.Half, r.Naive, r.Scaled} {
		if p != nil && !p.Complete() {
			return false
		}
	}
	return r.Max.Complete()
}

// TotalMicrosPerEvent is the CPU of every measured process per delivered event.
func (p *Phase) TotalMicrosPerEvent() float64 {
	var t float64
	for _, c := range p.CPU {
		t += c.MicrosPerEvent
	}
	return t
}

// WriteText prints a phase for people.
func (p *Phase) WriteText(w io.Writer) {
	f := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	f("  %-9s %d/%d delivered in %.2fs: %.0f delivered/s (%.0f accepted/s)%s", p.Name, p.Delivered, p.Expected, p.Seconds,
		p.DeliveredPerSecond, p.AcceptedPerSecond, paced(p.OfferedPerSecond))
	f("            webhook ack  p50 %.2fms  p90 %.2fms  p99 %.2fms  max %.2fms", p.Ack.P50, p.Ack.P90, p.Ack.P99, p.Ack.Max)
	f("            ingest→app   p50 %.2fms  p90 %.2fms  p99 %.2fms  max %.2fms", p.Latency.P50, p.Latency.P90, p.Latency.P99, p.Latency.Max)
	var parts []string
	for _, c := range p.CPU {
		if c.PID == 0 {
			parts = append(parts, fmt.Sprintf("%s: %s", c.Role, c.Note))
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %.1fµs", c.Role, c.MicrosPerEvent))
	}
	f("            cpu/event    %s; total %.1fµs", strings.Join(parts, ", "), p.TotalMicrosPerEvent())
	f("            load avg     before %s, after %s", p.LoadBefore, p.LoadAfter)
	if !p.Complete() {
		f("            INCOMPLETE   %s", p.problem())
	} else if p.Strays > 0 {
		f("            note         %d deliveries of earlier phases arrived meanwhile", p.Strays)
	}
}

// WriteText prints the whole report for people.
func (r *Report) WriteText(w io.Writer) {
	m := r.Machine
	fmt.Fprintf(w, "neru bench: %d CPUs (%s), %d GiB, %s, %s; redis %s, nats %s\n", m.CPUs, m.CPUModel, m.MemGiB, m.Kernel, m.Go, m.Redis, m.NATS)
	fmt.Fprintf(w, "  register  %d listeners through the SDK in %.2fs: %.0f/s\n", r.Register.Listeners, r.Register.Seconds, r.Register.PerSecond)
	for _, p := range []*Phase{r.Max, r.Half, r.Naive} {
		if p != nil {
			p.WriteText(w)
		}
	}
	for i, rd := range r.Rounds {
		fmt.Fprintf(w, "  round %d   platform %.0f/s, naive %.0f/s: %.2f×\n", i+1, rd.Platform, rd.Naive, rd.Platform/max(rd.Naive, 1))
	}
	if r.Naive != nil && r.Naive.DeliveredPerSecond > 0 {
		fmt.Fprintf(w, "  vs naive  %.2f× its delivered/s, %.2f× its CPU per event\n",
			r.Max.DeliveredPerSecond/r.Naive.DeliveredPerSecond, r.Max.TotalMicrosPerEvent()/max(r.Naive.TotalMicrosPerEvent(), 1e-9))
	}
	if s := r.State; s != nil {
		fmt.Fprintf(w, "  state     %d SDK state ops: %.0f/s; bare echo handler %.0f req/s; ratio %.2f\n", s.Ops, s.StatePerSecond, s.EchoPerSecond, s.Ratio)
	}
	if r.Scaled != nil {
		fmt.Fprintf(w, "  register  %d more listeners through the SDK in %.2fs: %.0f/s\n", r.ScaleRegister.Listeners, r.ScaleRegister.Seconds, r.ScaleRegister.PerSecond)
		r.Scaled.WriteText(w)
		fmt.Fprintf(w, "  scale     %.2f× the delivered/s at %d listeners\n", r.Scaled.DeliveredPerSecond/max(r.Max.DeliveredPerSecond, 1), r.Options.Sessions+r.Options.Listeners)
	}
	if r.Complete() {
		fmt.Fprintln(w, "  complete  every webhook accepted, every delivery arrived once")
	} else {
		fmt.Fprintln(w, "  INCOMPLETE: see above")
	}
}

func statuses(m map[int]int) string {
	if len(m) == 0 {
		return ""
	}
	codes := make([]int, 0, len(m))
	for c := range m {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	var b strings.Builder
	for _, c := range codes {
		fmt.Fprintf(&b, " %d×%d", m[c], c)
	}
	return " (" + strings.TrimSpace(b.String()) + ")"
}

// loadAvg is the first three fields of /proc/loadavg, or "n/a".
func loadAvg() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(raw)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "n/a"
}

func describeMachine(o Options) Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), Redis: "embedded (neru dev)", NATS: "embedded (neru dev)"}
	if o.Target != "" {
		m.Redis, m.NATS = "the target's", "the target's" // not known from here
	}
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(raw), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if raw, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int
		if _, err := fmt.Sscanf(string(raw), "MemTotal: %d kB", &kb); err == nil {
			m.MemGiB = (kb + 1<<19) >> 20
		}
	}
	if raw, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = "Linux " + strings.TrimSpace(string(raw))
	}
	version := func(bin string, args ...string) string {
		out, err := exec.Command(bin, args...).Output()
		if err != nil {
			return "?"
		}
		return strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
	}
	if o.RedisURL != "" {
		m.Redis = redisVersion(o.RedisURL)
	}
	if o.NATSURL != "" {
		if pid := listenerPID(o.NATSURL); pid != 0 {
			if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil {
				m.NATS = version(exe, "--version")
			}
		} else {
			m.NATS = "remote " + o.NATSURL
		}
	}
	return m
}

// redisVersion asks the server (INFO server) for its version.
func redisVersion(url string) string {
	rdb, err := redisx.Open(url)
	if err != nil {
		return "?"
	}
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	info, err := rdb.Info(ctx, "server").Result()
	if err != nil {
		return "? (" + url + ")"
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			return "redis-server " + v
		}
	}
	return "?"
}
