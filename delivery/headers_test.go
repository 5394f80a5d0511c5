package delivery

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/neru-dev/neru/instance"
	"github.com/neru-dev/neru/internal/httpx"
)

// Extra headers travel on the JetStream message and reach the app, without
// overriding the platform's own headers.
func TestExtraHeaders(t *testing.T) {
	d := &Delivery{
		ID: "d1", InstanceID: "inst", SessionID: "s1", ListenerID: "l1", Path: "onSchedule", Kind: "scheduler.fire",
		AcceptedAt: time.Unix(0, 42), Body: []byte(`{}`),
		Headers: map[string]string{"X-Neru-Scheduler-RequestHash": "abc", HeaderSession: "spoofed"},
	}
	m := d.Msg(4)
	got, err := FromMsg(m.Header, m.Data)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Headers) != 2 || got.Headers["X-Neru-Scheduler-RequestHash"] != "abc" {
		t.Fatalf("headers after the round trip: %v", got.Headers)
	}
	dead, err := FromMsg(got.DeadMsg(7).Header, nil)
	if err != nil || dead.Headers["X-Neru-Scheduler-RequestHash"] != "abc" {
		t.Fatalf("dead message headers: %v %v", dead, err)
	}
	if plain, _ := FromMsg((&Delivery{ID: "d", InstanceID: "i", SessionID: "s", Path: "p"}).Msg(1).Header, nil); plain.Headers != nil {
		t.Fatalf("a delivery without extra headers decodes with %v", plain.Headers)
	}

	var hdr http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hdr = r.Header }))
	defer srv.Close()
	if _, err := NewClient(time.Second, httpx.Loopback, nil).Post(context.Background(), &instance.Instance{ID: "inst", BaseURL: srv.URL}, got, 1, 0); err != nil {
		t.Fatal(err)
	}
	if hdr.Get("X-Neru-Scheduler-RequestHash") != "abc" || hdr.Get(HeaderSession) != "s1" || hdr.Get(HeaderDelivery) != "d1" {
		t.Fatalf("app got %v", hdr)
	}

	// Without the app's network listed, the same request is refused at dial
	// time, and the error names the setting that would allow it.
	hdr = nil
	_, err = NewClient(time.Second, nil, nil).Post(context.Background(), &instance.Instance{ID: "inst", BaseURL: srv.URL}, got, 1, 0)
	var re *httpx.RefusedError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "NERU_APP_NETWORKS") || hdr != nil {
		t.Fatalf("loopback app without NERU_APP_NETWORKS: err %v, app got %v", err, hdr)
	}
}

// The trace context a delivery's message carries survives decoding and the
// DLQ (DeadMsg writes it again), and the app gets the traceparent of the
// span in the request's context, not the message's.
func TestTraceContextTravelsWithTheDelivery(t *testing.T) {
	const msgParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	m := (&Delivery{ID: "d1", InstanceID: "inst", SessionID: "s1", Path: "onMessage", AcceptedAt: time.Unix(0, 1),
		Traceparent: msgParent, Tracestate: "neru=1"}).Msg(4)
	d, err := FromMsg(m.Header, m.Data)
	if err != nil || d.Traceparent != msgParent || d.Tracestate != "neru=1" {
		t.Fatalf("decoded %+v, %v", d, err)
	}
	dead, err := FromMsg(d.DeadMsg(3).Header, nil)
	if err != nil || dead.Traceparent != msgParent || dead.Tracestate != "neru=1" {
		t.Fatalf("dead message decoded %+v, %v", dead, err)
	}
	if plain := (&Delivery{ID: "d", InstanceID: "i", SessionID: "s", Path: "p"}).Msg(1); plain.Header.Get("traceparent") != "" {
		t.Fatalf("a delivery without trace context got %v", plain.Header)
	}

	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.Header }))
	defer srv.Close()
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("b7ad6b7169203331")
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}))
	in := &instance.Instance{ID: "inst", BaseURL: srv.URL}
	if _, err := NewClient(time.Second, httpx.Loopback, nil).Post(ctx, in, d, 1, 0); err != nil {
		t.Fatal(err)
	}
	if tp := got.Get("traceparent"); tp != "00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01" || got.Get("tracestate") != "" {
		t.Fatalf("the app got traceparent %q tracestate %q, want the attempt's span", tp, got.Get("tracestate"))
	}
	// No span in the context: no traceparent (tracing off, nothing came in).
	if _, err := NewClient(time.Second, httpx.Loopback, nil).Post(context.Background(), in, d, 1, 0); err != nil {
		t.Fatal(err)
	}
	if tp := got.Get("traceparent"); tp != "" {
		t.Fatalf("the app got traceparent %q without a span", tp)
	}
}
