package admin

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/neru-dev/neru/applogs"
	"github.com/neru-dev/neru/assets"
	"github.com/neru-dev/neru/delivery"
	"github.com/neru-dev/neru/instance"
	"github.com/neru-dev/neru/internal/httpx"
	"github.com/neru-dev/neru/listener"
	"github.com/neru-dev/neru/queue"
	"github.com/neru-dev/neru/scheduler"
	"github.com/neru-dev/neru/session"
)

// Config configures the admin API.
type Config struct {
	// Token guards /admin/v1: every request must carry it as a bearer
	// token.
	Token string
	// DevLoopback, set only by `neru dev`, lets loopback clients in without
	// a token when Token is empty. It is an explicit option rather than
	// what an empty Token means, because behind a reverse proxy on the same
	// host every client is loopback: a production gateway that forgot its
	// token would serve an open admin API. With neither, every request is
	// refused (the production gateway does not start that way at all).
	DevLoopback bool
	MaxBody     int64 // request body cap; default 1 MiB
}

// Instances manages tenants (instance.Store). Get, Update and Delete
// return instance.ErrNotFound for an unknown id.
type Instances interface {
	Create(ctx context.Context, in *instance.Instance) error
	List(ctx context.Context) ([]*instance.Instance, error)
	Get(ctx context.Context, id string) (*instance.Instance, error)
	Update(ctx context.Context, id string, set instance.Settings) (*instance.Instance, error)
	Delete(ctx context.Context, id string) error
}

// Sessions reads and ends an instance's sessions (session.Store).
// StateKeys returns session.ErrNoState when there is no state store.
type Sessions interface {
	List(ctx context.Context, instanceID, cursor string, limit int) ([]*session.Session, string, error)
	Count(ctx context.Context, instanceID string) (int64, error)
	Get(ctx context.Context, instanceID, id string) (*session.Session, error)
	StateKeys(ctx context.Context, instanceID, id string) (int64, error)
	Recent(ctx context.Context, instanceID, id string) ([]session.Outcome, error)
	Reset(ctx context.Context, instanceID, id string) error
	Delete(ctx context.Context, instanceID, id string) error
}

// Listeners lists a session's listeners (listener.Store).
type Listeners interface {
	List(ctx context.Context, instanceID, sessionID string) ([]*listener.Listener, error)
}

// DeadLetters is the dead-letter stream of deliveries (delivery.DLQ).
// Replays put a delivery back on the event stream before removing it from
// the DLQ, so a failure never loses one.
type DeadLetters interface {
	List(ctx context.Context, instanceID string, o delivery.ListOptions) ([]*delivery.Dead, uint64, error)
	Get(ctx context.Context, instanceID string, seq uint64) (*delivery.Dead, error)
	Replay(ctx context.Context, instanceID string, seq uint64) error
	ReplayAll(ctx context.Context, instanceID, session string) (int, error)
	Discard(ctx context.Context, instanceID string, seq uint64) (*delivery.Dead, error)
}

// Schedules reads and cancels schedules (scheduler.Store).
type Schedules interface {
	Page(ctx context.Context, instanceID string, cursor int64, size int) ([]*scheduler.View, int64, error)
	Get(ctx context.Context, instanceID, id string) (*scheduler.View, error)
	Cancel(ctx context.Context, instanceID, id string) error
}

// Queues reads and steers queues (queue.Store).
type Queues interface {
	List(ctx context.Context, instanceID string) ([]string, error)
	Details(ctx context.Context, instanceID, name string) (*queue.Details, error)
	SetActive(ctx context.Context, instanceID, name string, on bool) error
	DeadLetters(ctx context.Context, instanceID, name string, max int) ([]string, error)
	PopDeadLetters(ctx context.Context, instanceID, name string, count int) ([]string, error)
}

// Logs reads what apps sent to logs-submission (applogs.Store).
type Logs interface {
	After(ctx context.Context, instanceID string, after, limit int64) ([]applogs.Entry, int64, error)
}

// Files lists an instance's assets (assets.Store).
type Files interface {
	List(ctx context.Context, tenant, prefix string, opt assets.ListOptions) ([]assets.Object, error)
}

