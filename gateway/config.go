package gateway

import (
	"encoding/json"
	"errors"
	"net/url"
	"time"
)

// DefaultFallbackNCCO is answered to a call when the app cannot be reached.
const DefaultFallbackNCCO = `[{"action":"talk","text":"Sorry, we cannot take your call right now. Please try again later."}]`

// Config configures a gateway. Zero values take the defaults.
type Config struct {
	Addr          string        // public listener; default 127.0.0.1:8080
	CommandAddr   string        // SDK command endpoint; default 127.0.0.1:3001; "-" disables it
	MaxBody       int64         // request body cap; default 1 MiB
	AnswerTimeout time.Duration // how long a call waits for the app's NCCO; default 4s
	// PublishTimeout bounds the wait for JetStream to store a webhook's
	// deliveries; past it the webhook gets a 503 and the provider retries.
	PublishTimeout time.Duration // default 5s
	FallbackNCCO   string        // default DefaultFallbackNCCO
	// AdminToken guards /admin/v1. Empty: the admin API answers loopback
	// clients only (dev mode).
	AdminToken string
	// DevInstanceID is the instance that SDK calls without a JWT act as,
	// provided it is marked Unauthenticated and the call comes from loopback.
	DevInstanceID string
	// AllowPrivateNetworks lets the synchronous answer path reach loopback
	// and private app addresses (dev). Off in production.
	AllowPrivateNetworks bool
	ShutdownTimeout      time.Duration // default 10s
	LogsKept             int64         // log submissions kept per instance; default 1000

	// VonageAPIURL, if set, receives every vonage-api call in place of the
	// Vonage host the app named: https://api.nexmo.com/v1/messages goes to
	// <VonageAPIURL>/v1/messages (with X-Forwarded-Host: api.nexmo.com).
	// `neru dev` points it at its fake Vonage. Empty: the real hosts.
	VonageAPIURL string
	// VonageAPIHosts are the hosts vonage-api may call ("*" matches inside
	// one DNS label); default DefaultVonageAPIHosts.
	VonageAPIHosts []string
	// VonageKeysDir holds <instance id>.pem, the private key of each
	// instance's Vonage application, which signs vonage-api's upstream JWTs.
	// Used when Deps.VonageKeys is nil. Empty: vonage-api answers 503.
	VonageKeysDir    string
	VonageAPITimeout time.Duration // per upstream call; default 30s

	Assets AssetsConfig // vonage-assets (assets.go)
}

func (c *Config) setDefaults() {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	if c.CommandAddr == "" {
		c.CommandAddr = "127.0.0.1:3001"
	}
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
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 10 * time.Second
	}
	if c.LogsKept == 0 {
		c.LogsKept = 1000
	}
	if len(c.VonageAPIHosts) == 0 {
		c.VonageAPIHosts = DefaultVonageAPIHosts
	}
	if c.VonageAPITimeout == 0 {
		c.VonageAPITimeout = 30 * time.Second
	}
	c.Assets.setDefaults(c.Addr)
}

// Validate reports a configuration that cannot work.
func (c *Config) Validate() error {
	var ncco []json.RawMessage
	if json.Unmarshal([]byte(c.FallbackNCCO), &ncco) != nil {
		return errors.New("gateway: FallbackNCCO must be a JSON array")
	}
	if c.VonageAPIURL != "" {
		u, err := url.Parse(c.VonageAPIURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
			return errors.New("gateway: VonageAPIURL must be an absolute http(s) URL without a query")
		}
	}
	if err := c.Assets.validate(); err != nil {
		return err
	}
	return nil
}
