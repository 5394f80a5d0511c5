// Command gateway runs the platform's HTTP edge: provider webhooks, the SDK
// command endpoint and the admin API. It is configured by NERU_* environment
// variables only; deploy/.env.example lists them.
package main

import (
	"context"

	"github.com/neru-dev/neru/platform"
)

func main() {
	platform.Main("gateway", func(ctx context.Context, p *platform.Platform) error {
		g, err := p.Gateway()
		if err != nil {
			return err
		}
		return g.Run(ctx)
	})
}
