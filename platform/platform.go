// Package platform is the composition root: from one Config it opens the
// Redis client and the NATS connection, makes sure the streams exist, and
// builds every store and client once (instances, listeners, sessions,
// state, schedules, queues, the DLQ, app logs, the assets disk and link
// signer, the Vonage key directory, the router); then the gateway (edge,
// SDK endpoint, admin API) and the worker process on them. cmd/gateway,
// cmd/worker and `neru dev` all go through it, so dev mode runs exactly the
// production wiring. Nothing else opens Redis or NATS.
//
// It owns no Redis keys and no NATS subjects of its own.
package platform

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/neru-dev/neru/applogs"
	"github.com/neru-dev/neru/assets"
	"github.com/neru-dev/neru/delivery"
	"github.com/neru-dev/neru/instance"
	"github.com/neru-dev/neru/internal/observe"
	"github.com/neru-dev/neru/internal/readiness"
	"github.com/neru-dev/neru/internal/telemetry"
	"github.com/neru-dev/neru/listener"
	"github.com/neru-dev/neru/queue"
	"github.com/neru-dev/neru/router"
	"github.com/neru-dev/neru/scheduler"
	"github.com/neru-dev/neru/sdkapi"
	"github.com/neru-dev/neru/session"
	"github.com/neru-dev/neru/state"
	"github.com/neru-dev/neru/tail"
	"github.com/neru-dev/neru/worker"
)

// Platform holds the shared connections and every store, built once.
type Platform struct {
	Config Config
	Redis  redis.UniversalClient
	NATS   *nats.Conn
	JS     jetstream.JetStream

	Instances *instance.Store
	Listeners *listener.Store
	Sessions  *session.Store
	// Events publishes onto NERU_EVENTS' Config.Partitions partitions: the
	// router, the scheduler, DLQ replay and vonage-api callbacks all go
	// through it.
	Events        *delivery.Publisher
	State         *state.Store
	ScheduleStore *scheduler.Store
	QueueStore    *queue.Store
	DLQ           *delivery.DLQ
	Logs          *applogs.Store
	Router        *router.Router
	// Assets keeps vonage-assets' files; nil when Config.Gateway.Assets.Dir
	// is empty (the provider answers 503).
	Assets *assets.Disk
	Links  *assets.Linker
	// VonageKeys signs vonage-api's upstream calls; nil when
	// Config.Gateway.VonageKeysDir is empty (vonage-api answers 503).
	VonageKeys sdkapi.VonageKeys
	// Ready says whether the process can serve, and what it waits for
	// (/readyz).
	Ready *readiness.Reporter
	// Observers are told of every webhook the gateway answers and every
	// delivery attempt the worker finishes (metrics, the console's stream);
	// one may be added at any time.
	Observers *observe.Fanout
	// Signer signs every request to apps with VonageKeys' key (a JWT) and the
	// instance's delivery secrets (webhook-signature).
	Signer *delivery.Signer
	// Metrics is the process's registry (Instrument); nil until set.
	Metrics *telemetry.Metrics
	Log     *slog.Logger

	workers *workerSet // built by Worker, for the gauges

	closed chan struct{} // closed when the NATS connection is
}

// Open connects to Redis and NATS, waiting for them and for the streams
// (see connect), and builds the stores.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*Platform, error) {
	return OpenReporting(ctx, cfg, log, readiness.New())
}

