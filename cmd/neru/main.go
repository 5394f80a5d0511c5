// Command neru is the platform's tool: `neru dev` runs everything in one
// process; `neru simulate` posts provider webhooks; `neru instance` manages
// instances through the admin API.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/neru-dev/neru/cmd/neru/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := cli.Run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "neru:", err)
		os.Exit(1)
	}
}
