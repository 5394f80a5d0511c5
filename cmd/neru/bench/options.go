package bench

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// Options configure one benchmark run. DefaultOptions gives the defaults
// `neru bench` starts from.
type Options struct {
	Events      int // webhooks posted in the measured phase (-n); their bodies are built up front
	Concurrency int // webhook posters running at once (-c)
	Listeners   int // listeners registered before the run (-listeners)
	// Sessions is how many sessions the matching listeners are spread over:
	// min(Listeners, Sessions) listeners match, one per session, and the
	// webhooks go round-robin over their senders. The other listeners are
	// spread over the same sessions under numbers no webhook comes from.
	Sessions int

	RedisURL string // empty: an in-process Redis-protocol server (miniredis)
	NATSURL  string // empty: an embedded nats-server with JetStream

	Partitions        int  // gateway and worker partitions
	WorkerConcurrency int  // worker.Config.Concurrency; 0 takes the worker's default
	MemoryStorage     bool // JetStream memory storage for the streams (embedded NATS only)

	RegisterConcurrency int           // Store.Add calls in flight while registering listeners
	Timeout             time.Duration // how long to wait for deliveries after the last post
	CPUProfile          string        // write a CPU profile of the measured phase here

	Log      *slog.Logger // the platform's logs; nil discards them
	Progress io.Writer    // progress lines while the run goes; nil discards them
}

// DefaultOptions are `neru bench` without flags.
func DefaultOptions() Options {
	return Options{
		Events:              20000,
		Concurrency:         64,
		Listeners:           10,
		Sessions:            1000,
		Partitions:          16,
		RegisterConcurrency: 64,
		Timeout:             60 * time.Second,
	}
}

// Matching is how many listeners match the generated webhooks: one per
// session used.
func (o *Options) Matching() int { return min(o.Listeners, o.Sessions) }

// Validate reports options that cannot make a meaningful run.
func (o *Options) Validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(o.Events >= 1 && o.Events <= 10_000_000, "-n must be 1-10000000 events, not %d", o.Events)
	check(o.Concurrency >= 1 && o.Concurrency <= 10_000, "-c must be 1-10000 posters, not %d", o.Concurrency)
	check(o.Listeners >= 1 && o.Listeners <= 100_000_000, "-listeners must be 1-100000000, not %d", o.Listeners)
	check(o.Sessions >= 1 && o.Sessions <= 10_000_000, "-sessions must be 1-10000000, not %d", o.Sessions)
	check(o.Partitions >= 1 && o.Partitions <= 4096, "-partitions must be 1-4096, not %d", o.Partitions)
	check(o.WorkerConcurrency >= 0, "-worker-concurrency must not be negative")
	check(o.RegisterConcurrency >= 1 && o.RegisterConcurrency <= 4096, "-register-concurrency must be 1-4096, not %d", o.RegisterConcurrency)
	check(o.Timeout > 0, "-timeout must be positive")
	check(!o.MemoryStorage || o.NATSURL == "",
		"-memory-storage needs the embedded NATS: it recreates NERU_EVENTS and NERU_DLQ, which would destroy a real server's streams")
	return errors.Join(errs...)
}
