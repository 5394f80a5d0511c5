package worker

import (
	"errors"
	"net/netip"
	"time"
)

// Config tunes a worker. Zero values take the defaults in setDefaults.
type Config struct {
	ID          string        // unique per process; default: random
	Partitions  int           // must equal the gateway's; default 16
	Concurrency int           // HTTP deliveries in flight at once; default 256
	MaxPending  int           // unacked messages buffered per partition; default 4096
	MaxAttempts int           // attempts before the DLQ; default 10
	MaxAge      time.Duration // age (since accepted) before the DLQ; default 24h
	BackoffBase time.Duration // first retry delay; default 250ms
	BackoffMax  time.Duration // retry delay cap; default 1m
	Timeout     time.Duration // one HTTP request; default 15s
	LeaseTTL    time.Duration // partition lease; default 6s
	DrainTime   time.Duration // shutdown grace for in-flight requests; default 10s
	// SweepInterval is how often the worker sweeps expired sessions (with
	// WithSessions); every worker ticks, one sweeps each shard. Default 1s.
	SweepInterval time.Duration
	// AppNetworks are the non-public networks deliveries may reach apps on
	// (NERU_APP_NETWORKS); everything else non-public is refused at dial
	// time (SSRF guard). `neru dev` allows loopback.
	AppNetworks []netip.Prefix
}

func (c *Config) setDefaults() {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Partitions, 16)
	def(&c.Concurrency, 256)
	def(&c.MaxPending, 4096)
	def(&c.MaxAttempts, 10)
	defDur(&c.MaxAge, 24*time.Hour)
	defDur(&c.BackoffBase, 250*time.Millisecond)
	defDur(&c.BackoffMax, time.Minute)
	defDur(&c.Timeout, 15*time.Second)
	defDur(&c.LeaseTTL, 6*time.Second)
	defDur(&c.DrainTime, 10*time.Second)
	defDur(&c.SweepInterval, time.Second)
}

// Validate reports a configuration that cannot work.
func (c *Config) Validate() error {
	switch {
	case c.Partitions < 1 || c.Partitions > 4096:
		return errors.New("worker: Partitions must be 1-4096")
	case c.MaxAttempts < 1:
		return errors.New("worker: MaxAttempts must be at least 1")
	case c.BackoffBase > c.BackoffMax:
		return errors.New("worker: BackoffBase exceeds BackoffMax")
	case c.LeaseTTL < 100*time.Millisecond:
		return errors.New("worker: LeaseTTL must be at least 100ms")
	}
	return nil
}
