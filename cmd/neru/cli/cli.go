// Package cli is the `neru` command: dev mode, webhook simulation and the
// admin commands. Each subcommand parses its own flags and returns an error;
// only main exits.
package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

type command struct {
	summary string
	run     func(ctx context.Context, args []string) error
}

func commands() map[string]command {
	return map[string]command{
		"dev":      {"run the whole platform in one process (embedded NATS, in-memory Redis)", runDev},
		"simulate": {"post a realistic provider webhook: sms | sms-status | call | voice-event", runSimulate},
		"instance": {"manage instances: create | list | update | delete", runInstance},
		"assets":   {"list an instance's vonage-assets files: ls [--instance id] [-r] [prefix]", runAssets},
		"logs":     {"show an instance's app logs (logs-submission); --follow to keep watching", runLogs},
		"outbox":   {"show what apps sent to the fake Vonage API of neru dev (vonage-api)", runOutbox},
		"bench":    {"end-to-end throughput and latency: webhooks → gateway → JetStream → worker → app", runBench},
		"sessions": {"inspect and end an instance's sessions: list | get | reset | delete", runSessions},
		"dlq":      {"dead deliveries of an instance: list | show | replay", runDLQ},

		"schedules": {"inspect and cancel an instance's schedules: list | get | cancel", runSchedules},
		"queues":    {"inspect an instance's queues: list | stats | pause | resume | deadletter", runQueues},
	}
}

// Run executes the neru command line.
func Run(ctx context.Context, args []string) error {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(os.Stdout, cmds)
		return nil
	}
	c, ok := cmds[args[0]]
	if !ok {
		usage(os.Stderr, cmds)
		return fmt.Errorf("unknown command %q", args[0])
	}
	return c.run(ctx, args[1:])
}

func usage(w io.Writer, cmds map[string]command) {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "usage: neru <command> [flags]")
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, cmds[n].summary)
	}
}

// flags returns a FlagSet that reports errors instead of exiting.
func flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("neru "+name, flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	return fs
}

func env(name, def string) string {
	if v := strings.TrimSpace(os.Getenv(name)); v != "" {
		return v
	}
	return def
}

// gatewayFlag and instanceFlag are the flags every admin command shares.
func gatewayFlag(fs *flag.FlagSet) *string {
	return fs.String("gateway", env("NERU_GATEWAY_URL", "http://127.0.0.1:8080"),
		"gateway base URL (env NERU_GATEWAY_URL); the token comes from NERU_ADMIN_TOKEN")
}

func instanceFlag(fs *flag.FlagSet) *string {
	return fs.String("instance", env("NERU_INSTANCE", "dev"), "instance id (env NERU_INSTANCE)")
}
