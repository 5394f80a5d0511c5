package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/neru-dev/neru/tail"
)

func tailCmd() *cobra.Command {
	var gateway string
	var f tail.Filter
	var raw bool
	c := &cobra.Command{
		Use:   "tail [--instance id] [--session id] [--json]",
		Short: "watch webhooks and delivery attempts live: kind, matched listeners, route, status, latency, retries, DLQ moves",
		Long: `tail prints one line per webhook the gateways receive (its kind and how many listeners it
matched) and per delivery attempt the workers make (session, route, the app's status, latency,
attempt, and whether it was delivered, will be retried or went to the DLQ), as they happen, from
the gateway's admin API (GET /admin/v1/tail; NERU_ADMIN_TOKEN is the bearer token). Colour when
stdout is a terminal; --json prints each event as a JSON object instead.`,
		Example: "  neru tail\n  neru tail --instance shop --session 9f2c… --json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ready := func() { fmt.Fprintf(cmd.ErrOrStderr(), "neru tail: watching %s (Ctrl-C to stop)\n", gateway) }
			return Tail(cmd.Context(), gateway, f, raw, ready, cmd.OutOrStdout())
		},
	}
	fs := c.Flags()
	fs.StringVar(&gateway, "gateway", env("NERU_GATEWAY_URL", "http://127.0.0.1:8080"),
		"gateway base URL (env NERU_GATEWAY_URL); the token comes from NERU_ADMIN_TOKEN")
	fs.StringVar(&f.Instance, "instance", "", "only this instance's events (default: every instance)")
	fs.StringVar(&f.Session, "session", "", "only this session's events")
	fs.BoolVar(&raw, "json", false, "print each event as one JSON object")
	return c
}

// Tail prints the live stream until ctx ends; ready (if not nil) is called
// once events from then on are printed. Lines are in colour when w is a
// terminal and raw is not set.
func Tail(ctx context.Context, gateway string, f tail.Filter, raw bool, ready func(), w io.Writer) error {
	color := !raw && isTerminal(w)
	return tail.Follow(ctx, gateway, os.Getenv("NERU_ADMIN_TOKEN"), f, ready, func(ev tail.Event) {
		if raw {
			b, _ := json.Marshal(&ev)
			fmt.Fprintln(w, string(b))
			return
		}
		fmt.Fprintln(w, tail.Line(ev, color))
	})
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
