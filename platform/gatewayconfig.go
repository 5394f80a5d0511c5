package platform

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/neru-dev/neru/assets"
	"github.com/neru-dev/neru/edge"
	"github.com/neru-dev/neru/sdkapi"
)

// GatewayConfig configures a gateway process: its two listeners and what
// the edge, the SDK endpoint and the admin API behind them need. Zero
// values take the defaults.
type GatewayConfig struct {
	Addr          string        // public listener; default 127.0.0.1:8080
	CommandAddr   string        // SDK command endpoint; default 127.0.0.1:3001; "-" disables it
	MaxBody       int64         // request body cap; default 1 MiB
	AnswerTimeout time.Duration // how long a call waits for the app's NCCO; default 4s
	// PublishTimeout bounds the wait for JetStream to store a webhook's
	// deliveries; past it the webhook gets a 503 and the provider retries.
	PublishTimeout time.Duration // default 5s
	FallbackNCCO   string        // default edge.DefaultFallbackNCCO
	// AdminToken is NERU_ADMIN_TOKEN, the bearer token of /admin/v1. A
	// gateway without one refuses to start unless DevAdminLoopback is set.
	AdminToken string
	// DevAdminLoopback, set by `neru dev` (never from the environment),
	// serves the admin API to loopback clients without a token.
	DevAdminLoopback bool
	// DevInstanceID is the instance that SDK calls without a JWT act as,
	// provided it is marked Unauthenticated and the call comes from loopback.
	DevInstanceID string
	// SignatureWindow is NERU_WEBHOOK_SIGNATURE_WINDOW: how old (or early) a
	// signed webhook's iat may be; default 5m.
	SignatureWindow time.Duration
	ShutdownTimeout time.Duration // default 10s
	LogsKept        int64         // log submissions kept per instance; default 1000

	// VonageAPIURL, VonageAPIHosts and VonageAPITimeout: see sdkapi.Config.
	VonageAPIURL     string
	VonageAPIHosts   []string
	VonageAPITimeout time.Duration
	// VonageKeysDir holds <instance id>.pem, the private key of each
	// instance's Vonage application, which signs vonage-api's upstream JWTs.
	// Empty: vonage-api answers 503.
	VonageKeysDir string

	Assets AssetsConfig // vonage-assets
}

// AssetsConfig configures vonage-assets. Zero values take the defaults.
type AssetsConfig struct {
	// Dir keeps the files (an assets.Disk). Empty: vonage-assets answers 503.
	Dir string
	// MaxUpload caps one upload request, all its files together; past it
	// the SDK gets a 413. Default 100 MiB.
	MaxUpload int64
	// PublicURL is the public listener's base URL as the recipients of a
	// download link reach it, e.g. https://neru.example.com. Default
	// http://<Addr>, which only suits development.
	PublicURL string
	// LinkSecret is the HMAC key that signs download links, at least 16
	// bytes and the same on every gateway. Empty: a random key per process,
	// so links work only on the gateway that made them, until it restarts.
	LinkSecret string
	// MaxLinkDuration is the longest lifetime a link may ask for; default 7 days.
	MaxLinkDuration time.Duration
	// SweepInterval is how often the gateway deletes expired files; default
	// 10m; negative: never (expired files are then only deleted when read
	// or listed).
	SweepInterval time.Duration

	publicURLDefaulted bool
}

func (c *GatewayConfig) setDefaults() {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	if c.CommandAddr == "" {
		c.CommandAddr = "127.0.0.1:3001"
	}
	if c.MaxBody == 0 {
		c.MaxBody = 1 << 20
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 10 * time.Second
	}
	a := &c.Assets
	if a.MaxUpload == 0 {
		a.MaxUpload = 100 << 20
	}
	if a.PublicURL == "" {
		a.PublicURL, a.publicURLDefaulted = defaultPublicURL(c.Addr), true
	}
	a.PublicURL = strings.TrimRight(a.PublicURL, "/")
	if a.SweepInterval == 0 {
		a.SweepInterval = 10 * time.Minute
	}
}

// ErrNoAdminToken is why a production gateway without an admin token does
// not start: it would have to serve the admin API to someone, and "loopback
// clients" is everyone behind a reverse proxy on the same host.
var ErrNoAdminToken = errors.New("gateway: NERU_ADMIN_TOKEN is not set: the gateway refuses to serve the admin API (/admin/v1, /console/) without a token; set NERU_ADMIN_TOKEN to a long random secret (only `neru dev` serves it without one, to loopback)")

// Validate reports a configuration that cannot work. The edge and the SDK
// endpoint validate their own parts when they are built.
func (c *GatewayConfig) Validate() error {
	if c.AdminToken == "" && !c.DevAdminLoopback {
		return ErrNoAdminToken
	}
	a := &c.Assets
	if a.MaxUpload < 0 {
		return errors.New("gateway: Assets.MaxUpload must be positive")
	}
	if a.LinkSecret != "" && len(a.LinkSecret) < assets.MinLinkSecret {
		return fmt.Errorf("gateway: Assets.LinkSecret must be at least %d bytes", assets.MinLinkSecret)
	}
	u, err := url.Parse(a.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return errors.New("gateway: Assets.PublicURL must be an absolute http(s) URL without a query")
	}
	return nil
}

// defaultPublicURL is the public listener's own address, as a URL.
func defaultPublicURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func (c *GatewayConfig) edge() edge.Config {
	return edge.Config{MaxBody: c.MaxBody, AnswerTimeout: c.AnswerTimeout, PublishTimeout: c.PublishTimeout, FallbackNCCO: c.FallbackNCCO,
		SignatureWindow: c.SignatureWindow, WarnUnsigned: c.DevInstanceID == ""}
}

func (c *GatewayConfig) sdkapi() sdkapi.Config {
	return sdkapi.Config{
		MaxBody: c.MaxBody, PublishTimeout: c.PublishTimeout, DevInstanceID: c.DevInstanceID,
		VonageAPIURL: c.VonageAPIURL, VonageAPIHosts: c.VonageAPIHosts, VonageAPITimeout: c.VonageAPITimeout,
		Assets: sdkapi.AssetsConfig{MaxUpload: c.Assets.MaxUpload, PublicURL: c.Assets.PublicURL, MaxLinkDuration: c.Assets.MaxLinkDuration},
	}
}
