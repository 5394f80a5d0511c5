package bench

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/neru-dev/neru/listener"
	"github.com/neru-dev/neru/providers/messages"
)

func TestPercentile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		out := make([]time.Duration, len(ns))
		for i, n := range ns {
			out[i] = time.Duration(n) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	for _, c := range []struct {
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{nil, 50, 0},
		{ms(7), 50, 7 * time.Millisecond},
		{ms(7), 100, 7 * time.Millisecond},
		{ms(1, 2), 50, 1 * time.Millisecond},
		{ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{ms(1, 2, 3, 4), 75, 3 * time.Millisecond},
		{ms(1, 2, 3, 4), 99, 4 * time.Millisecond},
		{ms(hundred...), 50, 50 * time.Millisecond},
		{ms(hundred...), 90, 90 * time.Millisecond},
		{ms(hundred...), 99, 99 * time.Millisecond},
		{ms(hundred...), 99.5, 100 * time.Millisecond},
		{ms(hundred...), 100, 100 * time.Millisecond},
		{ms(hundred...), 0.1, 1 * time.Millisecond},
	} {
		if got := Percentile(c.in, c.p); got != c.want {
			t.Errorf("Percentile(%d values, %v) = %v, want %v", len(c.in), c.p, got, c.want)
		}
	}
}

func TestSummarizeSorts(t *testing.T) {
	got := summarize([]time.Duration{3 * time.Millisecond, time.Millisecond, 2 * time.Millisecond})
	want := Latency{Count: 3, P50: 2, P90: 3, P99: 3, Max: 3}
	if got != want {
		t.Errorf("summarize = %+v, want %+v", got, want)
	}
}

func TestValidate(t *testing.T) {
	if o := DefaultOptions(); o.Validate() != nil {
		t.Fatalf("defaults do not validate: %v", o.Validate())
	}
	for _, c := range []struct {
		name   string
		change func(*Options)
		want   string
	}{
		{"no events", func(o *Options) { o.Events = 0 }, "-n"},
		{"no connections", func(o *Options) { o.Concurrency = 0 }, "-c"},
		{"no sessions", func(o *Options) { o.Sessions = 0 }, "--sessions"},
		{"scale below the start", func(o *Options) { o.ScaleTo = 10 }, "--scale-to"},
		{"register concurrency", func(o *Options) { o.RegisterConcurrency = 0 }, "--register-concurrency"},
		{"timeout", func(o *Options) { o.Timeout = 0 }, "--timeout"},
		{"target with servers", func(o *Options) { o.Target, o.RedisURL = "http://x", "redis://x" }, "--target"},
		{"naive on embedded servers", func(o *Options) { o.Naive = "naive" }, "--naive"},
	} {
		o := DefaultOptions()
		c.change(&o)
		err := o.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Validate() = %v, want an error about %s", c.name, err, c.want)
		}
	}
}

// The generated webhooks come from their session's customer and carry
// their run and sequence number, which the sink finds again.
func TestWebhookCarriesRunAndSequence(t *testing.T) {
	const run, sessions = 0xdeadbeef, 3
	for _, seq := range []int{0, 1, 2, 5, 1 << 40} {
		_, body := webhook(run, "app", seq, sessions)
		if r, got, ok := idOf(body); !ok || got != seq || r != run {
			t.Errorf("idOf(webhook %d) = %x, %d, %v", seq, r, got, ok)
		}
		ev, err := messages.ParseInbound(body)
		if err != nil {
			t.Fatal(err)
		}
		want := listener.Key("msg-in", "sms", vonageNumber, customer(seq%sessions))
		if !slices.Contains(ev.Keys, want) {
			t.Errorf("webhook %d: keys %v lack %s", seq, ev.Keys, want)
		}
	}
	for _, bad := range []string{``, `{}`, `{"message_uuid":"short"}`, `{"message_uuid": "0000000-be0c-4000-8000-00000000000g"}`} {
		if _, _, ok := idOf([]byte(bad)); ok {
			t.Errorf("idOf(%q) found a sequence number", bad)
		}
	}
}

// The sink counts first arrivals of the current run, repeats and strays.
func TestSinkCounts(t *testing.T) {
	srv := httptest.NewServer(&Sink{})
	defer srv.Close()
	s := sinkClient{url: srv.URL, client: srv.Client()}
	ctx := t.Context()
	if err := s.reset(ctx, 7, 3); err != nil {
		t.Fatal(err)
	}
	deliver := func(run uint32, seq int) {
		t.Helper()
		_, body := webhook(run, "app", seq, 1)
		resp, err := srv.Client().Post(srv.URL+"/onMessage", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("sink answered %s", resp.Status)
		}
	}
	deliver(7, 0)
	deliver(7, 2)
	deliver(7, 2) // a repeat
	deliver(8, 1) // another run's
	deliver(7, 9) // beyond the run
	d, dups, strays, err := s.count(ctx)
	if err != nil || d != 2 || dups != 1 || strays != 2 {
		t.Fatalf("count = %d delivered, %d dups, %d strays, %v; want 2, 1, 2", d, dups, strays, err)
	}
	arr, err := s.arrivals(ctx)
	if err != nil || len(arr) != 3 || arr[0] == 0 || arr[1] != 0 || arr[2] == 0 {
		t.Fatalf("arrivals = %v, %v", arr, err)
	}
}

// The process listening on a port is found, and its CPU read.
func TestListenerPIDAndCPU(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	if pid := listenerPID(srv.URL); pid != os.Getpid() {
		t.Fatalf("listenerPID(%s) = %d, want this process %d", srv.URL, pid, os.Getpid())
	}
	if pid := listenerPID("redis://10.1.2.3:6379"); pid != 0 {
		t.Errorf("a remote host resolved to pid %d", pid)
	}
	cpu, err := procCPU(os.Getppid())
	if err != nil || cpu < 0 {
		t.Errorf("procCPU(parent) = %v, %v", cpu, err)
	}
}

func TestReplaceBetween(t *testing.T) {
	got, err := ReplaceBetween("a\n<!-- bench:begin -->\nold\n<!-- bench:end -->\nz\n", "new\n")
	if want := "a\n<!-- bench:begin -->\nnew\n<!-- bench:end -->\nz\n"; err != nil || got != want {
		t.Errorf("ReplaceBetween = %q, %v; want %q", got, err, want)
	}
	if _, err := ReplaceBetween("no markers", "x"); err == nil {
		t.Error("no error without markers")
	}
}
