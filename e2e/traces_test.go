package e2e

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/neru-dev/neru/internal/testenv"
	"github.com/neru-dev/neru/platform"
	"github.com/neru-dev/neru/sdk"
)

// Spans go to one in-memory exporter, installed as the global tracer
// provider once for the package: otel's global delegation follows only the
// first provider set. Every test after it records spans too; each trace
// test picks its own by trace id.
var (
	spansOnce sync.Once
	spans     *tracetest.InMemoryExporter
)

func recordSpans() *tracetest.InMemoryExporter {
	spansOnce.Do(func() {
		spans = tracetest.NewInMemoryExporter()
		otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans)))
	})
	return spans
}

// traceSpans are the ended spans of one trace, by name.
func traceSpans(id trace.TraceID) map[string][]tracetest.SpanStub {
	out := map[string][]tracetest.SpanStub{}
	for _, s := range spans.GetSpans() {
		if s.SpanContext.TraceID() == id {
			out[s.Name] = append(out[s.Name], s)
		}
	}
	return out
}

func attr(s tracetest.SpanStub, key string) attribute.Value {
	for _, kv := range s.Attributes {
		if string(kv.Key) == key {
			return kv.Value
		}
	}
	return attribute.Value{}
}

// parseTraceparent splits a W3C traceparent header ("00-<trace>-<span>-<flags>").
func parseTraceparent(t *testing.T, h string) (trace.TraceID, trace.SpanID) {
	t.Helper()
	parts := strings.Split(h, "-")
	if len(parts) != 4 || parts[0] != "00" {
		t.Fatalf("traceparent %q is not W3C version 00", h)
	}
	tid, err1 := trace.TraceIDFromHex(parts[1])
	sid, err2 := trace.SpanIDFromHex(parts[2])
	if err1 != nil || err2 != nil {
		t.Fatalf("traceparent %q: %v %v", h, err1, err2)
	}
	return tid, sid
}

// traceparents records the traceparent of every request on path.
func (h *harness) traceparents(path string, status func(n int64) int) func() []string {
	var mu sync.Mutex
	var got []string
	var n atomic.Int64
	h.app.handle(path, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("traceparent"))
		mu.Unlock()
		if code := status(n.Add(1)); code != http.StatusOK {
			w.WriteHeader(code)
		}
	})
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got...)
	}
}

// One webhook is one trace: its server span, the match and the publish as
// its children, and each delivery attempt as a child of the publish, with
// the session, instance, attempt, status and outcome; a failed attempt is
// an error. Every request the app got carried the traceparent of its own
// attempt span.
func TestTraceFromWebhookToApp(t *testing.T) {
	recordSpans()
	h := start(t)
	ctx := context.Background()
	s := h.sdk.NewSession()
	if _, err := s.OnMessage(ctx, "/onMessage", sdk.Contact{Type: "sms", Number: "447700907000"}, sdk.Contact{Type: "sms"}); err != nil {
		t.Fatal(err)
	}
	got := h.traceparents("/onMessage", func(n int64) int {
		if n == 1 {
			return http.StatusInternalServerError // the first attempt fails: retried
		}
		return http.StatusOK
	})
	h.startWorker()
	if code, body := h.webhook("/messages/inbound", inboundSMS("447700907000", ourNumber, "hello")); code != 200 {
		t.Fatalf("webhook: %d %s", code, body)
	}
	testenv.Eventually(t, 30*time.Second, func() bool { return len(got()) == 2 }, "the app got the failed attempt and its retry")
	tps := got()
	tid, firstSpan := parseTraceparent(t, tps[0])
	tid2, secondSpan := parseTraceparent(t, tps[1])
	if tid2 != tid || firstSpan == secondSpan {
		t.Fatalf("the two attempts' traceparents %v: want one trace, two spans", tps)
	}

	var byName map[string][]tracetest.SpanStub
	testenv.Eventually(t, 10*time.Second, func() bool {
		byName = traceSpans(tid)
		return len(byName["delivery attempt"]) == 2 && len(byName["POST /webhooks/:app/messages/inbound"]) == 1
	}, "webhook and two attempt spans exported")
	one := func(name string) tracetest.SpanStub {
		if len(byName[name]) != 1 {
			t.Fatalf("%d %q spans in the trace, want 1; spans: %v", len(byName[name]), name, byName)
		}
		return byName[name][0]
	}
	webhook, match, publish := one("POST /webhooks/:app/messages/inbound"), one("match"), one("publish NERU_EVENTS")
	if webhook.SpanKind != trace.SpanKindServer || webhook.Parent.IsValid() {
		t.Fatalf("webhook span: kind %v, parent %v; want a server span at the root", webhook.SpanKind, webhook.Parent)
	}
	if attr(webhook, "http.response.status_code").AsInt64() != 200 || attr(webhook, "neru.webhook.outcome").AsString() != "routed" ||
		attr(webhook, "neru.instance.id").AsString() != "e2e" || attr(webhook, "http.route").AsString() != "/webhooks/:app/messages/inbound" {
		t.Fatalf("webhook span attributes: %v", webhook.Attributes)
	}
	for _, child := range []tracetest.SpanStub{match, publish} {
		if child.Parent.SpanID() != webhook.SpanContext.SpanID() {
			t.Fatalf("%s span's parent is %v, want the webhook span %v", child.Name, child.Parent.SpanID(), webhook.SpanContext.SpanID())
		}
	}
	if attr(match, "neru.listeners.matched").AsInt64() != 1 || publish.SpanKind != trace.SpanKindProducer ||
		attr(publish, "messaging.destination.name").AsString() != "NERU_EVENTS" {
		t.Fatalf("match %v / publish %v %v", match.Attributes, publish.SpanKind, publish.Attributes)
	}

	for i, want := range []struct {
		span    trace.SpanID
		status  int64
		outcome string
		code    codes.Code
	}{{firstSpan, 500, "retried", codes.Error}, {secondSpan, 200, "delivered", codes.Unset}} {
		var a *tracetest.SpanStub
		for j := range byName["delivery attempt"] {
			if byName["delivery attempt"][j].SpanContext.SpanID() == want.span {
				a = &byName["delivery attempt"][j]
			}
		}
		if a == nil {
			t.Fatalf("attempt %d: the app got traceparent span %v, which is no attempt span of the trace", i+1, want.span)
		}
		if a.Parent.SpanID() != publish.SpanContext.SpanID() {
			t.Fatalf("attempt %d's parent is %v, want the publish span", i+1, a.Parent.SpanID())
		}
		if attr(*a, "neru.session.id").AsString() != s.ID || attr(*a, "neru.instance.id").AsString() != "e2e" ||
			attr(*a, "neru.delivery.attempt").AsInt64() != int64(i+1) || attr(*a, "http.response.status_code").AsInt64() != want.status ||
			attr(*a, "neru.delivery.outcome").AsString() != want.outcome || a.Status.Code != want.code {
			t.Fatalf("attempt %d span: status %v, attributes %v; want session %s, attempt %d, %d, %s, %v",
				i+1, a.Status, a.Attributes, s.ID, i+1, want.status, want.outcome, want.code)
		}
	}
}

