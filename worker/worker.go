package worker

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/neru-dev/neru/delivery"
	"github.com/neru-dev/neru/internal/observe"
	"github.com/neru-dev/neru/session"
)

// JetStream is the slice of jetstream.JetStream a worker uses.
type JetStream interface {
	CreateOrUpdateConsumer(ctx context.Context, stream string, cfg jetstream.ConsumerConfig) (jetstream.Consumer, error)
	DeleteConsumer(ctx context.Context, stream, consumer string) error
	PublishMsg(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error)
}

// Worker owns a share of the partitions and delivers their events.
type Worker struct {
	cfg       Config
	js        JetStream
	rdb       redis.UniversalClient
	ks        string
	client    *delivery.Client
	instances Instances
	slots     chan struct{} // bounds app requests in flight (Config.Concurrency)
	log       *slog.Logger
	metrics   Metrics
	circuits  circuits

	sessions Sessions             // nil: no outcomes recorded, no sweeps
	outcomes chan session.Outcome // to the recorder; full means dropped
	observer observe.Observer     // told of every finished attempt; never nil

	// For the gauges and readiness: partitions owned after the last
	// rebalance, lanes running, and started closed after the first
	// rebalance that succeeded.
	owned, lanes atomic.Int64
	started      chan struct{}
	startOnce    sync.Once
}

// Sessions is the session lifecycle a worker drives besides delivering:
// it reports what became of deliveries and sweeps expired sessions.
// session.Store implements it. Both methods must be safe for concurrent
// use; ctx bounds each call.
type Sessions interface {
	// Record stores a batch of outcomes (the per-session recent list) and
	// extends the sliding sessions that had a delivery. It is called from
	// one background goroutine, never on the delivery path; a failed batch
	// is logged and lost.
	Record(ctx context.Context, batch []session.Outcome) error
	// Sweep cleans up after sessions that expired by now. Every worker calls
	// it every SweepInterval; it must itself make concurrent sweeps cheap
	// (owner and hold name the lock it may take) and be idempotent.
	Sweep(ctx context.Context, owner string, now time.Time, hold time.Duration) (int, error)
	// Ended reports whether a session has ended (expired or deleted) and
	// when. It is asked before every attempt: a delivery of an ended
	// session goes to the DLQ instead of reaching the app.
	Ended(ctx context.Context, instanceID, id string) (time.Time, bool, error)
}

// Option configures a worker.
type Option func(*Worker)

// WithSessions lets the worker record delivery outcomes per session, extend
// sliding sessions, and sweep expired ones.
func WithSessions(s Sessions) Option { return func(w *Worker) { w.sessions = s } }

// WithObserver tells o of every delivery attempt that finished.
func WithObserver(o observe.Observer) Option {
	return func(w *Worker) {
		if o != nil {
			w.observer = o
		}
	}
}

// outcomeBuffer is how many outcomes may wait for the recorder. Past it
// outcomes are dropped (and counted) rather than slow deliveries down.
const outcomeBuffer = 8192

// Metrics counts what a worker did since it started.
type Metrics struct {
	delivered, retried, dead atomic.Int64
	// outcomesDropped counts outcomes not recorded because the recorder
	// fell behind.
	outcomesDropped atomic.Int64
	// gaps counts partition restarts for deliveries lost between
	// JetStream and the worker.
	gaps atomic.Int64
}

// Snapshot returns delivered, retried and dead counts.
func (m *Metrics) Snapshot() (delivered, retried, dead int64) {
	return m.delivered.Load(), m.retried.Load(), m.dead.Load()
}

// OutcomesDropped is how many delivery outcomes were not recorded because
// the recorder fell behind.
func (m *Metrics) OutcomesDropped() int64 { return m.outcomesDropped.Load() }

// Gaps is how many times a partition restarted because deliveries were lost
// on their way from JetStream (see the package doc).
func (m *Metrics) Gaps() int64 { return m.gaps.Load() }

// New returns a worker. keyspace prefixes its Redis keys.
func New(cfg Config, js JetStream, rdb redis.UniversalClient, keyspace string, instances Instances, log *slog.Logger, opts ...Option) (*Worker, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.ID == "" {
		cfg.ID = "w-" + uuid.NewString()[:8]
	}
	w := &Worker{
		cfg: cfg, js: js, rdb: rdb, ks: keyspace, log: log.With("worker", cfg.ID),
		client: delivery.NewClient(cfg.Timeout, cfg.AppNetworks, cfg.Signer), instances: instances,
		slots: make(chan struct{}, cfg.Concurrency), outcomes: make(chan session.Outcome, outcomeBuffer),
		observer: observe.Discard, started: make(chan struct{}),
		circuits: circuits{threshold: cfg.CircuitThreshold, probeMax: cfg.CircuitProbe, m: map[string]*circuit{}},
	}
	for _, o := range opts {
		o(w)
	}
	return w, nil
}

