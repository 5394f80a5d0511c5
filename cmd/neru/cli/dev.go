package cli

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/neru-dev/neru/cmd/neru/fakevonage"
	"github.com/neru-dev/neru/sdkapi"

	"github.com/neru-dev/neru/instance"
	"github.com/neru-dev/neru/internal/devenv"
	"github.com/neru-dev/neru/internal/httpx"
	"github.com/neru-dev/neru/internal/logging"
	"github.com/neru-dev/neru/internal/telemetry"
	"github.com/neru-dev/neru/platform"
	"github.com/neru-dev/neru/tail"
)

// DevOptions configures `neru dev`.
type DevOptions struct {
	RedisURL, NATSURL string // empty: in-process servers
	DataDir           string
	AppURL, AppID     string
	Addr, CommandAddr string
	InstanceID        string
	Verbose           bool
	// Ephemeral keeps the embedded servers' state in a temporary directory
	// removed on exit instead of in DataDir.
	Ephemeral bool
	// VonageAPI is where vonage-api calls go: "fake" (default: a fake
	// Vonage API on FakeVonageAddr that records them, see `neru outbox`),
	// "direct" (the real Vonage hosts) or a base URL.
	VonageAPI      string
	FakeVonageAddr string
	// VonageKeysDir holds <instance>.pem, the Vonage application keys;
	// default <data-dir>/vonage-keys, where the dev key is put.
	VonageKeysDir string
	// PprofAddr serves net/http/pprof (empty: not served), for profiling
	// the platform under `neru bench`.
	PprofAddr string
	// Quiet leaves out the live lines (webhooks and delivery attempts,
	// as `neru tail` prints them).
	Quiet bool
}

const defaultFakeVonageAddr = "127.0.0.1:8090"

