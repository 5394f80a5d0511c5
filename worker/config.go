package worker

import (
	"errors"
	"net/netip"
	"time"

	"github.com/neru-dev/neru/delivery"
)

// Config tunes a worker. Zero values take the defaults in setDefaults.
type Config struct {
	ID          string // unique per process; default: random
	Partitions  int    // must equal the gateway's; default 16
	Concurrency int    // HTTP deliveries in flight at once; default 256
	MaxPending  int    // unacked messages buffered per partition; default 4096
	// MaxAge is how long (since the gateway accepted it) a delivery is
	// retried before it goes to the DLQ; default 24h. It is the binding
	// limit: the last attempt is made at MaxAge.
	MaxAge time.Duration
	// MaxAttempts optionally caps the attempts too; 0 (the default): no cap.
	MaxAttempts int
	BackoffBase time.Duration // first retry delay; default 250ms
	BackoffMax  time.Duration // retry delay cap; default 3m
	// CircuitThreshold is how many consecutive attempts to an instance that
	// got no answer (refused, timed out, 502/503/504) open its circuit;
	// default 5. While open, one probe at a time goes to the app.
	CircuitThreshold int
	// CircuitProbe is the longest gap between probes of an open circuit;
	// default 1s, so deliveries resume about a second after the app returns.
	CircuitProbe time.Duration
	Timeout      time.Duration // one HTTP request; default 15s
	LeaseTTL     time.Duration // partition lease; default 6s
	DrainTime    time.Duration // shutdown grace for in-flight requests; default 10s
	// SweepInterval is how often the worker sweeps expired sessions (with
	// WithSessions); every worker ticks, one sweeps each shard. Default 1s.
	SweepInterval time.Duration
	// AppNetworks are the non-public networks deliveries may reach apps on
	// (NERU_APP_NETWORKS); everything else non-public is refused at dial
	// time (SSRF guard). `neru dev` allows loopback.
	AppNetworks []netip.Prefix
	// Signer signs every request to the app (JWT, webhook-signature); the
	// platform builds one. Nil: requests go unsigned.
	Signer *delivery.Signer
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
	defDur(&c.MaxAge, 24*time.Hour)
	defDur(&c.BackoffBase, 250*time.Millisecond)
	defDur(&c.BackoffMax, 3*time.Minute)
	def(&c.CircuitThreshold, 5)
	defDur(&c.CircuitProbe, time.Second)
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
	case c.MaxAttempts < 0:
		return errors.New("worker: MaxAttempts must be 0 (no cap) or positive")
	case c.MaxAge <= 0:
		return errors.New("worker: MaxAge must be positive")
	case c.BackoffBase > c.BackoffMax:
		return errors.New("worker: BackoffBase exceeds BackoffMax")
	case c.LeaseTTL < 100*time.Millisecond:
		return errors.New("worker: LeaseTTL must be at least 100ms")
	}
	return nil
}
