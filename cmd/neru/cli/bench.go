package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/neru-dev/neru/cmd/neru/bench"
)

func benchCmd() *cobra.Command {
	o := bench.DefaultOptions()
	var asJSON, appendMD bool
	var markdown, readme string
	c := &cobra.Command{
		Use:   "bench [flags]",
		Short: "end-to-end throughput and latency: webhooks → gateway → JetStream → worker → app",
		Long: `bench measures the platform from outside: it starts neru dev and a sink app as child processes
(or drives a running platform with --target), posts webhooks over keep-alive connections and
reports throughput, latency and CPU per event of every process.`,
		Example: "  neru bench -n 20000 -c 64 --half\n  make bench   # the README's table",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Progress = cmd.ErrOrStderr()
			rep, err := bench.Run(cmd.Context(), o)
			if rep != nil && rep.Max != nil {
				if asJSON {
					enc := json.NewEncoder(cmd.OutOrStdout())
					enc.SetIndent("", "  ")
					if jerr := enc.Encode(rep); jerr != nil {
						return errors.Join(err, jerr)
					}
				} else {
					rep.WriteText(cmd.OutOrStdout())
				}
				if markdown != "" && err == nil {
					if werr := writeMarkdown(markdown, rep.Markdown(os.Args, appendMD), appendMD); werr != nil {
						return werr
					}
				}
				if readme != "" && err == nil {
					if werr := updateReadme(readme, rep.Summary()); werr != nil {
						return werr
					}
				}
			}
			if err != nil {
				return err
			}
			if !rep.Complete() {
				return errors.New("bench: the run is incomplete (errors, missing or duplicate deliveries)")
			}
			return nil
		},
	}
	fs := c.Flags()
	fs.IntVarP(&o.Events, "events", "n", o.Events, "webhooks of the maximum-rate phase")
	fs.IntVarP(&o.Concurrency, "concurrency", "c", o.Concurrency, "keep-alive connections posting webhooks (and SDK calls)")
	fs.IntVar(&o.Sessions, "sessions", o.Sessions, "sender numbers the webhooks come from: one listener and one session each")
	fs.IntVar(&o.Listeners, "listeners", o.Listeners, "more listeners to register first, of numbers nothing is sent from")
	fs.IntVar(&o.ScaleTo, "scale-to", 0, "after the first phases, register listeners up to this total and measure the maximum again")
	fs.IntVar(&o.Rounds, "rounds", o.Rounds, "maximum-rate phases, each followed by the naive one (they take turns); the median is reported")
	fs.BoolVar(&o.HalfLoad, "half", o.HalfLoad, "measure latency at half the maximum rate, paced")
	fs.Float64Var(&o.Rate, "rate", 0, "pace the maximum phase at this many webhooks/s (0: closed loop, as fast as answered)")
	fs.IntVar(&o.StateOps, "state-ops", 0, "SDK state operations (set/get) to time against a bare echo handler (0: none)")
	fs.StringVar(&o.RedisURL, "redis-url", "", "start neru dev on this Redis (a fresh keyspace, deleted at the end); default its in-process one")
	fs.StringVar(&o.NATSURL, "nats-url", "", "start neru dev on this NATS (it takes over NERU_EVENTS' consumers: never a NATS a platform uses); default embedded")
	fs.StringVar(&o.Naive, "naive", "", "binary of the naive pipeline (go build ./cmd/neru/bench/naive) to compare with, on the same servers")
	fs.StringVar(&o.PprofAddr, "pprof-addr", "", "serve the platform's net/http/pprof here (neru dev --pprof-addr)")
	fs.StringVar(&o.Target, "target", "", "drive this already running platform (webhook base URL) instead of starting neru dev")
	fs.StringVar(&o.CommandURL, "command-url", o.CommandURL, "with --target: its SDK command endpoint")
	fs.StringVar(&o.InstanceID, "instance", o.InstanceID, "with --target: the instance the listeners are registered in")
	fs.StringVar(&o.ApplicationID, "application-id", o.ApplicationID, "with --target: that instance's Vonage application id")
	fs.StringVar(&o.AppAddr, "app-addr", o.AppAddr, "with --target: where the sink app listens (the instance's app URL)")
	fs.IntVar(&o.PlatformPID, "platform-pid", 0, "with --target: its process id, for its CPU (default: found by its port)")
	fs.IntVar(&o.RegisterConcurrency, "register-concurrency", o.RegisterConcurrency, "SDK registration requests (batches of 1,000 listeners) in flight at once")
	fs.DurationVar(&o.Timeout, "timeout", o.Timeout, "how long deliveries may stall before a phase gives up")
	fs.StringVar(&markdown, "markdown", "", "also write the report as a markdown table to this file (make bench: docs/benchmarks.md)")
	fs.BoolVar(&appendMD, "append", false, "append to the --markdown file (a section of its own) instead of replacing it")
	fs.StringVar(&readme, "readme", "", "also put the summary table between the bench markers of this file (make bench: README.md)")
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
	c.AddCommand(benchSinkCmd())
	return c
}

// benchSinkCmd is the app process of `neru bench`, started by it.
func benchSinkCmd() *cobra.Command {
	var addr, echoAddr string
	c := &cobra.Command{
		Use:    "sink [--addr a] [--echo-addr a]",
		Short:  "the app process neru bench starts (not for direct use)",
		Hidden: true,
		Args:   noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return bench.RunSink(cmd.Context(), addr, echoAddr, cmd.OutOrStdout())
		},
	}
	c.Flags().StringVar(&addr, "addr", "127.0.0.1:0", "listen address of the sink")
	c.Flags().StringVar(&echoAddr, "echo-addr", "", "listen address of the bare echo handler (empty: none)")
	return c
}

func updateReadme(path, summary string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	doc, err := bench.ReplaceBetween(string(raw), summary)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.WriteFile(path, []byte(doc), 0o644)
}

func writeMarkdown(path, text string, appendTo bool) error {
	flag := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if appendTo {
		flag = os.O_CREATE | os.O_WRONLY | os.O_APPEND
	}
	f, err := os.OpenFile(path, flag, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteString(text)
	return errors.Join(err, f.Close())
}
