// Package readiness says whether a process is ready and, when it is not,
// what it is waiting for: the dependencies it is still waiting for at start
// (Redis, NATS, the streams' leaders) and the live checks it runs on every
// probe. It also owns waiting itself: Wait retries one dependency with
// capped exponential backoff, so a process started before its servers (or
// while a cluster elects its leaders) comes up when they do instead of
// exiting.
//
// A Reporter is served at /readyz (ServeHTTP). The answer names what is
// awaited, never the underlying error text, which may carry internal
// addresses; Wait logs that.
package readiness

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// Reporter collects what a process waits for. The zero value is not
// usable; use New. Methods are safe for concurrent use.
type Reporter struct {
	mu      sync.Mutex
	waiting map[string]bool // awaited at start, until Wait succeeds
	checks  []check         // run on every probe once nothing is awaited
}

type check struct {
	name string
	fn   func(context.Context) error
}

// New returns a Reporter that is ready until something is awaited.
func New() *Reporter { return &Reporter{waiting: map[string]bool{}} }

// Await marks what as awaited: the process is not ready until Done(what).
func (r *Reporter) Await(what string) {
	r.mu.Lock()
	r.waiting[what] = true
	r.mu.Unlock()
}

// Done marks what as no longer awaited.
func (r *Reporter) Done(what string) {
	r.mu.Lock()
	delete(r.waiting, what)
	r.mu.Unlock()
}

// AddCheck adds a live check, run on every probe once nothing is awaited:
// the process is not ready while it fails (Redis does not answer, the NATS
// connection is down).
func (r *Reporter) AddCheck(name string, fn func(context.Context) error) {
	r.mu.Lock()
	r.checks = append(r.checks, check{name, fn})
	r.mu.Unlock()
}

// Waiting is what the process waits for now, sorted; empty when ready.
// It runs the live checks (each bounded by ctx) when nothing is awaited.
func (r *Reporter) Waiting(ctx context.Context) []string {
	r.mu.Lock()
	var out []string
	for w := range r.waiting {
		out = append(out, w)
	}
	checks := r.checks
	r.mu.Unlock()
	if len(out) > 0 {
		sort.Strings(out)
		return out
	}
	for _, c := range checks {
		if c.fn(ctx) != nil {
			out = append(out, c.name)
		}
	}
	return out
}

// ServeHTTP answers 200 {"status":"ready"}, or 503
// {"code":"not_ready","message":"waiting for redis, nats","waiting":["redis","nats"]}.
func (r *Reporter) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	ctx, cancel := context.WithTimeout(req.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "application/json")
	waiting := r.Waiting(ctx)
	if len(waiting) == 0 {
		_ = json.NewEncoder(w).Encode(map[string]string{"status": "ready"})
		return
	}
	w.WriteHeader(http.StatusServiceUnavailable)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"code": "not_ready", "message": "waiting for " + strings.Join(waiting, ", "), "waiting": waiting,
	})
}

// Backoff bounds Wait's retries: the first retry after Min, doubling up to
// Max, each delay jittered over its upper half so processes started
// together do not retry in step.
type Backoff struct {
	Min, Max time.Duration
}

// DefaultBackoff retries quickly at first (a cluster electing leaders takes
// a second or two) and at most every 5 s later.
var DefaultBackoff = Backoff{Min: 100 * time.Millisecond, Max: 5 * time.Second}

func (b Backoff) delay(attempt int) time.Duration {
	d := b.Max
	if attempt < 30 {
		d = min(b.Min<<attempt, b.Max)
	}
	return d/2 + rand.N(d/2+1)
}

// fatal marks an error that waiting cannot cure.
type fatal struct{ err error }

func (f fatal) Error() string { return f.err.Error() }
func (f fatal) Unwrap() error { return f.err }

// Fatal wraps err so that Wait returns it at once instead of retrying: a
// configuration the servers refused will not be accepted later.
func Fatal(err error) error { return fatal{err} }

// Wait runs try until it succeeds, marking what as awaited meanwhile, and
// retries with backoff. It logs the first failure and then every 10th (at
// warn, with the error), so a long wait is visible without flooding. It
// returns nil on success, the error on a Fatal one (unwrapped), and ctx's
// error, with the last failure, when ctx ends first.
func (r *Reporter) Wait(ctx context.Context, log *slog.Logger, what string, b Backoff, try func(context.Context) error) error {
	r.Await(what)
	for attempt := 0; ; attempt++ {
		err := try(ctx)
		if err == nil {
			r.Done(what)
			if attempt > 0 {
				log.Info("ready: "+what, "attempts", attempt+1)
			}
			return nil
		}
		if f := (fatal{}); errors.As(err, &f) {
			return f.err
		}
		if attempt%10 == 0 {
			log.Warn("waiting for "+what, "attempt", attempt+1, "err", err)
		}
		t := time.NewTimer(b.delay(attempt))
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(ctx.Err(), err)
		case <-t.C:
		}
	}
}
