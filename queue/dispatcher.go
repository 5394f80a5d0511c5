package queue

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/neru-dev/neru/delivery"
	"github.com/neru-dev/neru/instance"
	"github.com/neru-dev/neru/internal/lease"
)

// Kind is the delivery kind of a queue item.
const Kind = "queue.item"

// Instances resolves an instance id to its record (base URL).
type Instances interface {
	Get(ctx context.Context, id string) (*instance.Instance, error)
}

// Config tunes a Dispatcher. Zero values take the defaults.
type Config struct {
	ID           string        // unique per process; default: random
	Tick         time.Duration // heartbeat, lease renewal and rebalancing; default 1s
	LeaseTTL     time.Duration // a dispatcher's hold on a queue; default 6s
	Timeout      time.Duration // one delivery; default 15s
	Retries      int           // retries of a failing item before the dead-letter list; default 3
	RetryBackoff time.Duration // first retry delay, doubled each time; default 1s
	IdlePoll     time.Duration // how often an empty or paused queue is looked at; default 250ms
	DrainTime    time.Duration // shutdown grace for deliveries in flight; default 10s
	// AppNetworks are the non-public networks items may be delivered to
	// (the worker's, NERU_APP_NETWORKS).
	AppNetworks []netip.Prefix
	// Signer signs every item sent to the app (the worker's). Nil: unsigned.
	Signer *delivery.Signer
}

func (c *Config) setDefaults() {
	defDur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	if c.ID == "" {
		c.ID = "qd-" + uuid.NewString()[:8]
	}
	defDur(&c.Tick, time.Second)
	defDur(&c.LeaseTTL, 6*time.Second)
	defDur(&c.Timeout, 15*time.Second)
	defDur(&c.RetryBackoff, time.Second)
	defDur(&c.IdlePoll, 250*time.Millisecond)
	defDur(&c.DrainTime, 10*time.Second)
	if c.Retries == 0 {
		c.Retries = 3
	}
}

// Validate reports a configuration that cannot work.
func (c *Config) Validate() error {
	switch {
	case c.LeaseTTL < 2*c.Tick:
		return errors.New("queue: LeaseTTL must be at least twice Tick")
	case c.Retries < 0:
		return errors.New("queue: Retries must not be negative")
	case c.Tick <= 0 || c.Timeout <= 0 || c.IdlePoll <= 0:
		return errors.New("queue: Tick, Timeout and IdlePoll must be positive")
	}
	return nil
}

// Metrics counts item dispatches: QueueItem is called once per attempt
// that settled, with "delivered" (the app answered 2xx), "retried" (it did
// not; the item goes back to its queue after a backoff) or "dead" (out of
// retries: the item went to the dead-letter list). An attempt cut off by
// shutdown is not counted (the item goes back untried). It is called from
// many goroutines, after the settlement: it must be safe for concurrent
// use, cheap and never block. telemetry.Metrics implements it.
type Metrics interface {
	QueueItem(outcome string)
}

// Item dispatch outcomes (Metrics).
const (
	OutcomeDelivered = "delivered"
	OutcomeRetried   = "retried"
	OutcomeDead      = "dead"
)

// Option configures a Dispatcher.
type Option func(*Dispatcher)

// WithMetrics counts the dispatcher's item dispatches in m.
func WithMetrics(m Metrics) Option {
	return func(d *Dispatcher) {
		if m != nil {
			d.metrics = m
		}
	}
}

// noMetrics is the Metrics of a dispatcher nobody counts.
type noMetrics struct{}

func (noMetrics) QueueItem(string) {}

// Dispatcher delivers the items of its share of the queues.
type Dispatcher struct {
	cfg       Config
	store     *Store
	instances Instances
	client    *delivery.Client
	log       *slog.Logger
	metrics   Metrics // never nil

	// abort cancels deliveries in flight; Run calls it after DrainTime.
	abortCtx context.Context
	abort    context.CancelFunc
	inflight sync.WaitGroup
	loops    map[Ref]*loop
	members  *lease.Members
	leases   *lease.Holder

	sent, failed, dead atomic.Int64
}