// Deps are what the admin API is built from. DLQ nil: the dead-letter
// routes answer 503; Files nil: the assets route answers 503.
type Deps struct {
	Instances Instances
	Sessions  Sessions
	Listeners Listeners
	DLQ       DeadLetters
	// Deliveries nil: the held-session and circuit routes answer 503.
	Deliveries Deliveries
	Schedules  Schedules
	Queues     Queues
	Logs       Logs
	Files      Files
	// State reads a session's state with its values; nil: that route
	// answers 503. Stream is the live stream; nil: /tail answers 503.
	State  StateReader
	Stream Stream
	Log    *slog.Logger
}

// Admin serves /admin/v1.
type Admin struct {
	cfg Config
	d   Deps
}

// New builds the admin API.
func New(cfg Config, d Deps) *Admin {
	if cfg.MaxBody == 0 {
		cfg.MaxBody = 1 << 20
	}
	return &Admin{cfg: cfg, d: d}
}

// Errors are the HTTP answers of every error the admin routes return.
var Errors = httpx.Compose(instance.HTTPErrors, session.HTTPErrors, listener.HTTPErrors, delivery.HTTPErrors,
	scheduler.HTTPErrors, queue.HTTPErrors, assets.HTTPErrors)

// Register adds /admin/v1, with the live stream at /admin/v1/tail, and the
// web console at /console/ to the public listener.
func (a *Admin) Register(s *echo.Echo) {
	g := s.Group("/admin/v1")
	g.Use(a.auth)
	a.routeInstances(g)
	a.routeSchedules(g)
	a.routeQueues(g)
	a.routeSessions(g)
	a.routeDLQ(g)
	a.routeDeliveries(g)
	g.GET("/instances/:id/logs", a.listLogs)
	g.GET("/instances/:id/assets", a.listAssets)
	g.GET("/tail", a.watch)
	a.routeConsole(s)
}

// auth demands the admin bearer token, or, in dev mode without one, a
// loopback client.
func (a *Admin) auth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := a.open(c.Request()); err != nil {
			return err
		}
		if a.cfg.Token == "" {
			return next(c)
		}
		got, ok := httpx.Bearer(c.Request().Header.Get("Authorization"))
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(a.cfg.Token)) != 1 {
			return httpx.Errorf(http.StatusUnauthorized, "unauthorized", "a valid admin bearer token is required")
		}
		return next(c)
	}
}

// open refuses a request that no token can admit: without a Token, only
// loopback clients in dev mode get in.
func (a *Admin) open(r *http.Request) error {
	if a.cfg.Token != "" {
		return nil
	}
	if !a.cfg.DevLoopback {
		return httpx.Errorf(http.StatusForbidden, "forbidden", "the admin API is disabled: no admin token is configured (NERU_ADMIN_TOKEN)")
	}
	if !httpx.IsLoopback(r.RemoteAddr) {
		return httpx.Errorf(http.StatusForbidden, "forbidden", "the admin API without a token answers loopback clients only")
	}
	return nil
}

// instance resolves the :id of an admin route; an unknown instance is a
// 404 rather than an empty list.
func (a *Admin) instance(c echo.Context) (*instance.Instance, error) {
	return a.d.Instances.Get(c.Request().Context(), c.Param("id"))
}

// instanceID is the checked :id of an admin route.
func (a *Admin) instanceID(c echo.Context) (string, error) {
	in, err := a.instance(c)
	if err != nil {
		return "", err
	}
	return in.ID, nil
}

// param is a path parameter, unescaped (echo leaves %xx in place when the
// request path needed escaping).
func param(c echo.Context, name string) string {
	v := c.Param(name)
	if u, err := url.PathUnescape(v); err == nil {
		return u
	}
	return v
}

// decodeStrict decodes one JSON value, refusing unknown fields, as a 400.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return httpx.Errorf(http.StatusBadRequest, "bad_json", "invalid JSON body: %v", err)
	}
	return nil
}

func queryInt(c echo.Context, name string, def int64) (int64, error) {
	v := c.QueryParam(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, httpx.Errorf(http.StatusBadRequest, "bad_query", "%s must be a non-negative integer", name)
	}
	return n, nil
}
