package worker

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/neru-dev/neru/delivery"
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
}

// Metrics counts what a worker did since it started.
type Metrics struct {
	delivered, retried, dead atomic.Int64
}

// Snapshot returns delivered, retried and dead counts.
func (m *Metrics) Snapshot() (delivered, retried, dead int64) {
	return m.delivered.Load(), m.retried.Load(), m.dead.Load()
}

// New returns a worker. keyspace prefixes its Redis keys.
func New(cfg Config, js JetStream, rdb redis.UniversalClient, keyspace string, instances Instances, log *slog.Logger) (*Worker, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.ID == "" {
		cfg.ID = "w-" + uuid.NewString()[:8]
	}
	return &Worker{
		cfg: cfg, js: js, rdb: rdb, ks: keyspace, log: log.With("worker", cfg.ID),
		client: delivery.NewClient(cfg.Timeout, cfg.AllowPrivateNetworks), instances: instances,
		slots: make(chan struct{}, cfg.Concurrency),
	}, nil
}

// ID is the worker's id in the member set.
func (w *Worker) ID() string { return w.cfg.ID }

// Metrics returns the worker's counters.
func (w *Worker) Metrics() *Metrics { return &w.metrics }

// Run claims partitions and delivers until ctx ends, then stops every
// partition with the configured drain time and leaves the member set.
func (w *Worker) Run(ctx context.Context) error {
	o := newOwnership(w)
	defer o.releaseAll()
	tick := time.NewTicker(w.cfg.LeaseTTL / 4)
	defer tick.Stop()
	for {
		if err := o.rebalance(ctx); err != nil && !errors.Is(err, context.Canceled) {
			w.log.Warn("rebalance failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
