package platform

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/sync/errgroup"

	"github.com/neru-dev/neru/admin"
	"github.com/neru-dev/neru/assets"
	"github.com/neru-dev/neru/delivery"
	"github.com/neru-dev/neru/edge"
	"github.com/neru-dev/neru/internal/httpx"
	"github.com/neru-dev/neru/internal/telemetry"
	"github.com/neru-dev/neru/providers"
	"github.com/neru-dev/neru/providers/messages"
	"github.com/neru-dev/neru/providers/voice"
	"github.com/neru-dev/neru/sdkapi"
	"github.com/neru-dev/neru/tail"
	"github.com/neru-dev/neru/worker"
)

// eventProviders are the providers whose webhooks the edge serves and
// whose listener actions the SDK endpoint serves. A new one is a package
// with a providers.Descriptor and a line here.
var eventProviders = []providers.Descriptor{voice.Descriptor, messages.Descriptor}

// Gateway is a gateway process: the public listener (edge and admin API)
// and the SDK command endpoint, and the assets sweep.
type Gateway struct {
	cfg             GatewayConfig
	public, command *echo.Echo
	files           *assets.Disk
	log             *slog.Logger
}

// Gateway builds the gateway on the platform's stores.
func (p *Platform) Gateway() (*Gateway, error) {
	cfg := p.Config.Gateway
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := p.logger("gateway")
	if p.Assets != nil {
		if cfg.Assets.LinkSecret == "" {
			log.Warn("assets: no link secret (NERU_ASSETS_LINK_SECRET): download links are valid only on this gateway, until it restarts")
		}
		if cfg.Assets.publicURLDefaulted {
			log.Warn("assets: download links point at " + cfg.Assets.PublicURL + "; set NERU_PUBLIC_URL to the address their recipients reach")
		}
	}
	// A nil *assets.Disk must reach the handlers as a nil interface.
	var files assets.Store
	var edgeFiles edge.Files
	var adminFiles admin.Files
	if p.Assets != nil {
		files, edgeFiles, adminFiles = p.Assets, p.Assets, p.Assets
	}

	ed, err := edge.New(cfg.edge(), edge.Deps{
		Instances: p.Instances,
		Router:    p.Router,
		// The answer timeout bounds each call through its context.
		App: delivery.NewClient(0, p.Config.AppNetworks, p.Signer),
		Bus: p.NATS,
		Checks: []edge.Check{
			{Code: "redis_unavailable", Message: "redis does not answer", Ready: redisReady(p.Redis)},
			{Code: "nats_unavailable", Message: "not connected to NATS", Ready: natsReady(p.NATS)},
		},
		Providers:   eventProviders,
		Links:       p.Links,
		Files:       edgeFiles,
		Observer:    p.Observers,
		AppNetworks: p.Config.AppNetworks,
		Log:         log,
	})
	if err != nil {
		return nil, err
	}
	api, err := sdkapi.New(cfg.sdkapi(), sdkapi.Deps{
		Instances: p.Instances, Sessions: p.Sessions, Listeners: p.Listeners, State: p.State,
		Publisher: p.Events, Schedules: p.ScheduleStore, Queues: p.QueueStore, Logs: p.Logs,
		Files: files, Links: p.Links, VonageKeys: p.VonageKeys, Providers: eventProviders, Log: log,
	})
	if err != nil {
		return nil, err
	}
	adm := admin.New(admin.Config{Token: cfg.AdminToken, DevLoopback: cfg.DevAdminLoopback, MaxBody: cfg.MaxBody}, admin.Deps{
		Instances: p.Instances, Sessions: p.Sessions, Listeners: p.Listeners, DLQ: p.DLQ,
		Deliveries: worker.NewStatus(p.Redis, p.Config.Keyspace, p.Events.Partitions()),
		Schedules:  p.ScheduleStore, Queues: p.QueueStore, Logs: p.Logs, Files: adminFiles,
		State: p.State, Stream: tail.NewWatcher(p.NATS), Log: log,
	})

	g := &Gateway{cfg: cfg, files: p.Assets, log: log}
	g.public = httpx.NewEcho(log, httpx.Compose(ed.Errors(), admin.Errors))
	ed.Register(g.public)
	adm.Register(g.public)
	cmdErrors := httpx.Compose(api.Errors())
	g.command = httpx.NewEcho(log, cmdErrors)
	if m := p.Metrics; m != nil {
		g.command.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
			return func(c echo.Context) error {
				err := next(c)
				status := c.Response().Status
				if err != nil {
					status = httpx.Status(err, cmdErrors.Map)
				}
				m.SDKCommand(api.Provider(c.Request()), status)
				return err
			}
		})
	}
	api.Register(g.command)
	return g, nil
}

// ServeOpsOnPublic adds the operations endpoints /metrics and
// /debug/pprof/ to the public listener (whose /healthz and /readyz are the
// edge's). For `neru dev`, one listener for everything; never in
// production, where they stay on NERU_OPS_ADDR.
func (g *Gateway) ServeOpsOnPublic(m *telemetry.Metrics) {
	mux := http.NewServeMux()
	telemetry.Mount(mux, m, nil)
	h := echo.WrapHandler(mux)
	g.public.GET("/metrics", h)
	g.public.Any("/debug/pprof/*", h)
}

// Handler is the public HTTP handler, for tests that serve it themselves.
func (g *Gateway) Handler() http.Handler { return g.public }

// CommandHandler is the SDK command endpoint's handler.
func (g *Gateway) CommandHandler() http.Handler { return g.command }

// Run serves until ctx ends, then shuts both listeners down gracefully.
func (g *Gateway) Run(ctx context.Context) error {
	eg, ctx := errgroup.WithContext(ctx)
	serve := func(e *echo.Echo, addr string) {
		eg.Go(func() error {
			l, err := net.Listen("tcp", addr)
			if err != nil {
				return err
			}
			e.Listener = l
			if err := e.Start(""); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
		eg.Go(func() error {
			<-ctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), g.cfg.ShutdownTimeout)
			defer cancel()
			return e.Shutdown(sctx)
		})
	}
	eg.Go(func() error { g.sweepAssets(ctx); return nil })
	serve(g.public, g.cfg.Addr)
	if g.cfg.CommandAddr != "-" {
		serve(g.command, g.cfg.CommandAddr)
	}
	return eg.Wait()
}

// sweepAssets deletes expired files every SweepInterval until ctx ends.
func (g *Gateway) sweepAssets(ctx context.Context) {
	if g.files == nil || g.cfg.Assets.SweepInterval <= 0 {
		return
	}
	tick := time.NewTicker(g.cfg.Assets.SweepInterval)
	defer tick.Stop()
	for {
		n, err := g.files.Sweep(ctx, time.Now())
		switch {
		case err != nil && ctx.Err() == nil:
			g.log.Error("assets: sweep failed", "err", err, "deleted", n)
		case n > 0:
			g.log.Info("assets: expired files deleted", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
