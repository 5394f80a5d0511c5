package bench

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// Options configure a benchmark run; DefaultOptions gives `neru bench`'s.
type Options struct {
	// Self is the neru binary that runs `neru dev` and `neru bench sink`
	// (default: this executable); SelfEnv is added to their environment.
	Self    string
	SelfEnv []string

	// Target is the base URL of an already running platform; empty starts
	// `neru dev` on RedisURL and NATSURL (empty: its embedded servers).
	Target        string
	CommandURL    string // the target's SDK command endpoint
	ApplicationID string // the target's instance's Vonage application id
	InstanceID    string // the target's instance, whose app URL must be the sink's
	AppAddr       string // where the sink listens (with Target: where the instance's app URL points)
	PlatformPID   int    // the target's process, for its CPU (0: found by its port)

	RedisURL, NATSURL string
	PprofAddr         string // `neru dev --pprof-addr`
	Naive             string // the naive pipeline's binary; empty: no naive phase

	Events      int     // webhooks of the maximum-rate phase (-n)
	Concurrency int     // keep-alive connections posting webhooks (-c)
	Sessions    int     // sender numbers: one listener and one session each
	Listeners   int     // more listeners, of numbers nothing is sent from
	Rounds      int     // maximum-rate phases (each followed by the naive one): the median is reported
	HalfLoad    bool    // a paced phase at half the measured maximum
	Rate        float64 // pace the maximum phase at this rate instead (events/s; 0: closed loop)
	StateOps    int     // SDK state operations of the state phase (0: none)
	ScaleTo     int     // register listeners up to this total, then measure the maximum again (0: not)

	// RegisterConcurrency is how many registration requests are in flight,
	// each a batch of sdk.MaxSubscriptions listeners. A few keep both cores
	// busy: one batch is already a thousand listeners of work.
	RegisterConcurrency int
	Timeout             time.Duration // how long deliveries may stall before a phase gives up
	Progress            io.Writer     // progress lines; nil discards them
}

// DefaultOptions are `neru bench` without flags.
func DefaultOptions() Options {
	return Options{
		Events: 50000, Concurrency: 64, Sessions: 1000, Rounds: 1, HalfLoad: true,
		RegisterConcurrency: 8, Timeout: 30 * time.Second,
		InstanceID: "dev", ApplicationID: "dev-app", CommandURL: "http://127.0.0.1:3001", AppAddr: "127.0.0.1:3000",
	}
}

// Validate reports options that cannot make a meaningful run.
func (o *Options) Validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(o.Events >= 1 && o.Events <= 10_000_000, "-n must be 1-10000000 events, not %d", o.Events)
	check(o.Concurrency >= 1 && o.Concurrency <= 10_000, "-c must be 1-10000 connections, not %d", o.Concurrency)
	check(o.Sessions >= 1 && o.Sessions <= 1_000_000, "--sessions must be 1-1000000, not %d", o.Sessions)
	check(o.Listeners >= 0 && o.Listeners <= 100_000_000, "--listeners must be 0-100000000, not %d", o.Listeners)
	check(o.ScaleTo == 0 || o.ScaleTo > o.Sessions+o.Listeners, "--scale-to must exceed the listeners registered first (%d)", o.Sessions+o.Listeners)
	check(o.Rounds >= 1 && o.Rounds <= 100, "--rounds must be 1-100, not %d", o.Rounds)
	check(o.Rate >= 0, "--rate must not be negative")
	check(o.StateOps >= 0, "--state-ops must not be negative")
	check(o.RegisterConcurrency >= 1 && o.RegisterConcurrency <= 4096, "--register-concurrency must be 1-4096, not %d", o.RegisterConcurrency)
	check(o.Timeout > 0, "--timeout must be positive")
	check(o.Target == "" || (o.RedisURL == "" && o.NATSURL == ""), "--target drives a running platform: --redis-url and --nats-url are its business")
	check(o.Naive == "" || (o.RedisURL != "" && o.NATSURL != ""), "--naive needs --redis-url and --nats-url (the yardstick runs on real servers)")
	return errors.Join(errs...)
}
