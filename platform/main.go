package platform

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/neru-dev/neru/deploy"
	"github.com/neru-dev/neru/internal/buildinfo"
	"github.com/neru-dev/neru/internal/logging"
	"github.com/neru-dev/neru/internal/readiness"
	"github.com/neru-dev/neru/internal/telemetry"
)

// about says what each production binary is, for its -h.
var about = map[string]string{
	"gateway": "the platform's HTTP edge: provider webhooks, the SDK command endpoint, the admin API and asset links",
	"worker":  "delivers events to apps, fires schedules and dispatches queues",
}

// Main is the whole main function of a production binary: it answers -h and
// --version, or reads the configuration from the environment, opens the
// platform, runs run until SIGINT or SIGTERM, and exits non-zero if
// anything failed. Logs follow NERU_LOG_LEVEL and NERU_LOG_FORMAT (default
// info, JSON), go-redis's lines included. Traces are exported by OTLP when
// the standard OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT is set (service name
// neru-<name> unless OTEL_SERVICE_NAME says otherwise; see
// telemetry.StartTracing), and flushed on exit.
func Main(name string, run func(ctx context.Context, p *Platform) error) {
	if code, done := answerArgs(name, os.Args[1:], os.Stdout, os.Stderr); done {
		os.Exit(code)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := serve(ctx, os.Stderr, name, run)
	stop()
	if err != nil {
		os.Exit(1)
	}
}

// serve is Main without the signals and the exit. The platform gets a
// logger without a component: each part it builds adds its own (see
// Platform.logger), and a second "component" key would repeat in every line.
func serve(ctx context.Context, logs io.Writer, name string, run func(ctx context.Context, p *Platform) error) error {
	lo, err := logging.FromEnv(logging.Options{Level: slog.LevelInfo, Format: logging.JSON})
	if err != nil {
		fmt.Fprintf(logs, "%s: %v\n", name, err)
		return err
	}
	base := logging.New(logs, lo)
	logging.RouteRedis(base)
	log := base.With("component", name)
	err = func() error {
		cfg, err := FromEnv()
		if err != nil {
			return err
		}
		opsAddr, opsOpts, err := opsFromEnv(name)
		if err != nil {
			return err
		}
		// Tracing first, so its shutdown (deferred first) runs last and
		// flushes the spans of everything that stopped before it.
		tracing, err := telemetry.StartTracing(ctx, "neru-"+name, log)
		if err != nil {
			return err
		}
		defer shutdownTracing(tracing, log)
		// The operations listener comes first: /readyz says what the
		// process waits for while it connects.
		ready, metrics := readiness.New(), telemetry.NewMetrics(opsOpts)
		if opsAddr != "-" {
			stopOps, err := serveOps(opsAddr, telemetry.OpsHandler(metrics, ready), log)
			if err != nil {
				return fmt.Errorf("operations listener (NERU_OPS_ADDR): %w", err)
			}
			defer stopOps()
		}
		p, err := OpenReporting(ctx, cfg, base, ready)
		if err != nil {
			return err
		}
		defer p.Close()
		p.Instrument(metrics)
		log.Info(name+" running", "version", buildinfo.Read().String(), "traces", tracing.Exporter)
		return run(ctx, p)
	}()
	if err != nil {
		log.Error(name+" stopped", "err", err)
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// shutdownTracing flushes the spans not exported yet, for at most 5s: a
// collector that does not answer must not hold the exit up.
func shutdownTracing(t *telemetry.Tracing, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := t.Shutdown(ctx); err != nil {
		log.Warn("traces: not all spans were exported before exit", "err", err)
	}
}

// answerArgs handles a production binary's command line, which only asks
// for help or the version: the configuration is the environment. It
// reports whether the binary is done, and its exit code.
func answerArgs(name string, args []string, stdout, stderr io.Writer) (code int, done bool) {
	if len(args) == 0 {
		return 0, false
	}
	switch strings.TrimLeft(args[0], "-") {
	case "h", "help":
		if len(args) == 1 {
			fmt.Fprint(stdout, usage(name))
			return 0, true
		}
	case "version":
		if len(args) == 1 {
			fmt.Fprintf(stdout, "%s %s\n", name, buildinfo.Read())
			return 0, true
		}
	}
	fmt.Fprintf(stderr, "%s: unexpected arguments %q: it takes only -h or --version; it is configured by NERU_* environment variables (%s -h lists them)\n",
		name, args, name)
	return 2, true
}

func usage(name string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s.\n\n", name, about[name])
	fmt.Fprintf(&b, "usage: %s            run until SIGINT or SIGTERM\n", name)
	fmt.Fprintf(&b, "       %s -h         this help\n", name)
	fmt.Fprintf(&b, "       %s --version  module version and VCS revision\n\n", name)
	b.WriteString("It takes no flags: it is configured by NERU_* environment variables only. Every one, with its\n")
	b.WriteString("default (or an example value), as in deploy/.env.example (README \"Configuration\" explains them):\n\n")
	for line := range strings.Lines(deploy.EnvExample) {
		b.WriteString("  " + line)
	}
	return b.String()
}
