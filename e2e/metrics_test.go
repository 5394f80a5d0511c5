package e2e

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/neru-dev/neru/internal/telemetry"
	"github.com/neru-dev/neru/internal/testenv"
	"github.com/neru-dev/neru/platform"
	"github.com/neru-dev/neru/sdk"
)

// metric is the value of one series (counter, gauge, or a histogram's
// sample count) in reg: name and every label given must match; 0 if absent.
func metric(t *testing.T, reg prometheus.Gatherer, name string, labels ...string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				if !hasLabel(m, labels[i], labels[i+1]) {
					continue series
				}
			}
			switch {
			case m.Counter != nil:
				return m.GetCounter().GetValue()
			case m.Gauge != nil:
				return m.GetGauge().GetValue()
			case m.Histogram != nil:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return 0
}

func hasLabel(m *dto.Metric, name, value string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue() == value
		}
	}
	return false
}

// The metrics move by exactly what happened: a webhook matching one
// listener, its delivery failing once (a retry) and then succeeding; a
// second webhook whose delivery dies (attempts exhausted) and lands in the
// DLQ; an unmatched webhook.
func TestMetricsMoveWithWebhooksRetriesAndTheDLQ(t *testing.T) {
	h := start(t, func(c *platform.Config) { c.Worker.MaxAttempts = 2 })
	m := telemetry.NewMetrics(telemetry.Options{})
	h.p.Instrument(m)
	reg := m.Registry()
	ctx := context.Background()
	s := h.sdk.NewSession()
	if _, err := s.OnMessage(ctx, "/onMessage", sdk.Contact{Type: "sms", Number: "447700906000"}, sdk.Contact{Type: "sms"}); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int64
	h.app.handle("/onMessage", func(w http.ResponseWriter, r *http.Request) {
		if n := calls.Add(1); n == 1 || n >= 3 {
			w.WriteHeader(http.StatusInternalServerError) // 1: retried; 3, 4: the second event dies
		}
	})
	h.startWorker()
	delivered := func() float64 { return metric(t, reg, "neru_deliveries_total", "outcome", "delivered") }
	dead := func() float64 { return metric(t, reg, "neru_deliveries_total", "outcome", "dead") }

	h.webhook("/messages/inbound", inboundSMS("447700906000", ourNumber, "one"))
	testenv.Eventually(t, 30*time.Second, func() bool { return delivered() == 1 }, "one delivered")
	if got := metric(t, reg, "neru_deliveries_total", "outcome", "retried"); got != 1 {
		t.Fatalf("retried = %v, want 1", got)
	}
	if got := metric(t, reg, "neru_webhooks_total", "kind", "messages/inbound", "outcome", "routed"); got != 1 {
		t.Fatalf("routed webhooks = %v, want 1", got)
	}
	if got := metric(t, reg, "neru_listener_matches_total"); got != 1 {
		t.Fatalf("matches = %v, want 1", got)
	}
	if got := metric(t, reg, "neru_webhook_duration_seconds", "kind", "messages/inbound"); got != 1 {
		t.Fatalf("webhook duration samples = %v, want 1", got)
	}
	if got := metric(t, reg, "neru_delivery_latency_seconds"); got != 1 {
		t.Fatalf("latency samples = %v, want 1 (delivered only)", got)
	}
	if got := metric(t, reg, "neru_delivery_attempt_duration_seconds"); got != 2 {
		t.Fatalf("attempt duration samples = %v, want 2", got)
	}
	// The only worker claims every partition (a few per rebalance).
	testenv.Eventually(t, 30*time.Second, func() bool { return metric(t, reg, "neru_partitions_owned") == 16 }, "all 16 partitions owned")
	if got := metric(t, reg, "neru_dlq_messages"); got != 0 {
		t.Fatalf("dlq = %v before any death", got)
	}

	h.webhook("/messages/inbound", inboundSMS("447700906000", ourNumber, "two"))
	testenv.Eventually(t, 30*time.Second, func() bool { return dead() == 1 }, "one dead")
	if got := metric(t, reg, "neru_deliveries_total", "outcome", "retried"); got != 2 {
		t.Fatalf("retried = %v, want 2", got)
	}
	testenv.Eventually(t, 10*time.Second, func() bool { return metric(t, reg, "neru_dlq_messages") == 1 }, "dlq gauge at 1")
	if got := delivered(); got != 1 {
		t.Fatalf("delivered = %v, want still 1", got)
	}

	h.webhook("/messages/inbound", inboundSMS("447700906999", ourNumber, "nobody"))
	if got := metric(t, reg, "neru_webhooks_total", "kind", "messages/inbound", "outcome", "unmatched"); got != 1 {
		t.Fatalf("unmatched webhooks = %v, want 1", got)
	}
	if got := metric(t, reg, "neru_listener_matches_total"); got != 2 {
		t.Fatalf("matches = %v, want 2", got)
	}
	// Go and process collectors are there.
	if metric(t, reg, "go_goroutines") == 0 || metric(t, reg, "process_start_time_seconds") == 0 {
		t.Fatal("no Go or process collector")
	}
}

