package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/neru-dev/neru/cmd/neru/bench"
)

func runBench(ctx context.Context, args []string) error {
	o := bench.DefaultOptions()
	var asJSON, verbose bool
	fs := flags("bench")
	fs.IntVar(&o.Events, "n", o.Events, "webhooks to post in the measured phase")
	fs.IntVar(&o.Concurrency, "c", o.Concurrency, "webhook posters running at once (keep-alive connections)")
	fs.IntVar(&o.Listeners, "listeners", o.Listeners, "listeners to register; min(listeners, sessions) match the webhooks, the rest never do")
	fs.IntVar(&o.Sessions, "sessions", o.Sessions, "sessions the matching listeners are spread over (one matching listener each)")
	fs.StringVar(&o.RedisURL, "redis-url", "", "use this Redis (a fresh keyspace, deleted at the end) instead of an in-process one")
	fs.StringVar(&o.NATSURL, "nats-url", "", "use this NATS instead of an embedded one; it takes over NERU_EVENTS' partition consumers, so never a NATS a platform uses")
	fs.IntVar(&o.Partitions, "partitions", o.Partitions, "partitions of the gateway and the worker")
	fs.IntVar(&o.WorkerConcurrency, "worker-concurrency", o.WorkerConcurrency, "worker HTTP concurrency (worker.Config.Concurrency; 0 = the worker's default)")
	fs.BoolVar(&o.MemoryStorage, "memory-storage", false, "JetStream memory storage for the streams (embedded NATS only); default file storage in a temp dir")
	fs.IntVar(&o.RegisterConcurrency, "register-concurrency", o.RegisterConcurrency, "listener registrations in flight at once")
	fs.DurationVar(&o.Timeout, "timeout", o.Timeout, "how long to wait for the deliveries after the last webhook")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the measured phase to this file")
	fs.BoolVar(&asJSON, "json", false, "print the result as JSON")
	fs.BoolVar(&verbose, "v", false, "the platform's debug logs (default: errors only)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench: unexpected arguments %q", fs.Args())
	}
	level := slog.LevelError
	if verbose {
		level = slog.LevelDebug
	}
	o.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	o.Progress = os.Stderr
	res, err := bench.Run(ctx, o)
	if res != nil {
		if asJSON {
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "  ")
			if jerr := enc.Encode(res); jerr != nil {
				return errors.Join(err, jerr)
			}
		} else {
			res.WriteText(os.Stdout)
		}
	}
	if err != nil {
		return err
	}
	if !res.Complete() {
		return errors.New("bench: the run is incomplete (errors, missing or duplicate deliveries)")
	}
	return nil
}
