package bench

import (
	"slices"
	"strings"
	"testing"
	"time"

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
		{"no posters", func(o *Options) { o.Concurrency = 0 }, "-c"},
		{"no listeners", func(o *Options) { o.Listeners = 0 }, "-listeners"},
		{"no sessions", func(o *Options) { o.Sessions = -1 }, "-sessions"},
		{"partitions", func(o *Options) { o.Partitions = 5000 }, "-partitions"},
		{"worker concurrency", func(o *Options) { o.WorkerConcurrency = -1 }, "-worker-concurrency"},
		{"register concurrency", func(o *Options) { o.RegisterConcurrency = 0 }, "-register-concurrency"},
		{"timeout", func(o *Options) { o.Timeout = 0 }, "-timeout"},
		{"memory storage on a real NATS", func(o *Options) { o.MemoryStorage, o.NATSURL = true, "nats://x:4222" }, "-memory-storage"},
	} {
		o := DefaultOptions()
		c.change(&o)
		err := o.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Validate() = %v, want an error about %s", c.name, err, c.want)
		}
	}
	o := DefaultOptions()
	o.MemoryStorage = true
	if err := o.Validate(); err != nil {
		t.Errorf("memory storage on the embedded NATS: %v", err)
	}
}

func TestMatching(t *testing.T) {
	o := DefaultOptions()
	o.Listeners, o.Sessions = 10, 1000
	if o.Matching() != 10 {
		t.Errorf("10 listeners over 1000 sessions: %d match", o.Matching())
	}
	o.Listeners = 1_000_000
	if o.Matching() != 1000 {
		t.Errorf("1M listeners over 1000 sessions: %d match", o.Matching())
	}
}

// The generated webhooks must match exactly their listener, and the sink
// must find their sequence number.
func TestWebhookMatchesItsListenerOnly(t *testing.T) {
	const run, matching, sessions = 0xdeadbeef, 3, 3
	for _, seq := range []int{0, 1, 2, 5, 1 << 40} {
		_, body := webhook(run, "app", seq, matching)
		if got, ok := seqOf(body); !ok || got != seq {
			t.Errorf("seqOf(webhook %d) = %d, %v", seq, got, ok)
		}
		ev, err := messages.ParseInbound(body)
		if err != nil {
			t.Fatal(err)
		}
		for k := range 6 {
			l := listenerFor(run, "inst", k, matching, sessions)
			if err := l.Validate(); err != nil {
				t.Fatalf("listener %d: %v", k, err)
			}
			want := k == seq%matching
			if got := slices.Contains(ev.Keys, l.Key); got != want {
				t.Errorf("webhook %d, listener %d (%s): matches %v, want %v", seq, k, l.Key, got, want)
			}
		}
	}
	for _, bad := range []string{``, `{}`, `{"message_uuid":"short"}`, `{"message_uuid": "0000000-be0c-4000-8000-00000000000g"}`} {
		if _, ok := seqOf([]byte(bad)); ok {
			t.Errorf("seqOf(%q) found a sequence number", bad)
		}
	}
}

func TestListenersSpreadOverSessions(t *testing.T) {
	seen := map[string]bool{}
	for k := range 10 {
		seen[listenerFor(1, "inst", k, 4, 4).SessionID] = true
	}
	if len(seen) != 4 {
		t.Errorf("10 listeners over 4 sessions use %d sessions", len(seen))
	}
}
