package telemetry

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/neru-dev/neru/internal/buildinfo"
)

// Propagator is how trace context travels between the platform's parts and
// to apps: W3C Trace Context (traceparent, tracestate) only. It is used
// directly rather than through otel's global propagator, which is a no-op
// until somebody sets it: a traceparent a provider sent must reach the app
// even in a process that exports no traces.
var Propagator propagation.TextMapPropagator = propagation.TraceContext{}

// The trace context headers, as Propagator writes them.
const (
	HeaderTraceparent = "traceparent"
	HeaderTracestate  = "tracestate"
)

// MsgCarrier adapts a NATS message's headers to propagation.TextMapCarrier.
// NATS headers are case-sensitive; Propagator uses the lower-case names.
type MsgCarrier nats.Header

// Get implements propagation.TextMapCarrier.
func (c MsgCarrier) Get(key string) string { return nats.Header(c).Get(key) }

// Set implements propagation.TextMapCarrier.
func (c MsgCarrier) Set(key, value string) { nats.Header(c).Set(key, value) }

// Keys implements propagation.TextMapCarrier.
func (c MsgCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

// InjectMsg writes the span context in ctx into a message's headers,
// replacing the trace context they carried. With no valid span context in
// ctx (tracing off and no traceparent came in) it leaves h as it is and
// costs a context lookup.
func InjectMsg(ctx context.Context, h nats.Header) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return
	}
	// Inject writes tracestate only when there is one: an old one must not
	// stay next to the new traceparent.
	h.Del(HeaderTracestate)
	Propagator.Inject(ctx, MsgCarrier(h))
}

// ExtractMsg returns ctx with the remote span context a message's headers
// carry, or ctx itself when they carry none.
func ExtractMsg(ctx context.Context, h nats.Header) context.Context {
	if h.Get(HeaderTraceparent) == "" {
		return ctx
	}
	return Propagator.Extract(ctx, MsgCarrier(h))
}

// Tracing is the process's tracer provider as StartTracing set it up.
type Tracing struct {
	// Enabled: spans are exported by OTLP. Otherwise the global tracer
	// provider is otel's no-op one.
	Enabled bool
	// Exporter says where spans go, for the start line ("off" when they go
	// nowhere). It never contains OTEL_EXPORTER_OTLP_HEADERS.
	Exporter string

	provider *sdktrace.TracerProvider // nil when off
}

// Provider is the tracer provider StartTracing installed, or a no-op one.
func (t *Tracing) Provider() trace.TracerProvider {
	if t.provider == nil {
		return noop.NewTracerProvider()
	}
	return t.provider
}

// Shutdown flushes the spans not exported yet and stops the exporter,
// giving up at ctx's deadline. A no-op when tracing is off.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t.provider == nil {
		return nil
	}
	return t.provider.Shutdown(ctx)
}

// StartTracing sets up tracing from the standard OpenTelemetry environment
// variables and installs it as otel's global tracer provider, which every
// package's tracer delegates to. Spans are exported by OTLP only when
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT is set;
// OTEL_TRACES_EXPORTER=none or OTEL_SDK_DISABLED=true turn it off anyway.
// Off, the global provider is otel's no-op one: every span the platform
// starts is a non-recording one and attributes are never built.
//
// The exporter itself reads the rest of OTEL_EXPORTER_OTLP_* (headers,
// timeout, TLS, compression); OTEL_EXPORTER_OTLP[_TRACES]_PROTOCOL picks
// http/protobuf (the default) or grpc. The SDK reads OTEL_TRACES_SAMPLER[_ARG]
// (default: parent-based, always on) and OTEL_BSP_*. The resource is
// service.name defaultService unless OTEL_SERVICE_NAME says otherwise,
// service.version from the build, and OTEL_RESOURCE_ATTRIBUTES.
//
// Call it once per process, in the composition root, and Shutdown on exit.
// Export failures are logged to log, at most once a minute.
func StartTracing(ctx context.Context, defaultService string, log *slog.Logger) (*Tracing, error) {
	t, err := newTracing(ctx, defaultService, os.Getenv)
	if err != nil {
		return t, err
	}
	if !t.Enabled {
		// otel's default global tracer still builds a span per Start (it
		// waits for a delegate); the no-op provider's spans cost nothing,
		// and on a busy gateway that was a measurable share of allocations.
		otel.SetTracerProvider(noop.NewTracerProvider())
		return t, nil
	}
	otel.SetTracerProvider(t.provider)
	otel.SetTextMapPropagator(Propagator)
	otel.SetErrorHandler(throttledLog(log, time.Minute))
	return t, nil
}