func devCmd() *cobra.Command {
	var o DevOptions
	c := &cobra.Command{
		Use:   "dev [flags]",
		Short: "run the whole platform in one process (embedded NATS, redis-server child or in-process Redis)",
		Long: `dev runs gateway, worker and a fake Vonage API in one process, with an embedded NATS and a
redis-server child process (an in-process Redis when none is installed) unless --redis-url /
--nats-url name real ones. Their state persists in --data-dir as a whole, or is ephemeral as a
whole (--ephemeral, or with the in-process Redis); the banner says which. It (re)creates the dev instance and
writes the environment an SDK app needs to <data-dir>/dev.env. Logs are text at info (--verbose:
debug); NERU_LOG_LEVEL and NERU_LOG_FORMAT change them as for the gateway and the worker.
DEVELOPMENT ONLY: the dev instance accepts SDK calls from loopback without a token.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return Dev(cmd.Context(), o, cmd.OutOrStdout())
		},
	}
	fs := c.Flags()
	fs.StringVar(&o.RedisURL, "redis-url", os.Getenv("NERU_REDIS_URL"), "use this Redis instead of the embedded one (env NERU_REDIS_URL)")
	fs.StringVar(&o.NATSURL, "nats-url", os.Getenv("NERU_NATS_URL"), "use this NATS instead of the embedded one (env NERU_NATS_URL)")
	fs.StringVar(&o.DataDir, "data-dir", ".neru", "where the embedded JetStream and Redis data, the dev key and dev.env live")
	fs.BoolVar(&o.Ephemeral, "ephemeral", false, "keep the embedded JetStream and Redis data in a temporary directory removed on exit")
	fs.StringVar(&o.AppURL, "app-url", "http://127.0.0.1:3000", "base URL of the dev instance's app")
	fs.StringVar(&o.AppID, "application-id", "dev-app", "Vonage application id of the dev instance")
	fs.StringVar(&o.Addr, "addr", "127.0.0.1:8080", "webhooks and admin API listen address")
	fs.StringVar(&o.CommandAddr, "command-addr", "127.0.0.1:3001", "SDK command endpoint (the SDKs in DEBUG mode call 127.0.0.1:3001)")
	fs.StringVar(&o.InstanceID, "instance", "dev", "id of the dev instance")
	fs.BoolVarP(&o.Verbose, "verbose", "v", false, "debug logging")
	fs.StringVar(&o.VonageAPI, "vonage-api", env("NERU_VONAGE_API_URL", "fake"), `where vonage-api calls go: "fake" (recorded, see neru outbox), "direct" (real Vonage) or a base URL (env NERU_VONAGE_API_URL)`)
	fs.StringVar(&o.FakeVonageAddr, "fake-vonage-addr", defaultFakeVonageAddr, "listen address of the fake Vonage API")
	fs.StringVar(&o.VonageKeysDir, "vonage-keys-dir", os.Getenv("NERU_VONAGE_KEYS_DIR"), "directory of <instance>.pem Vonage application keys (default <data-dir>/vonage-keys, with the dev key)")
	fs.StringVar(&o.PprofAddr, "pprof-addr", "", "serve net/http/pprof on this address (profiling; empty: off)")
	fs.BoolVarP(&o.Quiet, "quiet", "q", false, "do not print a line per webhook and delivery attempt (as neru tail does)")
	return c
}

// Dev runs gateway and worker in one process until ctx ends.
func Dev(ctx context.Context, o DevOptions, out io.Writer) error {
	start := time.Now()
	lo, err := logging.FromEnv(logging.Options{Level: slog.LevelInfo, Format: logging.Text})
	if err != nil {
		return err
	}
	if o.Verbose {
		lo.Level = slog.LevelDebug
	}
	log := logging.New(os.Stderr, lo)
	logging.RouteRedis(log)
	// As in the production binaries: OTLP export only when
	// OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT is set, flushed on exit (this
	// deferred call runs last).
	tracing, err := telemetry.StartTracing(ctx, "neru-dev", log)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tracing.Shutdown(sctx); err != nil {
			log.Warn("traces: not all spans were exported before exit", "err", err)
		}
	}()
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return err
	}
	persistence := "external Redis and NATS (as given)"
	var redisDied <-chan struct{}
	var denv *devenv.Env
	if o.RedisURL == "" || o.NATSURL == "" {
		var err error
		denv, err = devenv.Start(devenv.Options{DataDir: o.DataDir, Ephemeral: o.Ephemeral,
			NoRedis: o.RedisURL != "", NoNATS: o.NATSURL != ""})
		if err != nil {
			return err
		}
		defer denv.Close()
		persistence = denv.State()
		if o.RedisURL == "" {
			o.RedisURL, redisDied = denv.RedisURL, denv.RedisDone()
		} else {
			persistence += "; Redis as given"
		}
		if o.NATSURL == "" {
			o.NATSURL = denv.NATSURL
		} else {
			persistence += "; NATS as given"
		}
	}
	cfg, err := platform.FromEnv()
	if err != nil {
		return err
	}
	cfg.RedisURL, cfg.NATSURL = o.RedisURL, o.NATSURL
	cfg.Gateway.Addr, cfg.Gateway.CommandAddr = o.Addr, o.CommandAddr
	cfg.Gateway.DevInstanceID = o.InstanceID
	cfg.Gateway.DevAdminLoopback = true // the dev-only open admin API; a token, if set, still applies
	// The app runs on this machine: loopback, plus whatever
	// NERU_APP_NETWORKS lists.
	cfg.AppNetworks = append(slices.Clone(httpx.Loopback), cfg.AppNetworks...)
	if denv != nil && !denv.Persistent && cfg.Gateway.Assets.Dir == "" {
		cfg.Gateway.Assets.Dir = filepath.Join(denv.StateDir, "assets") // state, so ephemeral too
	}
	if err := devAssets(&cfg.Gateway.Assets, o); err != nil {
		return err
	}
	useFake := devVonage(&cfg.Gateway, &o)
	p, err := platform.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer p.Close()

	key, err := devKey(filepath.Join(o.DataDir, "dev-key.pem"))
	if err != nil {
		return err
	}
	if err := ensureDevInstance(ctx, p, o, key); err != nil {
		return err
	}
	var fake *fakevonage.Fake
	if useFake {
		if err := devVonageKey(o, key); err != nil {
			return err
		}
		fake = devFake(o)
	}
	envFile := filepath.Join(o.DataDir, "dev.env")
	appEnv, err := devAppEnv(o, key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(envFile, []byte(appEnv), 0o600); err != nil {
		return err
	}
	p.Instrument(telemetry.NewMetrics(telemetry.Options{}))
	g, err := p.Gateway()
	if err != nil {
		return err
	}
	g.ServeOpsOnPublic(p.Metrics)
	runWorker, err := p.WorkerProcess()
	if err != nil {
		return err
	}
	redisLine := o.RedisURL
	if denv != nil && denv.Redis != "" {
		redisLine = denv.Redis
	}
	fmt.Fprintf(out, `neru dev: DEVELOPMENT MODE, NOT FOR PRODUCTION
  webhooks + admin   http://%s   (POST /webhooks/%s/{messages/inbound,messages/status,voice/answer,voice/event,voice/rtc})
  console            http://%s/console/   (open from this machine; no token in dev mode)
  operations         http://%s/metrics   (also /healthz, /readyz, /debug/pprof/)
  SDK endpoint       http://%s   (apps with DEBUG=true call here; no token needed for instance %q from loopback)
  app (instance %s)  %s   application id %s
  redis              %s
  nats               %s
  persistence        %s
  app environment    %s   (source it before starting your app)
  vonage-api         %s
  assets             %s   (vonage-assets files)
  traces             %s
ready in %s
`, o.Addr, o.AppID, o.Addr, o.Addr, o.CommandAddr, o.InstanceID, o.InstanceID, o.AppURL, o.AppID,
		redisLine, o.NATSURL, persistence, envFile, devVonageBanner(o), cfg.Gateway.Assets.Dir, tracesBanner(tracing),
		time.Since(start).Round(time.Millisecond))

	eg, ctx := errgroup.WithContext(ctx)
	if fake != nil {
		eg.Go(func() error { return serveFake(ctx, fake, o.FakeVonageAddr) })
	}
	if o.PprofAddr != "" {
		eg.Go(func() error { return servePprof(ctx, o.PprofAddr, p.Metrics) })
	}
	eg.Go(func() error { return g.Run(ctx) })
	eg.Go(func() error { return runWorker(ctx) })
	if !o.Quiet {
		// The same lines as neru tail, straight from the stream.
		color := isTerminal(out)
		eg.Go(func() error {
			return tail.NewWatcher(p.NATS).Watch(ctx, tail.Filter{}, nil, func(ev tail.Event) {
				fmt.Fprintln(out, tail.Line(ev, color))
			})
		})
	}
	if redisDied != nil {
		eg.Go(func() error {
			select {
			case <-redisDied:
				return denv.RedisErr() // nil if Close stopped it
			case <-ctx.Done():
				return nil
			}
		})
	}
	return eg.Wait()
}

// tracesBanner says where traces go, or how to send them somewhere.
func tracesBanner(t *telemetry.Tracing) string {
	if t.Enabled {
		return t.Exporter
	}
	return "off   (set OTEL_EXPORTER_OTLP_ENDPOINT, e.g. http://127.0.0.1:4318, to export them)"
}

// servePprof serves the operations endpoints (the runtime profiles among
// them) on a listener of their own until ctx ends, so that profiling a
// benchmark does not go through the listener under load.
func servePprof(ctx context.Context, addr string, m *telemetry.Metrics) error {
	srv := &http.Server{Addr: addr, Handler: telemetry.OpsHandler(m, nil), ReadHeaderTimeout: 10 * time.Second}
	context.AfterFunc(ctx, func() { _ = srv.Close() })
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("pprof: %w", err)
	}
	return nil
}

// ensureDevInstance (re)creates the dev instance with the current options.
func ensureDevInstance(ctx context.Context, p *platform.Platform, o DevOptions, key *rsa.PrivateKey) error {
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	in := &instance.Instance{
		ID: o.InstanceID, BaseURL: o.AppURL, ApplicationID: o.AppID, AccountID: "dev-account",
		PublicKey:       string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})),
		Unauthenticated: true,
	}
	if err := p.Instances.Delete(ctx, in.ID); err != nil && !errors.Is(err, instance.ErrNotFound) {
		return err
	}
	return p.Instances.Create(ctx, in)
}

// devKey loads the dev instance's RSA key, creating it on first use, so an
// app's environment stays valid across restarts of `neru dev`.
func devKey(path string) (*rsa.PrivateKey, error) {
	if raw, err := os.ReadFile(path); err == nil {
		if block, _ := pem.Decode(raw); block != nil {
			if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
				if rk, ok := k.(*rsa.PrivateKey); ok {
					return rk, nil
				}
			}
		}
		return nil, fmt.Errorf("dev key %s is not a PKCS#8 RSA key; delete it to get a new one", path)
	}
	// jsonwebtoken 9 (in both SDKs) refuses RSA keys under 2048 bits.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return key, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}

// devAppEnv is the environment an SDK app needs to run against `neru dev`.
func devAppEnv(o DevOptions, key *rsa.PrivateKey) (string, error) {
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	pemText := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	port := "3000"
	if i := strings.LastIndex(o.AppURL, ":"); i > 0 {
		if _, err := strconv.Atoi(o.AppURL[i+1:]); err == nil {
			port = o.AppURL[i+1:]
		}
	}
	return dotenv([][2]string{
		{"DEBUG", "true"},
		{"INSTANCE_ID", o.InstanceID},
		{"API_ACCOUNT_ID", "dev-account"},
		{"API_APPLICATION_ID", o.AppID},
		{"NERU_APP_PORT", port},
		{"VCR_PORT", port},
		{"PORT", port},
		// getAppUrl() in both SDKs: the gateway proxies the app here (edge/publicurl.go).
		{"VCR_INSTANCE_PUBLIC_URL", "http://" + o.Addr + "/apps/" + o.InstanceID},
		{"PRIVATE_KEY", pemText},
	})
}

// devVonage decides where vonage-api goes in dev mode; it reports whether
// that is the fake Vonage API.
func devVonage(g *platform.GatewayConfig, o *DevOptions) bool {
	if o.VonageKeysDir == "" {
		o.VonageKeysDir = filepath.Join(o.DataDir, "vonage-keys")
	}
	g.VonageKeysDir = o.VonageKeysDir
	switch o.VonageAPI {
	case "", "fake":
		o.VonageAPI = "fake"
		g.VonageAPIURL = "http://" + o.FakeVonageAddr
		return true
	case "direct":
		g.VonageAPIURL = ""
	default:
		g.VonageAPIURL = o.VonageAPI
	}
	return false
}

// devFake is the fake Vonage API of dev mode. Like Vonage, it checks the
// dev application's JWTs against the public half of its key.
func devFake(o DevOptions) *fakevonage.Fake {
	keys := sdkapi.NewKeyDir(o.VonageKeysDir)
	return fakevonage.New(fakevonage.Options{PublicKey: func(app string) *rsa.PublicKey {
		if app != o.AppID {
			return nil
		}
		k, err := keys.VonageKey(context.Background(), &instance.Instance{ID: o.InstanceID})
		if err != nil {
			return nil
		}
		return &k.PublicKey
	}})
}

// devVonageKey gives the dev instance a Vonage application key for the fake
// Vonage API if it has none: the dev key, as on VCR, where the app's
// PRIVATE_KEY is the Vonage application's key. A key already in the
// directory is kept. With real Vonage APIs the key must be the real one, so
// none is made up.
func devVonageKey(o DevOptions, key *rsa.PrivateKey) error {
	file := filepath.Join(o.VonageKeysDir, o.InstanceID+".pem")
	if _, err := os.Stat(file); err == nil {
		return nil
	}
	if err := os.MkdirAll(o.VonageKeysDir, 0o700); err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	return os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}

func devVonageBanner(o DevOptions) string {
	switch o.VonageAPI {
	case "fake":
		return "FAKE Vonage API on http://" + o.FakeVonageAddr + ": nothing leaves this machine; see `neru outbox`"
	case "direct":
		return "the real Vonage APIs, signed with the keys in " + o.VonageKeysDir
	}
	return o.VonageAPI + ", signed with the keys in " + o.VonageKeysDir
}

func serveFake(ctx context.Context, fake *fakevonage.Fake, addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("fake Vonage API: %w", err)
	}
	srv := &http.Server{Handler: fake, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
