package platform

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/neru-dev/neru/internal/httpx"
	"github.com/neru-dev/neru/worker"
)

// Config is the whole platform's configuration. Every field has an
// environment variable (NERU_ prefix); deploy/.env.example lists them all.
type Config struct {
	RedisURL       string // NERU_REDIS_URL, default redis://127.0.0.1:6379
	NATSURL        string // NERU_NATS_URL, default nats://127.0.0.1:4222
	Keyspace       string // NERU_KEYSPACE, prefix of every Redis key, default "neru:"
	StreamReplicas int    // NERU_STREAM_REPLICAS, default 1
	SessionTTL     time.Duration
	// Partitions is NERU_PARTITIONS, default 16: how many partitions
	// NERU_EVENTS is split into. The one setting for the delivery publisher
	// (gateway, scheduler, DLQ replay) and the worker; every process of a
	// platform must use the same.
	Partitions int
	// AppNetworks is NERU_APP_NETWORKS: the non-public networks (CIDRs)
	// that deliveries, the answer relay, schedules and queue items may reach
	// an instance's base URL on. Default none: public addresses only.
	// vonage-api never uses them.
	AppNetworks []netip.Prefix

	Gateway GatewayConfig
	Worker  worker.Config
}

// FromEnv reads the configuration from the environment.
func FromEnv() (Config, error) {
	var c Config
	var errs []error
	str := func(name string, dst *string) {
		if v, ok := os.LookupEnv(name); ok {
			*dst = v
		}
	}
	num := func(name string, dst *int) {
		if v, ok := os.LookupEnv(name); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %q is not an integer", name, v))
			}
			*dst = n
		}
	}
	dur := func(name string, dst *time.Duration) {
		if v, ok := os.LookupEnv(name); ok {
			d, err := time.ParseDuration(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %q is not a duration (e.g. 4s, 10m)", name, v))
			}
			*dst = d
		}
	}
	str("NERU_REDIS_URL", &c.RedisURL)
	str("NERU_NATS_URL", &c.NATSURL)
	str("NERU_KEYSPACE", &c.Keyspace)
	num("NERU_STREAM_REPLICAS", &c.StreamReplicas)
	dur("NERU_SESSION_TTL", &c.SessionTTL)
	num("NERU_PARTITIONS", &c.Partitions)
	if v, ok := os.LookupEnv("NERU_APP_NETWORKS"); ok {
		nets, err := httpx.ParseNetworks(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("NERU_APP_NETWORKS: %w", err))
		}
		c.AppNetworks = nets
	}

	str("NERU_GATEWAY_ADDR", &c.Gateway.Addr)
	str("NERU_COMMAND_ADDR", &c.Gateway.CommandAddr)
	str("NERU_ADMIN_TOKEN", &c.Gateway.AdminToken)
	str("NERU_DEV_INSTANCE", &c.Gateway.DevInstanceID)
	str("NERU_FALLBACK_NCCO", &c.Gateway.FallbackNCCO)
	dur("NERU_ANSWER_TIMEOUT", &c.Gateway.AnswerTimeout)
	dur("NERU_WEBHOOK_SIGNATURE_WINDOW", &c.Gateway.SignatureWindow)
	str("NERU_VONAGE_API_URL", &c.Gateway.VonageAPIURL)
	str("NERU_VONAGE_KEYS_DIR", &c.Gateway.VonageKeysDir)
	if v, ok := os.LookupEnv("NERU_VONAGE_API_HOSTS"); ok {
		c.Gateway.VonageAPIHosts = strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' })
	}
	str("NERU_ASSETS_DIR", &c.Gateway.Assets.Dir)
	str("NERU_PUBLIC_URL", &c.Gateway.Assets.PublicURL)
	str("NERU_ASSETS_LINK_SECRET", &c.Gateway.Assets.LinkSecret)
	dur("NERU_ASSETS_SWEEP_INTERVAL", &c.Gateway.Assets.SweepInterval)
	if v, ok := os.LookupEnv("NERU_ASSETS_MAX_UPLOAD"); ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			errs = append(errs, fmt.Errorf("NERU_ASSETS_MAX_UPLOAD: %q is not a positive number of bytes", v))
		}
		c.Gateway.Assets.MaxUpload = n
	}

	str("NERU_WORKER_ID", &c.Worker.ID)
	num("NERU_WORKER_CONCURRENCY", &c.Worker.Concurrency)
	num("NERU_MAX_ATTEMPTS", &c.Worker.MaxAttempts)
	dur("NERU_MAX_AGE", &c.Worker.MaxAge)
	dur("NERU_BACKOFF_BASE", &c.Worker.BackoffBase)
	dur("NERU_BACKOFF_MAX", &c.Worker.BackoffMax)
	dur("NERU_DELIVERY_TIMEOUT", &c.Worker.Timeout)
	dur("NERU_SESSION_SWEEP_INTERVAL", &c.Worker.SweepInterval)
	c.setDefaults()
	return c, errors.Join(errs...)
}

func (c *Config) setDefaults() {
	if c.RedisURL == "" {
		c.RedisURL = "redis://127.0.0.1:6379"
	}
	if c.NATSURL == "" {
		c.NATSURL = "nats://127.0.0.1:4222"
	}
	if c.Keyspace == "" {
		c.Keyspace = "neru:"
	}
	if c.Partitions == 0 {
		c.Partitions = 16
	}
	if c.StreamReplicas == 0 {
		c.StreamReplicas = 1
	}
	c.Gateway.setDefaults()
}
