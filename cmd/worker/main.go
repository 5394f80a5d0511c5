// Command worker runs the platform's worker. It is configured by NERU_*
// environment variables only; deploy/.env.example lists them.
package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sync/errgroup"

	"github.com/neru-dev/neru/internal/platform"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(ctx, log); err != nil {
		log.Error("worker stopped", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger) error {
	cfg, err := platform.FromEnv()
	if err != nil {
		return err
	}
	p, err := platform.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer p.Close()
	worker, err := p.Worker()
	if err != nil {
		return err
	}
	sched, err := p.Scheduler()
	if err != nil {
		return err
	}
	queues, err := p.Queues()
	if err != nil {
		return err
	}
	log.Info("worker running")
	eg, ctx := errgroup.WithContext(ctx)
	eg.Go(func() error { return worker.Run(ctx) })
	eg.Go(func() error { return sched.Run(ctx) })  // schedules due → NERU_EVENTS
	eg.Go(func() error { return queues.Run(ctx) }) // queue items → app, rate-limited
	return eg.Wait()
}
