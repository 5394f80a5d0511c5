// Command neru is the platform's tool: `neru dev` runs everything in one
// process; `neru simulate` posts provider webhooks; the admin commands
// manage a running platform. `neru -h` lists them.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/neru-dev/neru/cmd/neru/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
