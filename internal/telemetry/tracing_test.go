package telemetry

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// otelEnv are the variables StartTracing reads; each test sets them from
// empty, so what the machine's environment says does not leak in.
var otelEnv = []string{"OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT",
	"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
	"OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES"}

func setEnv(t *testing.T, kv map[string]string) {
	for _, k := range otelEnv {
		t.Setenv(k, kv[k])
	}
}

// collector is a fake OTLP receiver: the export requests it got.
type collector struct {
	mu  sync.Mutex
	got []*coltracepb.ExportTraceServiceRequest
}

func (c *collector) add(r *coltracepb.ExportTraceServiceRequest) {
	c.mu.Lock()
	c.got = append(c.got, r)
	c.mu.Unlock()
}

// spans lists "service.name/span name" of every span received.
func (c *collector) spans() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, r := range c.got {
		for _, rs := range r.GetResourceSpans() {
			service := ""
			for _, kv := range rs.GetResource().GetAttributes() {
				if kv.GetKey() == "service.name" {
					service = kv.GetValue().GetStringValue()
				}
			}
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					out = append(out, service+"/"+s.GetName())
				}
			}
		}
	}
	return out
}

// httpCollector serves OTLP/HTTP (protobuf) at /v1/traces.
func httpCollector(t *testing.T) (*collector, string) {
	c := &collector{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := &coltracepb.ExportTraceServiceRequest{}
		if r.URL.Path != "/v1/traces" || proto.Unmarshal(body, req) != nil {
			t.Errorf("collector: %s %s, %d bytes: not an OTLP trace export", r.Method, r.URL.Path, len(body))
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		c.add(req)
		w.Header().Set("Content-Type", "application/x-protobuf")
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		_, _ = w.Write(out)
	}))
	t.Cleanup(srv.Close)
	return c, srv.URL
}

type grpcCollector struct {
	coltracepb.UnimplementedTraceServiceServer
	c *collector
}

