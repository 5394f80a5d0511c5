// Package cli is the `neru` command, built on cobra: dev mode, webhook
// simulation, the admin commands and the benchmark. Every command and
// subcommand has its own flags and -h; flags may come anywhere after the
// command they belong to (and a group's flags, such as --instance, anywhere
// after the group). Commands return errors; only Main turns them into an
// exit code. It owns no Redis keys and no NATS subjects: the admin commands
// go through the gateway's admin API.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/neru-dev/neru/internal/buildinfo"
)

// Main runs the neru command line with args (without the program name) and
// returns the process's exit code: 0 on success and for -h, 1 on any error,
// which is printed to stderr with, for a usage mistake, a pointer to the
// command's help.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "neru:", err)
	if errors.As(err, new(usageError)) {
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return 1
}

// usageError is a mistake in the command line (unknown command or flag,
// wrong number of arguments), as opposed to a failure of the command.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "neru",
		Short: "the NeRu-style platform's tool: dev mode, webhook simulation, admin commands",
		Long: `neru runs the whole platform on one machine (neru dev), posts realistic provider webhooks
(neru simulate) and manages a running platform through the gateway's admin API (instance,
sessions, dlq, schedules, queues, assets, logs). Admin commands take --gateway (env
NERU_GATEWAY_URL) and send NERU_ADMIN_TOKEN as the bearer token.`,
		Version:       buildinfo.Read().String(),
		SilenceErrors: true, // Main prints them, once
		SilenceUsage:  true, // a failing command is not a usage mistake
		Args:          cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			return unknownSubcommand(cmd, args[0])
		},
	}
	root.SetVersionTemplate("neru {{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		devCmd(), simulateCmd(), benchCmd(),
		instanceCmd(), sessionsCmd(), dlqCmd(), schedulesCmd(), queuesCmd(), assetsCmd(), logsCmd(), outboxCmd(), tailCmd(),
		versionCmd(),
	)
	return root
}

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "print the module version and the VCS revision, time and modified flag it was built from",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), "neru", buildinfo.Read())
			return err
		},
	}
}

// group makes c a command that only holds subcommands: without one, or
// with an unknown one, it is a usage error (cobra's default would print
// the help and exit 0).
func group(c *cobra.Command, subs ...*cobra.Command) *cobra.Command {
	c.Args = cobra.ArbitraryArgs
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return usagef("%s needs a subcommand: %s", cmd.CommandPath(), subcommandNames(cmd))
		}
		return unknownSubcommand(cmd, args[0])
	}
	c.AddCommand(subs...)
	return c
}

func unknownSubcommand(cmd *cobra.Command, name string) error {
	msg := fmt.Sprintf("unknown command %q for %q (%s)", name, cmd.CommandPath(), subcommandNames(cmd))
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2 // cobra's default, which SuggestionsFor does not apply itself
	}
	if s := cmd.SuggestionsFor(name); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return usageError{errors.New(msg)}
}

func subcommandNames(cmd *cobra.Command) string {
	var names []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() && c.Name() != "help" && c.Name() != "completion" {
			names = append(names, c.Name())
		}
	}
	return strings.Join(names, ", ")
}

// noArgs, exactArgs and maxArgs check positional arguments with a message
// that names what is expected.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("%s takes no arguments, got %q", cmd.CommandPath(), args)
	}
	return nil
}

func exactArgs(what ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != len(what) {
			return usagef("%s takes %s, got %d argument(s)", cmd.CommandPath(), strings.Join(what, " "), len(args))
		}
		return nil
	}
}

func maxArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > n {
			return usagef("%s takes at most %s, got %q", cmd.CommandPath(), what, args)
		}
		return nil
	}
}

func env(name, def string) string {
	if v := strings.TrimSpace(os.Getenv(name)); v != "" {
		return v
	}
	return def
}

// target is where an admin command goes: the gateway and, for
// per-instance commands, the instance.
type target struct{ gateway, instance string }

// gatewayFlag and instanceFlag are the flags every admin command shares;
// they are persistent, so they may come before or after the subcommand.
func gatewayFlag(fs *pflag.FlagSet, t *target) {
	fs.StringVar(&t.gateway, "gateway", env("NERU_GATEWAY_URL", "http://127.0.0.1:8080"),
		"gateway base URL (env NERU_GATEWAY_URL); the token comes from NERU_ADMIN_TOKEN")
}

func instanceFlag(fs *pflag.FlagSet, t *target) {
	fs.StringVar(&t.instance, "instance", env("NERU_INSTANCE", "dev"), "instance id (env NERU_INSTANCE)")
}

// adminGroup is a group of per-instance admin commands, built by subs
// around one target.
func adminGroup(c *cobra.Command, subs func(t *target) []*cobra.Command) *cobra.Command {
	t := &target{}
	gatewayFlag(c.PersistentFlags(), t)
	instanceFlag(c.PersistentFlags(), t)
	return group(c, subs(t)...)
}

// runGroup runs one of the admin groups outside the neru tree (the
// exported Sessions, DLQ, … that tests and tools call), against gatewayURL
// and instanceID, writing to out.
func runGroup(ctx context.Context, c *cobra.Command, gatewayURL, instanceID string, args []string, out io.Writer) error {
	c.SetArgs(append([]string{"--gateway=" + gatewayURL, "--instance=" + instanceID}, args...))
	c.SetOut(out)
	c.SetErr(io.Discard)
	c.SilenceErrors, c.SilenceUsage = true, true
	return c.ExecuteContext(ctx)
}