// newTracing builds the tracer provider the environment asks for, without
// installing it.
func newTracing(ctx context.Context, defaultService string, getenv func(string) string) (*Tracing, error) {
	off := &Tracing{Exporter: "off"}
	if v := getenv("OTEL_SDK_DISABLED"); v != "" {
		disabled, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("OTEL_SDK_DISABLED: %q is not true or false", v)
		}
		if disabled {
			return off, nil
		}
	}
	switch v := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")); v {
	case "", "otlp":
	case "none":
		return off, nil
	default:
		return nil, fmt.Errorf("OTEL_TRACES_EXPORTER: %q is not supported: otlp (the default) or none", v)
	}
	endpoint := getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
	if endpoint == "" {
		endpoint = getenv("OTEL_EXPORTER_OTLP_ENDPOINT")
	}
	if endpoint == "" {
		return off, nil
	}
	protocol := getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if protocol == "" {
		protocol = getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	var exp sdktrace.SpanExporter
	var err error
	switch protocol {
	case "", "http/protobuf":
		protocol = "http/protobuf"
		exp, err = otlptracehttp.New(ctx)
	case "grpc":
		exp, err = otlptracegrpc.New(ctx)
	default:
		return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL: %q is not supported: http/protobuf (the default) or grpc", protocol)
	}
	if err != nil {
		return nil, fmt.Errorf("traces: OTLP exporter: %w", err)
	}
	version := buildinfo.Read().Version
	if version == "" {
		version = "unknown"
	}
	// Later detectors win: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
	// override the defaults.
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName(defaultService), semconv.ServiceVersion(version)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv())
	if err != nil {
		_ = exp.Shutdown(ctx)
		return nil, fmt.Errorf("traces: resource (OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME): %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return &Tracing{Enabled: true, Exporter: "OTLP " + protocol + " " + redact(endpoint), provider: tp}, nil
}

// redact drops what an endpoint URL may hold besides where it is (user
// info, a query), for the start line: secrets are never logged.
func redact(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return endpoint // host:port, as grpc takes it
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}

// throttledLog is otel's error handler: export failures (a collector that
// is down) are logged once, then at most once per every, with how many
// were left out meanwhile.
func throttledLog(log *slog.Logger, every time.Duration) otel.ErrorHandler {
	var last atomic.Int64
	var skipped atomic.Int64
	return otel.ErrorHandlerFunc(func(err error) {
		now := time.Now().UnixNano()
		prev := last.Load()
		if prev != 0 && now-prev < int64(every) || !last.CompareAndSwap(prev, now) {
			skipped.Add(1)
			return
		}
		log.Warn("traces: OpenTelemetry error (export failures are logged at most once a minute)", "err", err, "left_out", skipped.Swap(0))
	})
}

// InjectHTTP writes the span context in ctx into an outgoing request's
// headers (traceparent, tracestate), replacing any there; with no valid
// span context in ctx it leaves h as it is.
func InjectHTTP(ctx context.Context, h http.Header) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return
	}
	h.Del(HeaderTracestate)
	Propagator.Inject(ctx, propagation.HeaderCarrier(h))
}

// ExtractHTTP returns ctx with the remote span context an incoming
// request's headers carry, or ctx itself when they carry none.
func ExtractHTTP(ctx context.Context, h http.Header) context.Context {
	if h.Get(HeaderTraceparent) == "" {
		return ctx
	}
	return Propagator.Extract(ctx, propagation.HeaderCarrier(h))
}
