package telemetry

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/neru-dev/neru/internal/observe"
)

// instanceLabel is the label of instance ids, when they are asked for.
const instanceLabel = "neru_instance"

// Metrics is the registry of one process and the platform's metrics in it.
// It implements observe.Observer. Safe for concurrent use.
type Metrics struct {
	reg          *prometheus.Registry
	withInstance bool

	webhooks    *children // kind, outcome[, instance]
	webhookTime *histograms
	matches     prometheus.Counter
	deliveries  *children // outcome[, instance]
	attemptTime prometheus.Histogram
	latency     prometheus.Histogram
	sdk         *children // provider, code
	queueItems  *children // outcome
	schedules   *children // outcome

	// Read at each scrape; set by the platform once it has the streams and
	// the workers (Gauges).
	dlq, partitions, lanes, circuits gauge
}

// gauge is a GaugeFunc whose function is set after registration.
type gauge struct {
	fn atomic.Pointer[func() float64]
}

func (g *gauge) value() float64 {
	if f := g.fn.Load(); f != nil {
		return (*f)()
	}
	return 0
}

// Gauges are the functions of the gauges read at each scrape. They must be
// quick (they run on the scrape): bound any I/O.
type Gauges struct {
	DLQ        func() float64 // messages in NERU_DLQ
	Partitions func() float64 // partitions this process's workers own
	Lanes      func() float64 // session lanes running
	Circuits   func() float64 // instances whose app this process sees down (circuit open)
}

// SetGauges sets the gauges' functions; a nil one is left as it was.
func (m *Metrics) SetGauges(g Gauges) {
	for _, x := range []struct {
		g  *gauge
		fn func() float64
	}{{&m.dlq, g.DLQ}, {&m.partitions, g.Partitions}, {&m.lanes, g.Lanes}, {&m.circuits, g.Circuits}} {
		if x.fn != nil {
			x.g.fn.Store(&x.fn)
		}
	}
}

// Options configure Metrics.
type Options struct {
	// InstanceLabel adds the instance id (label neru_instance) to the
	// webhook and delivery counters: one series per instance, so only for
	// an operator who asks (NERU_METRICS_INSTANCE_LABEL).
	InstanceLabel bool
}

// Buckets of the latency histograms, in seconds: a webhook or an attempt
// takes milliseconds; an end-to-end latency includes retries (minutes).
var (
	fastBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 15}
	slowBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 15, 60, 300, 1800, 7200}
)

// NewMetrics returns a registry with the Go and process collectors and
// every neru_* metric.
func NewMetrics(o Options) *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{reg: reg, withInstance: o.InstanceLabel}
	inst := func(labels ...string) []string {
		if o.InstanceLabel {
			return append(labels, instanceLabel)
		}
		return labels
	}
	m.webhooks = newChildren(reg, prometheus.CounterOpts{
		Name: "neru_webhooks_total",
		Help: "Provider webhooks answered, by webhook route (kind) and outcome (routed, unmatched, answered, fallback, unknown_app, rejected, unavailable, error).",
	}, inst("kind", "outcome")...)
	m.webhookTime = newHistograms(reg, prometheus.HistogramOpts{
		Name: "neru_webhook_duration_seconds", Help: "Time from receiving a webhook to answering it, by webhook route.",
		Buckets: fastBuckets,
	}, "kind")
	m.matches = promauto(reg, prometheus.NewCounter(prometheus.CounterOpts{
		Name: "neru_listener_matches_total", Help: "Listeners matched by webhooks (one delivery each).",
	}))
	m.deliveries = newChildren(reg, prometheus.CounterOpts{
		Name: "neru_deliveries_total",
		Help: "Finished delivery attempts by outcome: delivered (2xx), retried, dead (out of attempts or age: DLQ), refused (permanent 4xx, egress refused or instance gone: DLQ at once).",
	}, inst("outcome")...)
	m.attemptTime = promauto(reg, prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "neru_delivery_attempt_duration_seconds", Help: "Duration of one delivery attempt (request to the app's answer).",
		Buckets: fastBuckets,
	}))
	m.latency = promauto(reg, prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "neru_delivery_latency_seconds", Help: "Time from the gateway accepting an event to the app answering 2xx, retries included.",
		Buckets: slowBuckets,
	}))
	m.sdk = newChildren(reg, prometheus.CounterOpts{
		Name: "neru_sdk_commands_total", Help: "SDK command endpoint requests by provider and HTTP status.",
	}, "provider", "code")
	m.queueItems = newChildren(reg, prometheus.CounterOpts{
		Name: "neru_queue_items_total", Help: "Queue item dispatches by outcome (delivered, retried, dead).",
	}, "outcome")
	m.schedules = newChildren(reg, prometheus.CounterOpts{
		Name: "neru_schedules_fired_total", Help: "Schedule invocations by outcome (fired: published on the event stream; failed: not published, fired again).",
	}, "outcome")
	for _, g := range []struct {
		g          *gauge
		name, help string
	}{
		{&m.dlq, "neru_dlq_messages", "Dead deliveries waiting in NERU_DLQ (all instances)."},
		{&m.partitions, "neru_partitions_owned", "Event partitions this process's workers own."},
		{&m.lanes, "neru_session_lanes", "Session lanes running in this process (sessions with a delivery in flight or queued)."},
		{&m.circuits, "neru_circuits_open", "Instances whose app this process's workers see down: their circuit is open and one probe at a time goes through (admin API: /instances/<id>/circuit)."},
	} {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: g.name, Help: g.help}, g.g.value))
	}
	// Series that dashboards rate() exist from the start, at 0.
	if !m.withInstance {
		for _, o := range []string{observe.Delivered, observe.Retried, observe.Dead, observe.Refused} {
			m.deliveries.get(o, "", "")
		}
	}
	for _, o := range []string{"delivered", "retried", "dead"} {
		m.queueItems.get(o, "", "")
	}
	for _, o := range []string{"fired", "failed"} {
		m.schedules.get(o, "", "")
	}
	return m
}