// PartitionsOwned is how many partitions the worker owned after its last
// rebalance.
func (w *Worker) PartitionsOwned() int { return int(w.owned.Load()) }

// Lanes is how many session lanes are running (a session with a delivery
// in flight or queued).
func (w *Worker) Lanes() int { return int(w.lanes.Load()) }

// Started is closed once the worker's first rebalance succeeded: it holds
// its share of the partitions and their consumers.
func (w *Worker) Started() <-chan struct{} { return w.started }

// ID is the worker's id in the member set.
func (w *Worker) ID() string { return w.cfg.ID }

// Metrics returns the worker's counters.
func (w *Worker) Metrics() *Metrics { return &w.metrics }

// Run claims partitions and delivers until ctx ends, then stops every
// partition with the configured drain time and leaves the member set. With
// Sessions it also sweeps expired sessions and records delivery outcomes,
// flushing the last ones after the partitions have stopped.
func (w *Worker) Run(ctx context.Context) error {
	var bg sync.WaitGroup
	stopRecorder := func() {}
	if w.sessions != nil {
		rctx, cancel := context.WithCancel(context.Background())
		stopRecorder = cancel
		bg.Go(func() { w.recordLoop(rctx) })
		bg.Go(func() { w.sweepLoop(ctx) })
	}
	bg.Go(func() { w.publishCircuits(ctx, 2*time.Second) })
	// Deferred first, so it runs last: after releaseAll has drained the lanes.
	defer func() { stopRecorder(); bg.Wait() }()
	o := newOwnership(w)
	defer w.owned.Store(0) // after releaseAll: deferred calls run last first
	defer o.releaseAll()
	tick := time.NewTicker(w.cfg.LeaseTTL / 4)
	defer tick.Stop()
	for {
		if err := o.rebalance(ctx); err != nil && !errors.Is(err, context.Canceled) {
			w.log.Warn("rebalance failed", "err", err)
		} else if err == nil {
			w.startOnce.Do(func() { close(w.started) })
		}
		w.owned.Store(int64(len(o.owned)))
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// record hands an outcome to the recorder without ever waiting for it;
// code is the app's HTTP status (0: none) and took the attempt's latency.
func (w *Worker) record(d *delivery.Delivery, status string, attempt, code int, took time.Duration, err error) {
	if w.sessions == nil {
		return
	}
	o := session.Outcome{
		InstanceID: d.InstanceID, SessionID: d.SessionID, DeliveryID: d.ID, Path: d.Path, Kind: d.Kind,
		Status: status, Attempt: attempt, Code: code, LatencyMs: float64(took.Microseconds()) / 1000, At: time.Now().UTC(),
	}
	if err != nil {
		o.Error = err.Error()
		if len(o.Error) > 300 {
			o.Error = o.Error[:300]
		}
	}
	select {
	case w.outcomes <- o:
	default:
		w.metrics.outcomesDropped.Add(1)
	}
}

// observe tells the observer of an attempt that finished.
func (w *Worker) observe(d *delivery.Delivery, attempt, status int, outcome, why string, start time.Time, took time.Duration) {
	w.observer.Attempt(context.Background(), observe.Attempt{
		Instance: d.InstanceID, Session: d.SessionID, Delivery: d.ID, Listener: d.ListenerID, Path: d.Path,
		Kind: d.Kind, Attempt: attempt, Status: status, Outcome: outcome, Err: why, Accepted: d.AcceptedAt,
		Start: start, Duration: took,
	})
}

// recordLoop writes outcomes in batches until stop ends, then writes what
// is left.
func (w *Worker) recordLoop(stop context.Context) {
	const maxBatch = 512
	batch := make([]session.Outcome, 0, maxBatch)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := w.sessions.Record(ctx, batch); err != nil {
			w.log.Warn("recording delivery outcomes failed", "outcomes", len(batch), "err", err)
		}
		batch = batch[:0]
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case o := <-w.outcomes:
			if batch = append(batch, o); len(batch) == maxBatch {
				flush()
			}
		case <-tick.C:
			flush()
		case <-stop.Done():
			for {
				select {
				case o := <-w.outcomes:
					if batch = append(batch, o); len(batch) == maxBatch {
						flush()
					}
				default:
					flush()
					return
				}
			}
		}
	}
}

// sweepLoop sweeps expired sessions every SweepInterval until ctx ends.
func (w *Worker) sweepLoop(ctx context.Context) {
	tick := time.NewTicker(w.cfg.SweepInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			sctx, cancel := context.WithTimeout(ctx, max(w.cfg.SweepInterval, 5*time.Second))
			n, err := w.sessions.Sweep(sctx, w.cfg.ID, now, w.cfg.SweepInterval*3/4)
			cancel()
			if err != nil && ctx.Err() == nil {
				w.log.Warn("session sweep failed", "err", err)
			}
			if n > 0 {
				w.log.Debug("swept expired sessions", "sessions", n)
			}
		}
	}
}
