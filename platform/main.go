package platform

import (
	"context"
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
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("component", name)
	err := func() error {
		cfg, err := FromEnv()
		if err != nil {
			return err
		}
		p, err := Open(ctx, cfg, log)
		if err != nil {
			return err
		}
		defer p.Close()
		log.Info(name + " running")
		return run(ctx, p)
	}()
	stop()
	if err != nil {
		log.Error(name+" stopped", "err", err)
		os.Exit(1)
	}
}