// An app that stops answering opens its instance's circuit, and the
// neru_circuits_open gauge says so until the app answers again.
func TestCircuitGauge(t *testing.T) {
	h := start(t, func(c *platform.Config) { c.Worker.MaxAttempts = 0 }) // retry until the app is back
	m := telemetry.NewMetrics(telemetry.Options{})
	h.p.Instrument(m)
	reg := m.Registry()
	s := h.sdk.NewSession()
	if _, err := s.OnMessage(context.Background(), "/onMessage", sdk.Contact{Type: "sms", Number: "447700906100"}, sdk.Contact{Type: "sms"}); err != nil {
		t.Fatal(err)
	}
	var down atomic.Bool
	down.Store(true)
	h.app.handle("/onMessage", func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	h.startWorker()
	if got := metric(t, reg, "neru_circuits_open"); got != 0 {
		t.Fatalf("circuits open = %v before any failure", got)
	}
	h.webhook("/messages/inbound", inboundSMS("447700906100", ourNumber, "hello"))
	testenv.Eventually(t, 30*time.Second, func() bool { return metric(t, reg, "neru_circuits_open") == 1 }, "circuit gauge at 1 while the app answers 503")
	down.Store(false)
	testenv.Eventually(t, 30*time.Second, func() bool {
		return metric(t, reg, "neru_deliveries_total", "outcome", "delivered") == 1 && metric(t, reg, "neru_circuits_open") == 0
	}, "not delivered, or the circuit gauge not back at 0, after the app's return")
}

// The queue and scheduler counters move with what the production wiring
// (platform.Queues, platform.Scheduler) does once instrumented: a queue
// item failing once (retried) and then delivered, a one-shot schedule
// fired.
func TestQueueAndScheduleMetricsMove(t *testing.T) {
	h := start(t)
	m := telemetry.NewMetrics(telemetry.Options{})
	h.p.Instrument(m)
	reg := m.Registry()
	items := func(outcome string) float64 { return metric(t, reg, "neru_queue_items_total", "outcome", outcome) }
	fired := func() float64 { return metric(t, reg, "neru_schedules_fired_total", "outcome", "fired") }
	if items("delivered")+items("retried")+items("dead")+fired() != 0 {
		t.Fatal("queue or schedule counters not at 0 at start")
	}
	var calls atomic.Int64
	h.app.handle("/onQueueItem", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	h.mustQueue(http.MethodPost, "/queue", createQueueBody("qm", 1, 100))
	h.startQueues(nil) // platform.Queues
	h.mustQueue(http.MethodPost, "/queue/qm/enqueue", enqueueBody(1, ""))
	testenv.Eventually(t, 30*time.Second, func() bool { return items("delivered") == 1 }, "queue item delivered")
	if got := items("retried"); got != 1 {
		t.Fatalf("queue items retried = %v, want 1", got)
	}
	if got := items("dead"); got != 0 {
		t.Fatalf("queue items dead = %v, want 0", got)
	}

	sched, err := h.p.Scheduler()
	if err != nil {
		t.Fatal(err)
	}
	h.runBackground(sched.Run)
	at := time.Now().Add(200 * time.Millisecond).UTC().Format("2006-01-02T15:04:05.000Z")
	if r := h.sdkPost("vonage-scheduler", "/v2/create", "", mustJSON(schedule("metered", "sess-M", at, nil))); r.Status != 200 {
		t.Fatalf("schedule create: %d %s", r.Status, r.Body)
	}
	testenv.Eventually(t, 30*time.Second, func() bool { return fired() == 1 }, "schedule fired once")
	if got := metric(t, reg, "neru_schedules_fired_total", "outcome", "failed"); got != 0 {
		t.Fatalf("schedules failed = %v, want 0", got)
	}
}
