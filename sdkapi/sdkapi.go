package sdkapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/neru-dev/neru/assets"
	"github.com/neru-dev/neru/delivery"
	"github.com/neru-dev/neru/instance"
	"github.com/neru-dev/neru/internal/httpx"
	"github.com/neru-dev/neru/listener"
	"github.com/neru-dev/neru/providers"
	"github.com/neru-dev/neru/queue"
	"github.com/neru-dev/neru/scheduler"
	"github.com/neru-dev/neru/session"
	"github.com/neru-dev/neru/state"
)

// Config configures the SDK endpoint. Zero values take the defaults.
type Config struct {
	MaxBody int64 // request body cap; default 1 MiB
	// PublishTimeout bounds the wait for JetStream to store a vonage-api
	// callback; default 5s.
	PublishTimeout time.Duration
	// DevInstanceID is the instance that SDK calls without a JWT act as,
	// provided it is marked Unauthenticated and the call comes from loopback.
	DevInstanceID string

	// VonageAPIURL, if set, receives every vonage-api call in place of the
	// Vonage host the app named: https://api.nexmo.com/v1/messages goes to
	// <VonageAPIURL>/v1/messages (with X-Forwarded-Host: api.nexmo.com).
	// `neru dev` points it at its fake Vonage. Empty: the real hosts.
	VonageAPIURL string
	// VonageAPIHosts are the hosts vonage-api may call ("*" matches inside
	// one DNS label); default DefaultVonageAPIHosts.
	VonageAPIHosts   []string
	VonageAPITimeout time.Duration // per upstream call; default 30s

	Assets AssetsConfig
}

// AssetsConfig is what vonage-assets' adapter needs to know; the store and
// the link signer come in Deps.
type AssetsConfig struct {
	// MaxUpload caps one upload request, all its files together; past it
	// the SDK gets a 413. Default 100 MiB.
	MaxUpload int64
	// PublicURL is the public listener's base URL as the recipients of a
	// download link reach it, e.g. https://neru.example.com.
	PublicURL string
	// MaxLinkDuration is the longest lifetime a link may ask for; default 7 days.
	MaxLinkDuration time.Duration
}

func (c *Config) setDefaults() {
	if c.MaxBody == 0 {
		c.MaxBody = 1 << 20
	}
	if c.PublishTimeout == 0 {
		c.PublishTimeout = 5 * time.Second
	}
	if len(c.VonageAPIHosts) == 0 {
		c.VonageAPIHosts = DefaultVonageAPIHosts
	}
	if c.VonageAPITimeout == 0 {
		c.VonageAPITimeout = 30 * time.Second
	}
	if c.Assets.MaxUpload == 0 {
		c.Assets.MaxUpload = 100 << 20
	}
	c.Assets.PublicURL = strings.TrimRight(c.Assets.PublicURL, "/")
	if c.Assets.MaxLinkDuration == 0 {
		c.Assets.MaxLinkDuration = 7 * 24 * time.Hour
	}
}

// Validate reports a configuration that cannot work.
func (c *Config) Validate() error {
	if c.VonageAPIURL != "" {
		u, err := url.Parse(c.VonageAPIURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
			return errors.New("sdkapi: VonageAPIURL must be an absolute http(s) URL without a query")
		}
	}
	if c.Assets.MaxUpload < 0 {
		return errors.New("sdkapi: Assets.MaxUpload must be positive")
	}
	return nil
}

// Instances resolves who a caller is (instance.Store): by the Vonage
// application id of its token, or the dev instance by id. Both return
// instance.ErrNotFound for an unknown one and may answer from a cache.
type Instances interface {
	ByApplication(ctx context.Context, applicationID string) (*instance.Instance, error)
	Get(ctx context.Context, id string) (*instance.Instance, error)
}

// Sessions is the session lifecycle the commands drive (session.Store).
// Touch and EnsureAll return session.ErrTooMany when new sessions would
// pass the instance's cap; EnsureAll creates none of its sessions when it
// fails.
type Sessions interface {
	Touch(ctx context.Context, instanceID, id string) error
	EnsureAll(ctx context.Context, instanceID string, ids []string) error
	Create(ctx context.Context, instanceID, id string, ttl time.Duration) (*session.Session, error)
}

// Listeners registers and removes listeners (listener.Store). AddMany
// stores listeners of one instance as one after the other would,
// validating all of them before it writes any.
type Listeners interface {
	AddMany(ctx context.Context, ls []*listener.Listener) error
	Remove(ctx context.Context, instanceID, id string) error
}

// State runs one state command for a tenant (state.Store) and returns the
// JSON-encoded Redis reply.
type State interface {
	Exec(ctx context.Context, t state.Tenant, cmd state.Command) (json.RawMessage, error)
}

// Publisher stores deliveries in the event stream and returns once every
// one is stored, or an error wrapping router.ErrUnavailable. Safe for
// concurrent use.
type Publisher interface {
	Publish(ctx context.Context, ds []*delivery.Delivery) error
}