func (g grpcCollector) Export(_ context.Context, r *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	g.c.add(r)
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

func emit(t *testing.T, tp trace.TracerProvider, name string) {
	t.Helper()
	_, span := tp.Tracer("test").Start(context.Background(), name)
	span.End()
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// Without an OTLP endpoint, or with OTEL_TRACES_EXPORTER=none or
// OTEL_SDK_DISABLED=true, tracing is off: the global tracer provider stays
// the no-op one, its spans do not record and have no context to
// propagate, nothing reaches a collector, and Shutdown is harmless.
func TestTracingIsANoOpWithoutEndpoint(t *testing.T) {
	c, url := httpCollector(t)
	for _, env := range []map[string]string{
		{},
		{"OTEL_SERVICE_NAME": "x", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, // no endpoint: still off
		{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": url},
		{"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": url + "/v1/traces"},
	} {
		setEnv(t, env)
		tr, err := StartTracing(context.Background(), "neru-test", quiet)
		if err != nil {
			t.Fatalf("%v: %v", env, err)
		}
		if tr.Enabled || tr.Exporter != "off" {
			t.Fatalf("%v: tracing %+v, want off", env, tr)
		}
		_, span := otel.Tracer("test").Start(context.Background(), "not recorded")
		if span.IsRecording() || span.SpanContext().IsValid() {
			t.Fatalf("%v: the global provider's span records (%v) or has a context (%v)", env, span.IsRecording(), span.SpanContext())
		}
		span.End()
		emit(t, tr.Provider(), "not recorded either")
		if err := tr.Shutdown(context.Background()); err != nil {
			t.Fatalf("%v: shutdown: %v", env, err)
		}
	}
	if got := c.spans(); len(got) != 0 {
		t.Fatalf("the collector got %v with tracing off", got)
	}
}

// With an endpoint, spans are exported by OTLP over HTTP (the default
// protocol) or gRPC, flushed by Shutdown, with the binary's service name
// unless OTEL_SERVICE_NAME gives another.
func TestTracingExportsOTLP(t *testing.T) {
	hc, hurl := httpCollector(t)
	gc := &collector{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(gs, grpcCollector{c: gc})
	go func() { _ = gs.Serve(l) }()
	t.Cleanup(gs.Stop)

	for _, tc := range []struct {
		env  map[string]string
		c    *collector
		want string
	}{
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": hurl}, hc, "neru-test/http"},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": hurl + "/v1/traces", "OTEL_SERVICE_NAME": "edge-1"}, hc, "edge-1/http traces endpoint"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + l.Addr().String(), "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, gc, "neru-test/grpc"},
	} {
		setEnv(t, tc.env)
		tr, err := newTracing(context.Background(), "neru-test", func(k string) string { return tc.env[k] })
		if err != nil {
			t.Fatalf("%v: %v", tc.env, err)
		}
		if !tr.Enabled || !strings.HasPrefix(tr.Exporter, "OTLP ") {
			t.Fatalf("%v: tracing %+v, want OTLP", tc.env, tr)
		}
		emit(t, tr.Provider(), strings.SplitN(tc.want, "/", 2)[1])
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = tr.Shutdown(ctx)
		cancel()
		if err != nil {
			t.Fatalf("%v: shutdown: %v", tc.env, err)
		}
		found := false
		for _, s := range tc.c.spans() {
			found = found || s == tc.want
		}
		if !found {
			t.Fatalf("%v: collector got %v, want %s", tc.env, tc.c.spans(), tc.want)
		}
	}
}

// Settings tracing cannot honour stop the process at start, naming the
// variable.
func TestTracingRefusesWhatItCannotDo(t *testing.T) {
	for _, env := range []map[string]string{
		{"OTEL_TRACES_EXPORTER": "zipkin", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"},
		{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"},
		{"OTEL_SDK_DISABLED": "maybe"},
	} {
		_, err := newTracing(context.Background(), "neru-test", func(k string) string { return env[k] })
		named := false
		for k := range env {
			named = named || (err != nil && strings.Contains(err.Error(), k) && k != "OTEL_EXPORTER_OTLP_ENDPOINT")
		}
		if !named {
			t.Fatalf("%v: err %v, want a refusal naming the variable", env, err)
		}
	}
}

// The start line names where spans go, never credentials in the endpoint.
func TestRedactEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:secret@otel.example:4318/v1/traces?token=t": "https://otel.example:4318/v1/traces",
		"http://127.0.0.1:4318":                                   "http://127.0.0.1:4318",
		"collector:4317":                                          "collector:4317",
	} {
		if got := redact(in); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// A span context survives a NATS message's headers; a context without one
// leaves them alone; injecting replaces an old tracestate.
func TestMsgCarrier(t *testing.T) {
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ts, _ := trace.ParseTraceState("neru=1")
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled, TraceState: ts})
	h := nats.Header{}
	InjectMsg(context.Background(), h)
	if len(h) != 0 {
		t.Fatalf("no span context, headers %v", h)
	}
	h.Set(HeaderTracestate, "old=1")
	InjectMsg(trace.ContextWithSpanContext(context.Background(), sc), h)
	if h.Get(HeaderTraceparent) != "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" || h.Get(HeaderTracestate) != "neru=1" {
		t.Fatalf("headers %v", h)
	}
	got := trace.SpanContextFromContext(ExtractMsg(context.Background(), h))
	if got.TraceID() != tid || got.SpanID() != sid || !got.IsRemote() || got.TraceState().Get("neru") != "1" {
		t.Fatalf("extracted %v", got)
	}
	if ctx := context.Background(); ExtractMsg(ctx, nats.Header{}) != ctx {
		t.Fatal("extracting from headers without traceparent made a new context")
	}

	// Without a span of its own, InjectMsg leaves the old tracestate too.
	h = nats.Header{}
	h.Set(HeaderTracestate, "old=1")
	InjectMsg(context.Background(), h)
	if h.Get(HeaderTracestate) != "old=1" {
		t.Fatalf("headers %v", h)
	}
	hh := http.Header{}
	InjectHTTP(trace.ContextWithSpanContext(context.Background(), sc), hh)
	if got := trace.SpanContextFromContext(ExtractHTTP(context.Background(), hh)); got.SpanID() != sid {
		t.Fatalf("http round trip: %v from %v", got, hh)
	}
}