type loop struct {
	lease  *lease.Lease // the loop stops when it ends (fenced, lost)
	cancel context.CancelFunc
	done   chan struct{}
	wake   chan struct{} // a delivery of this queue finished
}

// NewDispatcher returns a dispatcher over store.
func NewDispatcher(cfg Config, store *Store, instances Instances, log *slog.Logger, opts ...Option) (*Dispatcher, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := &Dispatcher{
		cfg: cfg, store: store, instances: instances, log: log.With("dispatcher", cfg.ID),
		client:  delivery.NewClient(cfg.Timeout, cfg.AppNetworks, cfg.Signer),
		loops:   map[Ref]*loop{},
		metrics: noMetrics{},
	}
	for _, o := range opts {
		o(d)
	}
	d.members = lease.NewMembers(store.rdb, store.membersKey(), cfg.ID, cfg.LeaseTTL)
	d.leases = lease.NewHolder(store.rdb, cfg.ID, cfg.LeaseTTL, d.log)
	d.abortCtx, d.abort = context.WithCancel(context.Background())
	return d, nil
}

// Metrics returns how many items this dispatcher delivered, how many
// attempts failed and how many items it dead-lettered.
func (d *Dispatcher) Metrics() (sent, failed, dead int64) {
	return d.sent.Load(), d.failed.Load(), d.dead.Load()
}

// Run dispatches until ctx ends, then stops taking items, gives deliveries
// in flight DrainTime to finish (the rest go back to their queue), and
// leaves the member set and its leases so others take over at once. Run
// may be called once.
func (d *Dispatcher) Run(ctx context.Context) error {
	t := time.NewTicker(d.cfg.Tick)
	defer t.Stop()
	for {
		if err := d.rebalance(ctx); err != nil && ctx.Err() == nil {
			d.log.Warn("queue rebalance failed", "err", err)
		}
		select {
		case <-ctx.Done():
			d.shutdown()
			return nil
		case <-t.C:
		}
	}
}

func (d *Dispatcher) shutdown() {
	d.stopAll()
	drained := make(chan struct{})
	go func() { d.inflight.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(d.cfg.DrainTime):
		d.abort()
		<-drained
	}
	d.abort()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := d.members.Leave(ctx); err != nil {
		d.log.Warn("cannot leave the dispatcher set; the others take over when the heartbeat lapses", "key", d.store.membersKey(), "err", err)
	}
}

// rebalance heartbeats, then converges the queues served on this
// dispatcher's rendezvous share: stop what moved away or whose lease ended,
// start what is new and free. Each loop also stops on its own when its
// lease is fenced (package lease), however long this takes.
func (d *Dispatcher) rebalance(ctx context.Context) error {
	members, err := d.members.Heartbeat(ctx)
	if err != nil {
		d.leases.FenceStale()
		d.stopEnded()
		return err
	}
	refs, err := d.store.queues(ctx)
	if err != nil {
		return err
	}
	want := map[Ref]bool{}
	for _, r := range refs {
		if d.members.Owns(members, r.String()) {
			want[r] = true
		}
	}
	err = d.leases.Renew(ctx)
	d.stopEnded()
	if err != nil {
		return err
	}
	for r := range d.loops {
		if !want[r] {
			d.stopLoop(r)
		}
	}
	for r := range want {
		if d.loops[r] != nil {
			continue
		}
		l, err := d.leases.Acquire(ctx, d.store.keys(r).lease)
		if err != nil || l == nil {
			continue // still held by its previous dispatcher
		}
		d.startLoop(r, l)
	}
	return nil
}

// stopEnded stops the loops whose lease ended.
func (d *Dispatcher) stopEnded() {
	for r, l := range d.loops {
		if err := l.lease.Context().Err(); err != nil {
			if errors.Is(context.Cause(l.lease.Context()), lease.ErrLost) {
				d.log.Warn("queue lease lost; stopping it", "queue", r.String())
			}
			d.stopLoop(r)
		}
	}
}

func (d *Dispatcher) startLoop(r Ref, held *lease.Lease) {
	ctx, cancel := context.WithCancel(held.Context())
	l := &loop{lease: held, cancel: cancel, done: make(chan struct{}), wake: make(chan struct{}, 1)}
	d.loops[r] = l
	go func() {
		defer close(l.done)
		d.serve(ctx, r, l)
	}()
}