// Schedules keeps vonage-scheduler's schedules (scheduler.Store).
type Schedules interface {
	Create(ctx context.Context, instanceID string, sc *scheduler.Schedule) error
	List(ctx context.Context, instanceID string, cursor int64, size int) ([]string, int64, error)
	Get(ctx context.Context, instanceID, id string) (*scheduler.View, error)
	Cancel(ctx context.Context, instanceID, id string) error
}

// Queues keeps queue-service's queues and items (queue.Store).
type Queues interface {
	Create(ctx context.Context, instanceID string, q *queue.Queue) error
	List(ctx context.Context, instanceID string) ([]string, error)
	Update(ctx context.Context, instanceID, name string, rate queue.Rate) error
	Details(ctx context.Context, instanceID, name string) (*queue.Details, error)
	Delete(ctx context.Context, instanceID, name string) error
	SetActive(ctx context.Context, instanceID, name string, on bool) error
	Enqueue(ctx context.Context, instanceID, name string, items [][]byte) error
	DeadLetters(ctx context.Context, instanceID, name string, max int) ([]string, error)
	PopDeadLetters(ctx context.Context, instanceID, name string, count int) ([]string, error)
}

// Logs keeps what apps send to logs-submission (applogs.Store).
type Logs interface {
	Append(ctx context.Context, instanceID string, compact []byte) error
}

// Links signs vonage-assets download tokens (assets.Linker).
type Links interface {
	Sign(tenant, name string, exp time.Time) string
}

// Deps are what the SDK endpoint is built from. Files nil: vonage-assets
// answers 503; VonageKeys nil: vonage-api answers 503.
type Deps struct {
	Instances  Instances
	Sessions   Sessions
	Listeners  Listeners
	State      State
	Publisher  Publisher
	Schedules  Schedules
	Queues     Queues
	Logs       Logs
	Files      assets.Store
	Links      Links
	VonageKeys VonageKeys
	// Providers are the event providers whose listener actions are served.
	Providers []providers.Descriptor
	Log       *slog.Logger
}

// API is the SDK command endpoint.
type API struct {
	cfg      Config
	d        Deps
	log      *slog.Logger
	vonage   *vonageAPI
	verified *verifiedTokens
	adapters map[string]adapter
}

// adapter is one provider on the endpoint: its name as the SDKs address
// it, how its requests are served, and the HTTP answers of its errors.
// Providers framed as a Command envelope or /<action> list actions; the
// others (state, queues, assets) serve their own requests.
type adapter struct {
	name    string
	actions map[string]action
	serve   func(c echo.Context, inst *instance.Instance) error
	// telemetry providers authenticate inside and always answer 2xx: the
	// SDKs send them without a catch, and a non-2xx reply kills the app
	// process (protocol §8.1).
	telemetry func(r *http.Request)
	errors    []httpx.Rule
}

// call is one SDK request, whichever way it was addressed and framed.
type call struct {
	inst     *instance.Instance
	provider string
	action   string
	session  string // X-Neru-SessionId
	payload  json.RawMessage
	header   http.Header // the HTTP request's (vcr's invoke puts the app's extra headers here)
	// success and failure are neru's successCallback and errorCallback of
	// the action (only invoke uses them).
	success, failure *listener.Callback
}

// action handles one provider action and returns the JSON reply.
type action func(ctx context.Context, c *call) (any, error)

// rawReply is an action's reply passed through as it is: status, content
// type and body (the upstream Vonage response).
type rawReply struct {
	status      int
	contentType string
	body        []byte
}

// New builds the SDK endpoint.
func New(cfg Config, d Deps) (*API, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := providers.Validate(d.Providers); err != nil {
		return nil, err
	}
	a := &API{cfg: cfg, d: d, log: d.Log, verified: newVerifiedTokens()}
	a.vonage = newVonageAPI(cfg, d.VonageKeys)
	list := []adapter{a.stateAdapter(), a.vonageAPIAdapter(), a.assetsAdapter(), a.schedulerAdapter(), a.queueAdapter()}
	list = append(list, a.telemetryAdapters()...)
	for _, p := range d.Providers {
		list = append(list, a.listenerAdapter(p))
	}
	a.adapters = map[string]adapter{}
	for _, ad := range list {
		if _, dup := a.adapters[ad.name]; dup || ad.name == "" {
			return nil, errors.New("sdkapi: empty or duplicate provider " + ad.name)
		}
		a.adapters[ad.name] = ad
	}
	return a, nil
}

// Errors are the HTTP answers of every error the endpoint returns.
func (a *API) Errors() []httpx.Rule {
	rules := [][]httpx.Rule{instance.HTTPErrors, session.HTTPErrors, listener.HTTPErrors}
	for _, ad := range a.adapters {
		rules = append(rules, ad.errors)
	}
	return httpx.Compose(rules...)
}

// Register serves the endpoint on every path of s: the path belongs to the
// provider (/<action>, or /queue/... and the like).
func (a *API) Register(s *echo.Echo) {
	s.Any("/*", a.serve)
}