// A traceparent the provider sent is continued: the webhook span is its
// child, and the app gets the same trace id.
func TestTraceContinuesTheProvidersTraceparent(t *testing.T) {
	recordSpans()
	h := start(t)
	s := h.sdk.NewSession()
	if _, err := s.OnMessage(context.Background(), "/onMessage", sdk.Contact{Type: "sms", Number: "447700907100"}, sdk.Contact{Type: "sms"}); err != nil {
		t.Fatal(err)
	}
	got := h.traceparents("/onMessage", func(int64) int { return http.StatusOK })
	h.startWorker()
	const providerTrace, providerSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	req, err := http.NewRequest(http.MethodPost, h.gateway.URL+"/webhooks/"+appID+"/messages/inbound",
		bytes.NewReader(inboundSMS("447700907100", ourNumber, "traced")))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-"+providerTrace+"-"+providerSpan+"-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("webhook: %d", resp.StatusCode)
	}
	testenv.Eventually(t, 30*time.Second, func() bool { return len(got()) == 1 }, "the app got the delivery")
	tid, _ := parseTraceparent(t, got()[0])
	if tid.String() != providerTrace {
		t.Fatalf("the app got trace %s, want the provider's %s", tid, providerTrace)
	}
	var webhook []tracetest.SpanStub
	testenv.Eventually(t, 10*time.Second, func() bool {
		webhook = traceSpans(tid)["POST /webhooks/:app/messages/inbound"]
		return len(webhook) == 1
	}, "the webhook span in the provider's trace")
	if p := webhook[0].Parent; p.SpanID().String() != providerSpan || !p.IsRemote() {
		t.Fatalf("webhook span's parent %v (remote %v), want the provider's span %s", p.SpanID(), p.IsRemote(), providerSpan)
	}
}

// A replayed dead delivery starts a new trace linked to the original one:
// the app gets the replay's traceparent, not the days-old webhook's.
func TestTraceOfAReplayLinksTheOriginal(t *testing.T) {
	recordSpans()
	h := start(t, func(c *platform.Config) { c.Worker.MaxAttempts = 1 })
	ctx := context.Background()
	s := h.sdk.NewSession()
	if _, err := s.OnMessage(ctx, "/onMessage", sdk.Contact{Type: "sms", Number: "447700907200"}, sdk.Contact{Type: "sms"}); err != nil {
		t.Fatal(err)
	}
	got := h.traceparents("/onMessage", func(n int64) int {
		if n == 1 {
			return http.StatusServiceUnavailable // dies: one attempt only
		}
		return http.StatusOK
	})
	h.startWorker()
	h.webhook("/messages/inbound", inboundSMS("447700907200", ourNumber, "doomed"))
	testenv.Eventually(t, 30*time.Second, func() bool { return len(h.dead("")) == 1 }, "the delivery in the DLQ")
	if n, err := h.p.DLQ.ReplayAll(ctx, "e2e", ""); err != nil || n != 1 {
		t.Fatalf("replay: %d %v", n, err)
	}
	testenv.Eventually(t, 30*time.Second, func() bool { return len(got()) == 2 }, "the replay delivered")
	original, _ := parseTraceparent(t, got()[0])
	replayed, _ := parseTraceparent(t, got()[1])
	if original == replayed {
		t.Fatalf("the replay was delivered in the original trace %s", original)
	}
	var replay []tracetest.SpanStub
	testenv.Eventually(t, 10*time.Second, func() bool {
		replay = traceSpans(replayed)["replay NERU_DLQ"]
		return len(replay) == 1
	}, "a replay span in the replay's trace")
	if len(replay[0].Links) != 1 || replay[0].Links[0].SpanContext.TraceID() != original {
		t.Fatalf("replay span links %v, want one to the original trace %s", replay[0].Links, original)
	}
}
