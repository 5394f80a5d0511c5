package scheduler

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/neru-dev/neru/delivery"
)

// HeaderRequestHash is the header that identifies one invocation.
const HeaderRequestHash = "X-Neru-Scheduler-RequestHash"

// Kind is the delivery kind of a schedule invocation.
const Kind = "scheduler.fire"

// Publisher stores deliveries in NERU_EVENTS; delivery.Publisher is one.
// PublishEach returns, per delivery, nil once the stream stored it. It must
// be safe for concurrent use.
type Publisher interface {
	PublishEach(ctx context.Context, ds []*delivery.Delivery) []error
}

// Config tunes a Runner. Zero values take the defaults.
type Config struct {
	Tick time.Duration // how often due schedules are claimed; default 500ms
	// ClaimTTL is how long a claimed invocation may stay unsettled before
	// another pass fires it again. It must stay below NERU_EVENTS' duplicate
	// window (2m) so the repeat is deduplicated. Default 30s.
	ClaimTTL time.Duration
	Batch    int // invocations claimed per instance and pass; default 256
	// Now is the clock that decides what is due; tests move it by hand.
	// Default time.Now.
	Now func() time.Time
}

func (c *Config) setDefaults() {
	if c.Tick == 0 {
		c.Tick = 500 * time.Millisecond
	}
	if c.ClaimTTL == 0 {
		c.ClaimTTL = 30 * time.Second
	}
	if c.Batch == 0 {
		c.Batch = 256
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Validate reports a configuration that cannot work.
func (c *Config) Validate() error {
	switch {
	case c.ClaimTTL < time.Second || c.ClaimTTL > 90*time.Second:
		return errors.New("scheduler: ClaimTTL must be 1s-90s (below the stream's 2m duplicate window)")
	case c.Tick <= 0 || c.Batch < 1:
		return errors.New("scheduler: Tick and Batch must be positive")
	}
	return nil
}

// Metrics counts schedule invocations: ScheduleFired is called once per
// invocation a pass published, with "fired" (the stream stored it), or
// "failed" (it did not; the claim expires and a later pass fires it
// again). It is called from the runner's pass: it must be safe for
// concurrent use, cheap and never block. telemetry.Metrics implements it.
type Metrics interface {
	ScheduleFired(outcome string)
}

// Invocation outcomes (Metrics).
const (
	OutcomeFired  = "fired"
	OutcomeFailed = "failed"
)

// Option configures a Runner.
type Option func(*Runner)

// WithMetrics counts the runner's invocations in m.
func WithMetrics(m Metrics) Option {
	return func(r *Runner) {
		if m != nil {
			r.metrics = m
		}
	}
}

// noMetrics is the Metrics of a runner nobody counts.
type noMetrics struct{}

func (noMetrics) ScheduleFired(string) {}

// Runner fires due schedules. Any number of runners may run against one
// Redis: each invocation is claimed by one of them (see the package doc).
type Runner struct {
	cfg     Config
	store   *Store
	pub     Publisher
	log     *slog.Logger
	metrics Metrics // never nil
	fired   atomic.Int64
}

// NewRunner returns a runner over store publishing through pub.
func NewRunner(cfg Config, store *Store, pub Publisher, log *slog.Logger, opts ...Option) (*Runner, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &Runner{cfg: cfg, store: store, pub: pub, log: log, metrics: noMetrics{}}
	for _, o := range opts {
		o(r)
	}
	return r, nil
}

// Fired is how many invocations this runner published since it started.
func (r *Runner) Fired() int64 { return r.fired.Load() }

// Run fires due schedules every Tick until ctx ends. A pass that fails is
// logged and tried again at the next tick; what it had claimed is fired
// again once its claim expires. A pass under way when ctx ends is finished
// (within half the claim TTL), so a clean stop leaves no claim to recover.
func (r *Runner) Run(ctx context.Context) error {
	t := time.NewTicker(r.cfg.Tick)
	defer t.Stop()
	for {
		pass, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.ClaimTTL/2)
		_, err := r.RunOnce(pass)
		cancel()
		if err != nil {
			r.log.Warn("scheduler pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// RunOnce claims what is due now, publishes it and settles it. It returns
// how many invocations it published.
func (r *Runner) RunOnce(ctx context.Context) (int, error) {
	instances, err := r.store.instances(ctx)
	if err != nil || len(instances) == 0 {
		return 0, err
	}
	now := r.cfg.Now()
	claims, empty, err := r.store.claimDue(ctx, instances, now, now.Add(r.cfg.ClaimTTL), r.cfg.Batch)
	if err != nil {
		return 0, err
	}
	for _, in := range empty {
		if err := r.store.forget(ctx, in); err != nil {
			r.log.Warn("scheduler: cannot drop an idle instance", "instance", in, "err", err)
		}
	}
	if len(claims) == 0 {
		return 0, nil
	}
	if claims, err = r.store.load(ctx, claims); err != nil {
		return 0, err
	}
	published := r.publish(ctx, claims)
	for _, c := range published {
		next, more := c.sc.Next(c.dueTime(), now, c.invocations+1)
		if !more {
			next = time.Time{}
		}
		if err := r.store.advance(ctx, c, next); err != nil {
			// The claim expires and the invocation is published again,
			// with the same message id: JetStream drops the repeat.
			r.log.Warn("scheduler: cannot settle an invocation", "instance", c.instance, "schedule", c.id, "err", err)
		}
	}
	r.fired.Add(int64(len(published)))
	return len(published), nil
}

// publish stores one delivery per claim and returns the claims JetStream
// acknowledged; the others stay claimed and are retried when it expires.
func (r *Runner) publish(ctx context.Context, claims []*claim) []*claim {
	accepted := time.Now()
	ds := make([]*delivery.Delivery, len(claims))
	for i, c := range claims {
		ds[i] = Delivery(c.instance, c.sc, c.dueTime(), accepted)
	}
	var ok []*claim
	for i, err := range r.pub.PublishEach(ctx, ds) {
		if err != nil {
			r.metrics.ScheduleFired(OutcomeFailed)
			r.log.Warn("scheduler: publish not stored", "instance", claims[i].instance, "schedule", claims[i].id, "err", err)
			continue
		}
		r.metrics.ScheduleFired(OutcomeFired)
		ok = append(ok, claims[i])
	}
	return ok
}

// RequestHash identifies one invocation: the same schedule execution at the
// same due time always has the same hash.
func RequestHash(instanceID string, sc *Schedule, due time.Time) string {
	h := sha256.Sum256([]byte(instanceID + "\x00" + sc.ID + "\x00" + sc.ExecutionID + "\x00" + strconv.FormatInt(due.UnixMilli(), 10)))
	return hex.EncodeToString(h[:16])
}

// Delivery is the delivery of one invocation: the payload, POSTed to the
// callback path in the callback's session. Its id, and so its Nats-Msg-Id,
// is the request hash.
func Delivery(instanceID string, sc *Schedule, due, accepted time.Time) *delivery.Delivery {
	hash := RequestHash(instanceID, sc, due)
	return &delivery.Delivery{
		ID:         hash,
		InstanceID: instanceID,
		SessionID:  sc.Callback.SessionID,
		ListenerID: sc.Callback.ID,
		Path:       sc.Callback.Path,
		Kind:       Kind,
		AcceptedAt: accepted,
		Body:       sc.Payload,
		Headers:    map[string]string{HeaderRequestHash: hash},
	}
}
