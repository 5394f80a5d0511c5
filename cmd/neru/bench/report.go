package bench

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
)

// Result is what one run measured. Rates are per second, times in seconds
// unless the name says otherwise.
type Result struct {
	Events            int    `json:"events"`
	Concurrency       int    `json:"concurrency"`
	Listeners         int    `json:"listeners"`
	MatchingListeners int    `json:"matching_listeners"`
	Sessions          int    `json:"sessions"`
	Partitions        int    `json:"partitions"`
	Redis             string `json:"redis"`
	NATS              string `json:"nats"`
	Storage           string `json:"storage"`
	GOMAXPROCS        int    `json:"gomaxprocs"`

	RegisterSeconds   float64 `json:"register_seconds"`
	RegisterPerSecond float64 `json:"register_per_second"`

	Posted            int         `json:"posted"`
	Accepted          int         `json:"accepted"`
	Errors            int         `json:"errors"`           // non-2xx answers
	TransportErrors   int         `json:"transport_errors"` // no answer at all
	Statuses          map[int]int `json:"statuses,omitempty"`
	Unmatched         int         `json:"unmatched"` // accepted with 0 deliveries
	PostSeconds       float64     `json:"post_seconds"`
	AcceptedPerSecond float64     `json:"accepted_per_second"`
	AckLatency        Latency     `json:"ack_latency"` // POST start → gateway's answer

	Expected           int     `json:"expected"` // deliveries the gateway reported stored
	Delivered          int     `json:"delivered"`
	Missing            int     `json:"missing"`
	Duplicates         int     `json:"duplicates"`
	DeliverSeconds     float64 `json:"deliver_seconds"` // first POST → last arrival
	DeliveredPerSecond float64 `json:"delivered_per_second"`
	Latency            Latency `json:"latency"` // POST start → sink arrival
	Retried            int64   `json:"retried"`
	Dead               int64   `json:"dead"`

	RedisPool PoolUse `json:"redis_pool"` // the platform's client, measured phase

	CPUSeconds float64 `json:"cpu_seconds"` // this process, measured phase
	CoresUsed  float64 `json:"cores_used"`
	// RedisCPUSeconds is what an external Redis server spent meanwhile
	// (INFO CPU; 0 in-process or unknown). It counts every client of that
	// server, so on a shared one it is an upper bound.
	RedisCPUSeconds float64 `json:"redis_cpu_seconds"`
	// CPUPerEventUs is (CPUSeconds + RedisCPUSeconds) per delivered event:
	// the CPU one event costs, whatever else runs on the machine.
	CPUPerEventUs float64 `json:"cpu_per_event_us"`
	LoadBefore    string  `json:"load_before"` // /proc/loadavg
	LoadAfter     string  `json:"load_after"`

	CleanupKeys    int     `json:"cleanup_keys,omitempty"`
	CleanupSeconds float64 `json:"cleanup_seconds,omitempty"`
}

// PoolUse is how the platform's Redis connection pool fared.
type PoolUse struct {
	Conns  int     `json:"conns"`   // open at the end
	Waits  int     `json:"waits"`   // times a command waited for a free connection
	WaitMs float64 `json:"wait_ms"` // total time commands spent waiting
}

// Complete reports whether every posted webhook was accepted and every
// stored delivery arrived exactly once.
func (r *Result) Complete() bool {
	return r.Accepted == r.Posted && r.Posted == r.Events && r.Missing == 0 && r.Duplicates == 0 &&
		r.Unmatched == 0 && r.Delivered == r.Expected
}

// WriteText prints r for people.
func (r *Result) WriteText(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("neru bench: %d webhooks, %d posters, %d listeners (%d matching, over %d sessions), %d partitions, GOMAXPROCS %d",
		r.Events, r.Concurrency, r.Listeners, r.MatchingListeners, r.Sessions, r.Partitions, r.GOMAXPROCS)
	p("  redis         %s", r.Redis)
	p("  nats          %s, %s storage", r.NATS, r.Storage)
	p("  registration  %d listeners in %.2fs (%.0f/s)", r.Listeners, r.RegisterSeconds, r.RegisterPerSecond)
	p("  posted        %d webhooks in %.2fs: %.0f accepted/s; non-2xx %d, transport errors %d%s",
		r.Posted, r.PostSeconds, r.AcceptedPerSecond, r.Errors, r.TransportErrors, statuses(r.Statuses))
	p("  gateway ack   p50 %.2fms  p90 %.2fms  p99 %.2fms  max %.2fms", r.AckLatency.P50, r.AckLatency.P90, r.AckLatency.P99, r.AckLatency.Max)
	p("  delivered     %d/%d in %.2fs: %.0f deliveries/s end to end; missing %d, duplicates %d, unmatched webhooks %d",
		r.Delivered, r.Expected, r.DeliverSeconds, r.DeliveredPerSecond, r.Missing, r.Duplicates, r.Unmatched)
	p("  ingest→sink   p50 %.2fms  p90 %.2fms  p99 %.2fms  max %.2fms", r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.Max)
	p("  worker        retried %d, dead %d", r.Retried, r.Dead)
	p("  redis pool    %d connections; %d waits for a free one, %.0fms waiting in total", r.RedisPool.Conns, r.RedisPool.Waits, r.RedisPool.WaitMs)
	p("  cpu           %.2fs in the measured phase = %.2f cores; redis-server %.2fs; %.0fµs per event (%.0f events/s per 2 cores of CPU alone)",
		r.CPUSeconds, r.CoresUsed, r.RedisCPUSeconds, r.CPUPerEventUs, 2e6/max(r.CPUPerEventUs, 1))
	p("  load average  before %s; after %s", r.LoadBefore, r.LoadAfter)
	if r.CleanupKeys > 0 {
		p("  cleanup       %d keys deleted in %.2fs", r.CleanupKeys, r.CleanupSeconds)
	}
	if r.Complete() {
		p("  complete      every webhook accepted, every delivery arrived once")
	} else {
		p("  INCOMPLETE    see errors, missing and duplicates above")
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
		return strings.Join(f[:3], " ") + fmt.Sprintf(" (%d CPUs)", runtime.NumCPU())
	}
	return "n/a"
}