// stopLoop stops taking items of a queue and frees its lease; its
// deliveries in flight go on.
func (d *Dispatcher) stopLoop(r Ref) {
	if l := d.loops[r]; l != nil {
		l.cancel()
		<-l.done
		delete(d.loops, r)
		_ = d.leases.Release(l.lease) // logged by Release
	}
}

func (d *Dispatcher) stopAll() {
	for r := range d.loops {
		d.stopLoop(r)
	}
}

// serve admits one queue's items as fast as the queue allows and starts a
// delivery for each.
func (d *Dispatcher) serve(ctx context.Context, r Ref, l *loop) {
	lease := d.cfg.Timeout + d.cfg.LeaseTTL
	for ctx.Err() == nil {
		res, it, wait, err := d.store.take(ctx, r, lease)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				d.log.Warn("queue: take failed", "queue", r.String(), "err", err)
			}
			wait = d.cfg.IdlePoll
		case res == taken:
			d.inflight.Add(1)
			go d.deliver(r, it, l.wake)
			continue
		case res == retry:
			continue
		case res == gone:
			if err := d.store.forget(ctx, r); err != nil {
				d.log.Warn("queue: cannot drop a deleted queue", "queue", r.String(), "err", err)
			}
			wait = d.cfg.IdlePoll
		case res == rated:
			// wait as told, to the microsecond
		case res == empty && wait > 0:
			wait = min(wait, d.cfg.IdlePoll)
		default: // paused, empty, in-flight limit
			wait = d.cfg.IdlePoll
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-l.wake: // a slot may be free
		case <-t.C:
		}
		t.Stop()
	}
}

// deliver POSTs one item and settles it.
func (d *Dispatcher) deliver(r Ref, it *item, wake chan struct{}) {
	defer d.inflight.Done()
	defer func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}()
	err := d.post(d.abortCtx, r, it)
	settle, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	switch {
	case err == nil:
		d.sent.Add(1)
		d.metrics.QueueItem(OutcomeDelivered)
		err = d.store.ack(settle, r, it.id)
	case d.abortCtx.Err() != nil:
		// Cut off by shutdown: back to the head of the queue, not an attempt.
		err = d.store.release(settle, r, it.id)
	default:
		d.failed.Add(1)
		d.log.Debug("queue item failed", "queue", r.String(), "item", it.id, "attempt", it.attempt, "err", err)
		backoff := d.cfg.RetryBackoff << min(it.attempt-1, 20)
		var dead bool
		if dead, err = d.store.fail(settle, r, it.id, d.cfg.Retries+1, backoff); dead {
			d.dead.Add(1)
			d.metrics.QueueItem(OutcomeDead)
			d.log.Warn("queue item moved to the dead-letter list", "queue", r.String(), "item", it.id, "attempts", it.attempt)
		} else {
			// Retried: back in the queue after the backoff, or, if fail
			// itself failed, once the item's lease expires.
			d.metrics.QueueItem(OutcomeRetried)
		}
	}
	if err != nil {
		// The lease expires and the item is delivered again.
		d.log.Warn("queue: cannot settle an item", "queue", r.String(), "item", it.id, "err", err)
	}
}

func (d *Dispatcher) post(ctx context.Context, r Ref, it *item) error {
	in, err := d.instances.Get(ctx, r.Instance)
	if err != nil {
		return err
	}
	_, err = d.client.Post(ctx, in, &delivery.Delivery{
		ID:         ItemID(r, it.gen, it.id),
		InstanceID: r.Instance,
		SessionID:  it.callback.SessionID,
		ListenerID: it.callback.ID,
		Path:       it.callback.Path,
		Kind:       Kind,
		AcceptedAt: time.Now(),
		Body:       it.body,
	}, it.attempt, 0)
	return err
}

// ItemID is the stable delivery id of an item.
func ItemID(r Ref, gen, id string) string {
	h := sha256.Sum256([]byte(r.Instance + "\x00" + r.Name + "\x00" + gen + "\x00" + id))
	return hex.EncodeToString(h[:16])
}