// OpenReporting is Open reporting to ready what it waits for, so that an
// operations listener started before it can answer /readyz meanwhile.
// Platform.Ready is ready afterwards, with live checks of Redis and NATS.
func OpenReporting(ctx context.Context, cfg Config, log *slog.Logger, ready *readiness.Reporter) (*Platform, error) {
	cfg.setDefaults()
	closed := make(chan struct{})
	rdb, nc, js, err := connect(ctx, cfg, log, ready,
		nats.DrainTimeout(cfg.Gateway.ShutdownTimeout),
		nats.ClosedHandler(func(*nats.Conn) { close(closed) }))
	if err != nil {
		return nil, err
	}
	events, err := delivery.NewPublisher(js, cfg.Partitions)
	if err != nil {
		nc.Close()
		_ = rdb.Close()
		return nil, fmt.Errorf("platform: %w", err)
	}
	p := &Platform{Config: cfg, Redis: rdb, NATS: nc, JS: js, Events: events, Ready: ready, Observers: &observe.Fanout{}, Log: log, closed: closed}
	if err := p.build(); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// build makes every store once.
func (p *Platform) build() error {
	cfg, rdb, ks := p.Config, p.Redis, p.Config.Keyspace
	p.workers = &workerSet{}
	p.Instances = instance.NewStore(rdb, ks, instance.WithLogger(p.logger("instances")))
	p.Listeners = listener.NewStore(rdb, ks, listener.WithLogger(p.logger("listeners")))
	p.ScheduleStore = scheduler.NewStore(rdb, ks, 0)
	p.QueueStore = queue.NewStore(rdb, ks, queue.Limits{})
	p.Sessions, p.State = newSessions(rdb, cfg, p.Instances, p.Listeners, p.ScheduleStore, p.QueueStore)
	p.DLQ = delivery.NewDLQ(p.JS, p.Events)
	p.Logs = applogs.NewStore(rdb, ks, cfg.Gateway.LogsKept)
	p.Router = router.New(p.Listeners, p.Sessions, p.Events)
	// The live stream (neru tail, the console) is one more observer; it
	// publishes only while somebody watches.
	live, err := tail.NewPublisher(p.NATS, p.logger("tail"))
	if err != nil {
		return fmt.Errorf("platform: live stream: %w", err)
	}
	p.Observers.Add(live)
	a := cfg.Gateway.Assets
	if a.Dir != "" {
		disk, err := assets.NewDisk(a.Dir)
		if err != nil {
			return err
		}
		p.Assets = disk
	}
	secret := []byte(a.LinkSecret)
	if len(secret) == 0 {
		secret = make([]byte, 32)
		_, _ = rand.Read(secret)
	}
	links, err := assets.NewLinker(secret)
	if err != nil {
		return err
	}
	p.Links = links
	if cfg.Gateway.VonageKeysDir != "" {
		p.VonageKeys = sdkapi.NewKeyDir(cfg.Gateway.VonageKeysDir)
	}
	// One signer for every request to apps, so each instance's JWT is minted
	// once per process, not once per client.
	var keys delivery.Keys
	if p.VonageKeys != nil {
		keys = p.VonageKeys
	}
	p.Signer = delivery.NewSigner(keys, p.logger("signing"))
	return nil
}

// Worker builds a worker.
func (p *Platform) Worker() (*worker.Worker, error) {
	cfg := p.Config.Worker
	cfg.Partitions = p.Config.Partitions
	cfg.AppNetworks = p.Config.AppNetworks
	cfg.Signer = p.Signer
	w, err := worker.New(cfg, p.JS, p.Redis, p.Config.Keyspace, p.Instances, p.logger("worker"),
		worker.WithSessions(p.Sessions), worker.WithObserver(p.Observers))
	if err == nil {
		p.workers.add(w)
	}
	return w, err
}

// logger is the logger of one part of the platform: every line names the
// part once.
func (p *Platform) logger(component string) *slog.Logger { return p.Log.With("component", component) }

// Close drains NATS, waiting until the connection is closed (so pending
// publishes are flushed and in-flight messages finished) for at most the
// shutdown timeout, then closes Redis and the assets disk.
func (p *Platform) Close() {
	if err := p.NATS.Drain(); err == nil {
		t := time.NewTimer(p.Config.Gateway.ShutdownTimeout)
		select {
		case <-p.closed:
		case <-t.C:
			p.Log.Warn("NATS drain did not finish within the shutdown timeout; closing", "timeout", p.Config.Gateway.ShutdownTimeout)
			p.NATS.Close()
		}
		t.Stop()
	}
	_ = p.Redis.Close()
	if p.Assets != nil {
		_ = p.Assets.Close()
	}
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
	workerReady(p.Ready, w)
	return func(ctx context.Context) error {
		eg, ctx := errgroup.WithContext(ctx)
		eg.Go(func() error { return w.Run(ctx) })      // NERU_EVENTS → app routes
		eg.Go(func() error { return sched.Run(ctx) })  // schedules due → NERU_EVENTS
		eg.Go(func() error { return queues.Run(ctx) }) // queue items → app, rate-limited
		return eg.Wait()
	}, nil
}
