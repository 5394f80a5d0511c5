package redisx

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/redis/go-redis/v9"
)

// Coalescer sends the pipelines of concurrent callers together: a caller's
// commands leave in one round trip with whatever other callers queued while
// the previous round trip was on the wire, so a busy gateway pays one write
// and one read (on its side and on Redis's) for many webhooks instead of one
// each. A lone caller's pipeline leaves at once: it waits for nothing but a
// goroutine hand-off.
//
// Commands of different callers share a round trip but not a transaction:
// each caller sees its own commands' results and errors, exactly as with
// redis.Pipelined. Safe for concurrent use; it holds no goroutine while idle.
type Coalescer struct {
	rdb     redis.UniversalClient
	runners int // round trips in flight at most

	mu      sync.Mutex
	queue   []*call
	running int
}

type call struct {
	fn   func(redis.Pipeliner)
	err  error
	done chan struct{}
}

// NewCoalescer returns a Coalescer with at most runners round trips in
// flight at once (at least 1).
func NewCoalescer(rdb redis.UniversalClient, runners int) *Coalescer {
	return &Coalescer{rdb: rdb, runners: max(runners, 1)}
}

// ErrGaveUp: the caller's context ended before its round trip came back.
// The commands may still run, so their results must not be read. It wraps
// the context's error.
var ErrGaveUp = errors.New("redisx: gave up waiting for the round trip")

// Pipelined queues fn's commands and returns once they were executed, with
// the first error among them (redis.Nil included, as redis.Pipelined does).
// If ctx ends first it returns ErrGaveUp (wrapping ctx's error): the
// commands may still run, so the caller must not read them then.
func (c *Coalescer) Pipelined(ctx context.Context, fn func(redis.Pipeliner)) error {
	cl := &call{fn: fn, done: make(chan struct{})}
	c.mu.Lock()
	c.queue = append(c.queue, cl)
	if c.running < c.runners {
		c.running++
		go c.run()
	}
	c.mu.Unlock()
	select {
	case <-cl.done:
		return cl.err
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrGaveUp, ctx.Err())
	}
}

// run sends what is queued, one round trip at a time, until nothing is.
func (c *Coalescer) run() {
	for {
		c.mu.Lock()
		batch := c.queue
		c.queue = nil
		if len(batch) == 0 {
			c.running--
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		p := c.rdb.Pipeline()
		ends := make([]int, len(batch))
		for i, cl := range batch {
			cl.fn(p)
			ends[i] = p.Len()
		}
		// The client's read and write timeouts bound the round trip; no
		// caller's context may cut the others' commands short.
		cmds, _ := p.Exec(context.Background())
		start := 0
		for i, cl := range batch {
			for _, cmd := range cmds[start:min(ends[i], len(cmds))] {
				if err := cmd.Err(); err != nil {
					cl.err = err
					break
				}
			}
			start = ends[i]
			close(cl.done)
		}
	}
}

// Run runs script in the next shared round trip, by its SHA; a server that
// does not have it yet (NOSCRIPT: a restarted or new node) gets it sent in
// full, on a round trip of its own.
func (c *Coalescer) Run(ctx context.Context, script *redis.Script, keys []string, args ...any) *redis.Cmd {
	return c.RunMany(ctx, script, []ScriptCall{{Keys: keys, Args: args}})[0]
}

// ScriptCall is one run of a script: its keys and arguments.
type ScriptCall struct {
	Keys []string
	Args []any
}

// RunMany runs script once per call, all in the next shared round trip, by
// its SHA, and returns one result per call, in order. Calls on the same
// keys run in the order given. The calls a server answered NOSCRIPT (a
// restarted or new node) are sent again in full, together, on one round
// trip of their own; as a node without the script refuses every call sent
// to it, their order holds there too.
func (c *Coalescer) RunMany(ctx context.Context, script *redis.Script, calls []ScriptCall) []*redis.Cmd {
	cmds := make([]*redis.Cmd, len(calls))
	err := c.Pipelined(ctx, func(p redis.Pipeliner) {
		for i, cl := range calls {
			cmds[i] = script.EvalSha(ctx, p, cl.Keys, cl.Args...)
		}
	})
	if errors.Is(err, ErrGaveUp) {
		// The commands may still run (and cmds be set, so it is not ours
		// to touch): their results are not ours either.
		failed := make([]*redis.Cmd, len(calls))
		for i := range failed {
			failed[i] = redis.NewCmd(ctx)
			failed[i].SetErr(err)
		}
		return failed
	}
	var again []int
	for i, cmd := range cmds {
		if redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
			again = append(again, i)
		}
	}
	if len(again) == 0 {
		return cmds
	}
	// Errors per command: the pipeline's own is only the first one.
	_, _ = c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, i := range again {
			cmds[i] = script.Eval(ctx, p, calls[i].Keys, calls[i].Args...)
		}
		return nil
	})
	return cmds
}
