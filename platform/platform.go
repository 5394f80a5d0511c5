// Package platform wires the platform's parts from one Config: the Redis
// client, the NATS connection and streams, the stores, and the gateway and
// worker built on them. cmd/gateway, cmd/worker and `neru dev` all go
// through it, so dev mode runs exactly the production wiring.
package platform

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/neru-dev/neru/delivery"
	"github.com/neru-dev/neru/gateway"
	"github.com/neru-dev/neru/instance"
	"github.com/neru-dev/neru/internal/redisx"
	"github.com/neru-dev/neru/listener"
	"github.com/neru-dev/neru/session"
	"github.com/neru-dev/neru/worker"
)

// Platform holds the shared connections and stores.
type Platform struct {
	Config    Config
	Redis     redis.UniversalClient
	NATS      *nats.Conn
	JS        jetstream.JetStream
	Instances *instance.Store
	Listeners *listener.Store
	Sessions  *session.Store
	// Events publishes onto NERU_EVENTS' Config.Partitions partitions: the
	// gateway's router, the scheduler and DLQ replay all go through it.
	Events *delivery.Publisher
	Log    *slog.Logger
}

// Open connects to Redis and NATS and makes sure the streams exist.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*Platform, error) {
	cfg.setDefaults()
	rdb, err := redisx.Open(cfg.RedisURL)
	if err != nil {
		return nil, err
	}
	if err := rdb.Ping(ctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("platform: redis does not answer: %w", err)
	}
	nc, err := nats.Connect(cfg.NATSURL, nats.Name("neru"), nats.MaxReconnects(-1))
	if err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("platform: connect to NATS: %w", err)
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
	if err == nil {
		err = delivery.EnsureStreams(ctx, js, delivery.StreamConfig{Replicas: cfg.StreamReplicas})
	}
	var events *delivery.Publisher
	if err == nil {
		events, err = delivery.NewPublisher(js, cfg.Partitions)
	}
	if err != nil {
		nc.Close()
		_ = rdb.Close()
		return nil, fmt.Errorf("platform: jetstream: %w", err)
	}
	instances := instance.NewStore(rdb, cfg.Keyspace, instance.WithLogger(log.With("component", "instances")))
	listeners := listener.NewStore(rdb, cfg.Keyspace, listener.WithLogger(log.With("component", "listeners")))
	return &Platform{
		Config:    cfg,
		Redis:     rdb,
		NATS:      nc,
		JS:        js,
		Instances: instances,
		Listeners: listeners,
		Sessions:  newSessions(rdb, cfg, instances, listeners),
		Events:    events,
		Log:       log,
	}, nil
}

// Gateway builds the gateway.
func (p *Platform) Gateway() (*gateway.Gateway, error) {
	return gateway.New(p.Config.Gateway, gateway.Deps{
		Redis: p.Redis, Keyspace: p.Config.Keyspace, NATS: p.NATS, Publisher: p.Events,
		Instances: p.Instances, Listeners: p.Listeners, Sessions: p.Sessions, Log: p.logger("gateway"),
		JetStream: p.JS,
	})
}

// Worker builds a worker.
func (p *Platform) Worker() (*worker.Worker, error) {
	cfg := p.Config.Worker
	cfg.Partitions = p.Config.Partitions
	return worker.New(cfg, p.JS, p.Redis, p.Config.Keyspace, p.Instances, p.logger("worker"),
		worker.WithSessions(p.Sessions))
}

// logger is the logger of one part of the platform: every line names the
// part once.
func (p *Platform) logger(component string) *slog.Logger { return p.Log.With("component", component) }

// Close drains NATS (flushing pending publishes) and closes Redis.
func (p *Platform) Close() {
	_ = p.NATS.Drain()
	_ = p.Redis.Close()
}

// WorkerProcess builds everything a worker process runs (event delivery,
// schedule firing, queue dispatch) and returns one function running them
// all until ctx ends. cmd/worker and `neru dev` both use it.
func (p *Platform) WorkerProcess() (func(context.Context) error, error) {
	w, err := p.Worker()
	if err != nil {
		return nil, err
	}
	sched, err := p.Scheduler()
	if err != nil {
		return nil, err
	}
	queues, err := p.Queues()
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error {
		eg, ctx := errgroup.WithContext(ctx)
		eg.Go(func() error { return w.Run(ctx) })      // NERU_EVENTS → app routes
		eg.Go(func() error { return sched.Run(ctx) })  // schedules due → NERU_EVENTS
		eg.Go(func() error { return queues.Run(ctx) }) // queue items → app, rate-limited
		return eg.Wait()
	}, nil
}
