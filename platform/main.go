package platform

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// Main is the whole main function of a production binary: it reads the
// configuration from the environment, opens the platform, runs run until
// SIGINT or SIGTERM, and exits non-zero if anything failed. Logs are JSON.
func Main(name string, run func(ctx context.Context, p *Platform) error) {
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
	base := slog.New(slog.NewJSONHandler(logs, nil))
	log := base.With("component", name)
	err := func() error {
		cfg, err := FromEnv()
		if err != nil {
			return err
		}
		p, err := Open(ctx, cfg, base)
		if err != nil {
			return err
		}
		defer p.Close()
		log.Info(name + " running")
		return run(ctx, p)
	}()
	if err != nil {
		log.Error(name+" stopped", "err", err)
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
