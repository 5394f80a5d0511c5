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

	"github.com/neru-dev/neru/assets"
	"github.com/neru-dev/neru/delivery"
	"github.com/neru-dev/neru/instance"
	"github.com/neru-dev/neru/internal/httpx"
	"github.com/neru-dev/neru/listener"
	"github.com/neru-dev/neru/providers/messages"
	"github.com/neru-dev/neru/providers/voice"
	"github.com/neru-dev/neru/queue"
	"github.com/neru-dev/neru/router"
	"github.com/neru-dev/neru/scheduler"
	"github.com/neru-dev/neru/session"
	"github.com/neru-dev/neru/state"
)

// Deps are the stores and connections a gateway is built from.
type Deps struct {
	Redis     redis.UniversalClient
	Keyspace  string
	NATS      *nats.Conn
	Publisher *delivery.Publisher // NERU_EVENTS, and the partition count
	Instances *instance.Store
	Listeners *listener.Store
	Sessions  *session.Store
	Log       *slog.Logger
	// VonageKeys signs vonage-api's upstream calls; nil: Config.VonageKeysDir.
	VonageKeys VonageKeys
	// Assets keeps vonage-assets' files; nil: Config.Assets.Dir.
	Assets assets.Store
	// JetStream serves the admin API's dead-letter endpoints; nil: they
	// answer 503.
	JetStream delivery.DLQJetStream
}

// Gateway serves webhooks, the admin API and the SDK command endpoint.
type Gateway struct {
	cfg    Config
	d      Deps
	router *router.Router
	client *delivery.Client
	log    *slog.Logger
	state  *state.Store
	vonage *vonageAPI
	links  *assets.Linker // signs vonage-assets download links

	public, command *echo.Echo
	verified        verifiedTokens // RS256 tokens already checked (auth.go)
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
		router: router.New(d.Listeners, d.Sessions, d.Publisher),
		client: delivery.NewClient(cfg.AnswerTimeout, cfg.AllowPrivateNetworks),
		log:    d.Log,
		state:  state.NewStore(d.Redis, d.Keyspace, state.SessionTTLFunc(d.Sessions.EnsureExpiry)),
	}
	keys := d.VonageKeys
	if keys == nil && cfg.VonageKeysDir != "" {
		keys = NewKeyDir(cfg.VonageKeysDir)
	}
	g.vonage = newVonageAPI(cfg, keys)
	if err := g.initAssets(); err != nil {
		return nil, err
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
	eg.Go(func() error { g.sweepAssets(ctx); return nil })
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
	case errors.Is(err, session.ErrTooMany):
		return &httpx.Error{Status: http.StatusTooManyRequests, Code: "too_many_sessions", Message: err.Error()}
	case errors.Is(err, delivery.ErrDeadNotFound):
		status = http.StatusNotFound
	case errors.Is(err, session.ErrBadCursor):
		status = http.StatusBadRequest
	case errors.Is(err, state.ErrUnknownOperation), errors.Is(err, state.ErrBadArgs):
		status = http.StatusBadRequest
	case errors.Is(err, state.ErrWrongType):
		return &httpx.Error{Status: http.StatusConflict, Code: "wrong_type", Message: err.Error()}
	case errors.Is(err, state.ErrUnsupported):
		return &httpx.Error{Status: http.StatusNotImplemented, Code: "not_implemented",
			Message: "full-text search (FT.CREATE, FT.SEARCH, FT.DROPINDEX) is not supported by this runtime: " + err.Error()}
	case errors.Is(err, assets.ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, assets.ErrInvalidPath), errors.Is(err, assets.ErrInvalidRetention):
		status = http.StatusBadRequest
	case errors.Is(err, assets.ErrConflict):
		status = http.StatusConflict
	case errors.Is(err, assets.ErrLinkInvalid), errors.Is(err, assets.ErrLinkExpired):
		return &httpx.Error{Status: http.StatusForbidden, Code: "forbidden", Message: err.Error()}
	case errors.Is(err, scheduler.ErrNotFound), errors.Is(err, queue.ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, scheduler.ErrInvalid), errors.Is(err, queue.ErrInvalid):
		status = http.StatusBadRequest
	case errors.Is(err, scheduler.ErrTooLarge), errors.Is(err, queue.ErrTooLarge):
		return &httpx.Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: err.Error()}
	case errors.Is(err, scheduler.ErrLimit), errors.Is(err, queue.ErrFull):
		return &httpx.Error{Status: http.StatusTooManyRequests, Code: "limit_exceeded", Message: err.Error()}
	default:
		return nil
	}
	return &httpx.Error{Status: status, Code: httpx.CodeFor(status), Message: err.Error()}
}