func (a *API) serve(c echo.Context) error {
	r := c.Request()
	name := providerOf(r)
	ad, ok := a.adapters[name]
	if !ok {
		return httpx.Errorf(http.StatusNotFound, "unknown_provider", "no provider %q (addressed by ?func= or the Host header)", name)
	}
	if ad.telemetry != nil {
		ad.telemetry(r)
		return c.JSON(http.StatusOK, "OK")
	}
	inst, err := a.authenticate(r)
	if err != nil {
		return err
	}
	if err := a.touchSession(r.Context(), inst, r.Header.Get("X-Neru-SessionId")); err != nil {
		return err
	}
	if ad.serve != nil {
		return ad.serve(c, inst)
	}
	return a.byAction(c, inst, ad.actions)
}

// touchSession is the session hook of every authenticated SDK command: the
// session it names exists from now on (created with the default lifetime if
// it was unknown, refused past the instance's cap) and, under sliding
// expiry, lives on. A session that has ended refuses every command (410
// session_expired) until a session_created starts it again, and an id that
// is not a session id (control characters, over 1,024 bytes) is a 400.
// Commands without a session header pass unchanged.
func (a *API) touchSession(ctx context.Context, inst *instance.Instance, id string) error {
	if id == "" {
		return nil
	}
	if err := session.ValidateID(id); err != nil {
		return fmt.Errorf("X-Neru-SessionId: %w", err)
	}
	if err := a.d.Sessions.Touch(ctx, inst.ID, id); err != nil {
		if errors.Is(err, session.ErrTooMany) || errors.Is(err, session.ErrExpired) {
			return err
		}
		// Not the command's fault: log it and let the command run.
		a.log.Warn("session touch failed", "instance", inst.ID, "err", err)
	}
	return nil
}

// byAction serves a provider whose requests name an action.
func (a *API) byAction(c echo.Context, inst *instance.Instance, acts map[string]action) error {
	r := c.Request()
	cl, err := a.readCall(r, inst, providerOf(r))
	if err != nil {
		return err
	}
	act, ok := acts[cl.action]
	if !ok {
		return httpx.Errorf(http.StatusNotFound, "unknown_action", "provider %q has no action %q", cl.provider, cl.action)
	}
	reply, err := act(r.Context(), cl)
	if err != nil {
		return err
	}
	if raw, ok := reply.(*rawReply); ok {
		return c.Blob(raw.status, raw.contentType, raw.body)
	}
	return c.JSON(http.StatusOK, reply)
}

// providerOf finds the provider the SDK addressed: the first label of the
// func query parameter (debug style), else of the absolute-form request
// URI's host (proxy style: Go puts it in r.URL), else of the Host header
// (DNS style).
// Provider names the provider a request addresses, or "unknown" for one
// this endpoint does not serve: a bounded value, for a metric label.
func (a *API) Provider(r *http.Request) string {
	name := providerOf(r)
	if _, ok := a.adapters[name]; ok {
		return name
	}
	return "unknown"
}

func providerOf(r *http.Request) string {
	name := r.URL.Query().Get("func")
	if name == "" {
		name = r.Host
		if r.URL.Host != "" {
			name = r.URL.Host
		}
		if h, _, err := net.SplitHostPort(name); err == nil {
			name = h
		}
		name = strings.ToLower(name) // host names are case-insensitive
	}
	provider, _, _ := strings.Cut(name, ".")
	return provider
}

// readCall frames a request as a call: a neru Command envelope posted to the
// provider root, or a vcr bare payload posted to /<action>.
func (a *API) readCall(r *http.Request, inst *instance.Instance, provider string) (*call, error) {
	body, err := httpx.ReadBody(r, a.cfg.MaxBody)
	if err != nil {
		return nil, err
	}
	c := &call{inst: inst, provider: provider, session: r.Header.Get("X-Neru-SessionId"), header: r.Header}
	if path := strings.Trim(r.URL.Path, "/"); path != "" {
		c.action, c.payload = path, body
		return c, nil
	}
	var env struct {
		Actions []struct {
			Provider        string             `json:"provider"`
			Action          string             `json:"action"`
			Payload         json.RawMessage    `json:"payload"`
			SuccessCallback *listener.Callback `json:"successCallback"`
			ErrorCallback   *listener.Callback `json:"errorCallback"`
		} `json:"actions"`
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, httpx.Errorf(http.StatusBadRequest, "bad_command", "empty body: a command envelope {header, actions:[{provider, action, payload}]} is required at the provider root")
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, httpx.Errorf(http.StatusBadRequest, "bad_json", "invalid command envelope: %v", err)
	}
	if len(env.Actions) != 1 {
		return nil, httpx.Errorf(http.StatusBadRequest, "bad_command", "a command carries exactly one action, got %d", len(env.Actions))
	}
	act := env.Actions[0]
	if act.Provider != "" && act.Provider != provider {
		return nil, httpx.Errorf(http.StatusBadRequest, "bad_command", "action provider %q does not match the addressed provider %q", act.Provider, provider)
	}
	c.action, c.payload = act.Action, act.Payload
	c.success, c.failure = act.SuccessCallback, act.ErrorCallback
	return c, nil
}