func promauto[C prometheus.Collector](reg *prometheus.Registry, c C) C {
	reg.MustRegister(c)
	return c
}

// Registry is where the metrics are, for /metrics and for tests.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Webhook implements observe.Observer.
func (m *Metrics) Webhook(_ context.Context, w observe.Webhook) {
	m.webhooks.get(w.Route, w.Outcome, m.instance(w.Instance)).Inc()
	m.webhookTime.get(w.Route).Observe(w.Duration.Seconds())
	if len(w.Matched) > 0 {
		m.matches.Add(float64(len(w.Matched)))
	}
}

// Attempt implements observe.Observer.
func (m *Metrics) Attempt(_ context.Context, a observe.Attempt) {
	m.deliveries.get(a.Outcome, m.instance(a.Instance), "").Inc()
	if a.Duration > 0 {
		m.attemptTime.Observe(a.Duration.Seconds())
	}
	if a.Outcome == observe.Delivered && !a.Accepted.IsZero() {
		m.latency.Observe(a.Start.Add(a.Duration).Sub(a.Accepted).Seconds())
	}
}

// instance is the instance label value: "" unless asked for (and then the
// children key ignores it).
func (m *Metrics) instance(id string) string {
	if !m.withInstance {
		return ""
	}
	return id
}

// SDKCommand counts one SDK command endpoint request.
func (m *Metrics) SDKCommand(provider string, status int) {
	m.sdk.get(provider, statusText(status), "").Inc()
}

// QueueItem counts one queue item dispatch: "delivered", "retried" or "dead"
// (queue.Metrics).
func (m *Metrics) QueueItem(outcome string) { m.queueItems.get(outcome, "", "").Inc() }

// ScheduleFired counts one schedule invocation: "fired" or "failed"
// (scheduler.Metrics).
func (m *Metrics) ScheduleFired(outcome string) { m.schedules.get(outcome, "", "").Inc() }

// statusText is a status code as a label value without allocating for the
// common ones.
func statusText(code int) string {
	switch code {
	case 200:
		return "200"
	case 201:
		return "201"
	case 204:
		return "204"
	case 400:
		return "400"
	case 401:
		return "401"
	case 403:
		return "403"
	case 404:
		return "404"
	case 429:
		return "429"
	case 500:
		return "500"
	case 503:
		return "503"
	}
	return strconv.Itoa(code)
}

// resolved keeps a metric vector's label children once resolved:
// WithLabelValues hashes the values and allocates their slice on every
// call, so each combination is resolved once and kept, and a hot-path
// increment is a map read under a read lock. The label sets are bounded
// (see the package doc), so the map is.
type resolved[K comparable, V any] struct {
	resolve func(K) V
	mu      sync.RWMutex
	m       map[K]V
}

func (r *resolved[K, V]) get(k K) V {
	r.mu.RLock()
	x, ok := r.m[k]
	r.mu.RUnlock()
	if ok {
		return x
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if x, ok := r.m[k]; ok {
		return x
	}
	x = r.resolve(k)
	r.m[k] = x
	return x
}

// children is a counter vector of up to 3 labels, its children resolved once.
type children struct {
	resolved[[3]string, prometheus.Counter]
}

func newChildren(reg *prometheus.Registry, o prometheus.CounterOpts, labels ...string) *children {
	vec := prometheus.NewCounterVec(o, labels)
	reg.MustRegister(vec)
	n := len(labels) // the key holds up to 3; the vector takes the first n
	return &children{resolved[[3]string, prometheus.Counter]{m: map[[3]string]prometheus.Counter{},
		resolve: func(k [3]string) prometheus.Counter { return vec.WithLabelValues(k[:n]...) }}}
}

// get is the child of label values a, b and d (the unused ones "").
func (c *children) get(a, b, d string) prometheus.Counter {
	return c.resolved.get([3]string{a, b, d})
}

// histograms is a histogram vector of one label, its children resolved once.
type histograms struct {
	resolved[string, prometheus.Observer]
}

func newHistograms(reg *prometheus.Registry, o prometheus.HistogramOpts, label string) *histograms {
	vec := prometheus.NewHistogramVec(o, []string{label})
	reg.MustRegister(vec)
	return &histograms{resolved[string, prometheus.Observer]{m: map[string]prometheus.Observer{},
		resolve: func(v string) prometheus.Observer { return vec.WithLabelValues(v) }}}
}
