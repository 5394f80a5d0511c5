package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/neru-dev/neru/delivery"
	"github.com/neru-dev/neru/instance"
	"github.com/neru-dev/neru/internal/httpx"
	"github.com/neru-dev/neru/listener"
	"github.com/neru-dev/neru/providers/messages"
	"github.com/neru-dev/neru/providers/voice"
	"github.com/neru-dev/neru/router"
	"github.com/neru-dev/neru/session"
)

// Deps are the stores and connections a gateway is built from.
type Deps struct {
	Redis     redis.UniversalClient
	Keyspace  string
	NATS      *nats.Conn
	Publisher router.Publisher
	Instances *instance.Store
	Listeners *listener.Store
	Sessions  *session.Store
	Log       *slog.Logger
}

// Gateway serves webhooks, the admin API and the SDK command endpoint.
type Gateway struct {
	cfg    Config
	d      Deps
	router *router.Router
	client *delivery.Client
	log    *slog.Logger

	public, command *echo.Echo
}

// New builds a gateway.
func New(cfg Config, d Deps) (*Gateway, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	g := &Gateway{
		cfg:    cfg,
		d:      d,
		router: router.New(d.Listeners, d.Sessions, d.Publisher, cfg.Partitions),
		client: delivery.NewClient(cfg.AnswerTimeout, cfg.AllowPrivateNetworks),
		log:    d.Log,
	}
	g.public = g.newEcho()
	g.routePublic(g.public)
	g.command = g.newEcho()
	g.routeCommand(g.command)
	return g, nil
}

func (g *Gateway) newEcho() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = httpx.ErrorHandler(g.log, mapError)
	// The SDKs pool keep-alive sockets for 30 s; idle longer than that, so a
	// reused socket is never closed under a request.
	e.Server.IdleTimeout = 75 * time.Second
	e.Server.ReadHeaderTimeout = 10 * time.Second
	return e
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
	serve(g.public, g.cfg.Addr)
	if g.cfg.CommandAddr != "-" {
		serve(g.command, g.cfg.CommandAddr)
	}
	return eg.Wait()
}

// mapError is the one table from domain errors to HTTP errors.
func mapError(err error) *httpx.Error {
	var status int
	switch {
	case errors.Is(err, instance.ErrNotFound), errors.Is(err, listener.ErrNotFound), errors.Is(err, session.ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, instance.ErrExists):
		status = http.StatusConflict
	case errors.Is(err, instance.ErrInvalid), errors.Is(err, listener.ErrInvalid), errors.Is(err, session.ErrInvalidID),
		errors.Is(err, messages.ErrBadWebhook), errors.Is(err, voice.ErrBadWebhook):
		status = http.StatusBadRequest
	case errors.Is(err, router.ErrUnavailable):
		return httpx.Errorf(http.StatusServiceUnavailable, "unavailable", "event bus unavailable, retry later")
	default:
		return nil
	}
	return &httpx.Error{Status: status, Code: codeOf(status), Message: err.Error()}
}

func codeOf(status int) string {
	switch status {
	case http.StatusNotFound:
		return "not_found"
	case http.StatusConflict:
		return "conflict"
	}
	return "bad_request"
}
