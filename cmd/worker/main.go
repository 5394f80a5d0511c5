// Command worker delivers events to apps, fires schedules and dispatches
// queues. It is configured by NERU_* environment variables only;
// deploy/.env.example lists them.
package main

import (
	"context"

	"github.com/neru-dev/neru/platform"
)

func main() {
	platform.Main("worker", func(ctx context.Context, p *platform.Platform) error {
		run, err := p.WorkerProcess()
		if err != nil {
			return err
		}
		return run(ctx)
	})
}
