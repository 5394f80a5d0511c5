package edge

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httputil"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/neru-dev/neru/assets"
	"github.com/neru-dev/neru/delivery"
	"github.com/neru-dev/neru/instance"
	"github.com/neru-dev/neru/internal/httpx"
	"github.com/neru-dev/neru/internal/observe"
	"github.com/neru-dev/neru/listener"
	"github.com/neru-dev/neru/providers"
	"github.com/neru-dev/neru/router"
)

// DefaultFallbackNCCO is answered to a call when the app cannot be reached.
const DefaultFallbackNCCO = `[{"action":"talk","text":"Sorry, we cannot take your call right now. Please try again later."}]`

// Config configures the edge. Zero values take the defaults.
type Config struct {
	MaxBody       int64         // webhook body cap; default 1 MiB
	AnswerTimeout time.Duration // how long a call waits for the app's NCCO; default 4s
	// PublishTimeout bounds the wait for JetStream to store a webhook's
	// deliveries; past it the webhook gets a 503 and the provider retries.
	PublishTimeout time.Duration // default 5s
	FallbackNCCO   string        // default DefaultFallbackNCCO
	// SignatureWindow is how far a signed webhook's iat may be from now
	// (NERU_WEBHOOK_SIGNATURE_WINDOW); default 5m.
	SignatureWindow time.Duration
	// WarnUnsigned logs once per instance that accepts unsigned webhooks
	// (the production gateway; not `neru dev`).
	WarnUnsigned bool
}

func (c *Config) setDefaults() {
	if c.MaxBody == 0 {
		c.MaxBody = 1 << 20
	}
	if c.AnswerTimeout == 0 {
		c.AnswerTimeout = 4 * time.Second
	}
	if c.PublishTimeout == 0 {
		c.PublishTimeout = 5 * time.Second
	}
	if c.FallbackNCCO == "" {
		c.FallbackNCCO = DefaultFallbackNCCO
	}
	if c.SignatureWindow == 0 {
		c.SignatureWindow = 5 * time.Minute
	}
}

// Validate reports a configuration that cannot work.
func (c *Config) Validate() error {
	var ncco []json.RawMessage
	if json.Unmarshal([]byte(c.FallbackNCCO), &ncco) != nil {
		return errors.New("edge: FallbackNCCO must be a JSON array")
	}
	return nil
}

// Instances resolves the instance a webhook or a download link belongs to.
// Both methods return instance.ErrNotFound (possibly wrapped) for an
// unknown one; they may answer from a short-lived cache.
type Instances interface {
	ByApplication(ctx context.Context, applicationID string) (*instance.Instance, error)
	Get(ctx context.Context, id string) (*instance.Instance, error)
}

// Router is the matching and publishing the webhooks need (package router).
// Route and RouteInput return only after JetStream stored what they
// published, or an error wrapping router.ErrUnavailable.
type Router interface {
	Route(ctx context.Context, instanceID string, ev *router.Event) (int, error)
	Answerer(ctx context.Context, instanceID string, ev *router.Event) (*listener.Listener, error)
	RouteInput(ctx context.Context, instanceID string, ev *router.Event) (*listener.Listener, error)
	Handoff(ctx context.Context, instanceID string, ev *router.Event, l *listener.Listener) error
}

// AppClient posts one delivery to an app route and returns the app's body
// on a 2xx, or a *delivery.StatusError (delivery.Client). It must be safe
// for concurrent use.
type AppClient interface {
	Post(ctx context.Context, in *instance.Instance, d *delivery.Delivery, attempt int, maxBody int64) ([]byte, error)
}

// Bus reports whether the event bus is reachable now; while it is not,
// webhooks are refused with 503 at once rather than queued in memory.
type Bus interface {
	IsConnected() bool
}

// Check is one readiness check of /readyz: Ready returns an error when the
// dependency does not answer; Code names it in the 503.
type Check struct {
	Code, Message string
	Ready         func(ctx context.Context) error
}

// Links verifies vonage-assets download tokens (assets.Linker).
type Links interface {
	Verify(token string, now time.Time) (tenant, name string, err error)
}

// Files reads an asset (assets.Store); it returns assets.ErrNotFound for a
// missing or expired file.
type Files interface {
	Get(ctx context.Context, tenant, name string) (io.ReadCloser, assets.Object, error)
}

// Deps are what the edge is built from.
type Deps struct {
	Instances Instances
	Router    Router
	App       AppClient
	Bus       Bus
	Checks    []Check
	Providers []providers.Descriptor // whose webhooks are served
	Links     Links
	Files     Files // nil: vonage-assets is off and links are 404
	// Observer is told of every webhook answered (nil: nobody is).
	Observer observe.Observer
	// AppNetworks are the non-public networks (NERU_APP_NETWORKS) the apps'
	// public URLs may be proxied to, as deliveries may reach them.
	AppNetworks []netip.Prefix
	Log         *slog.Logger
}

// Edge serves the public listener's provider-facing routes.
type Edge struct {
	cfg    Config
	d      Deps
	log    *slog.Logger
	errors httpx.Table            // Errors(), to classify a webhook's outcome
	outage *outage                // webhooks' backend failures: 503, logged once per outage
	proxy  *httputil.ReverseProxy // the apps' public URLs (publicurl.go)

	unsigned      sync.Map     // instance ids already warned about accepting unsigned webhooks
	badSignatures atomic.Int64 // webhooks refused 401 bad_signature
}

// BadSignatures is how many webhooks were refused for their signature.
func (e *Edge) BadSignatures() int64 { return e.badSignatures.Load() }

// New builds the edge.
func New(cfg Config, d Deps) (*Edge, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := providers.Validate(d.Providers); err != nil {
		return nil, err
	}
	if d.Observer == nil {
		d.Observer = observe.Discard
	}
	e := &Edge{cfg: cfg, d: d, log: d.Log, outage: &outage{log: d.Log}, proxy: newAppProxy(d.AppNetworks, d.Log)}
	e.errors = e.Errors()
	return e, nil
}

// Register adds the edge's routes to the public listener.
func (e *Edge) Register(s *echo.Echo) {
	s.GET("/healthz", e.healthz)
	s.GET("/readyz", e.readyz)
	e.routeWebhooks(s.Group(webhookGroup))
	e.routeAssetLinks(s)
	e.routeAppURLs(s)
}

// Errors are the HTTP answers of every error the edge's routes return.
func (e *Edge) Errors() []httpx.Rule {
	rules := [][]httpx.Rule{instance.HTTPErrors, router.HTTPErrors, assets.HTTPErrors}
	for _, p := range e.d.Providers {
		rules = append(rules, p.Errors)
	}
	return httpx.Compose(rules...)
}
