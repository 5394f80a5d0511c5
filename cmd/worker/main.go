// Command worker delivers events to apps, fires schedules and dispatches
// queues. It is configured by NERU_* environment variables only;
// deploy/.env.example lists them.
package main

import (
	"context"

	"golang.org/x/sync/errgroup"

	"github.com/neru-dev/neru/internal/platform"
)

func main() {
	platform.Main("worker", func(ctx context.Context, p *platform.Platform) error {
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
		eg, ctx := errgroup.WithContext(ctx)
		eg.Go(func() error { return worker.Run(ctx) })
		eg.Go(func() error { return sched.Run(ctx) })  // schedules due → NERU_EVENTS
		eg.Go(func() error { return queues.Run(ctx) }) // queue items → app, rate-limited
		return eg.Wait()
	})
}
