package redisx_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/neru-dev/neru/internal/redisx"
	"github.com/neru-dev/neru/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// Concurrent callers each get their own commands' results and errors.
func TestCoalescerKeepsCallersApart(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) { keepsCallersApart(t, b) })
	}
}

func keepsCallersApart(t *testing.T, b testenv.Backend) {
	rdb, ks := b.Open(t)
	ctx := context.Background()
	c := redisx.NewCoalescer(rdb, 2)
	const n = 200
	for i := range n {
		if err := rdb.Set(ctx, fmt.Sprintf("%sk%d", ks, i), i, time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			var got *redis.StringCmd
			var missing *redis.StringCmd
			err := c.Pipelined(ctx, func(p redis.Pipeliner) {
				got = p.Get(ctx, fmt.Sprintf("%sk%d", ks, i))
				if i%2 == 1 {
					missing = p.Get(ctx, fmt.Sprintf("%snone%d", ks, i))
				}
			})
			switch {
			case i%2 == 1 && !errors.Is(err, redis.Nil):
				errs <- fmt.Errorf("caller %d: error %v, want redis.Nil of its own missing key", i, err)
			case i%2 == 0 && err != nil:
				errs <- fmt.Errorf("caller %d: error %v, want none", i, err)
			case got.Val() != fmt.Sprint(i):
				errs <- fmt.Errorf("caller %d got %q", i, got.Val())
			case missing != nil && !errors.Is(missing.Err(), redis.Nil):
				errs <- fmt.Errorf("caller %d: missing key gave %v", i, missing.Err())
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestCoalescerHonoursContext(t *testing.T) {
	rdb, _ := testenv.Backends()[0].Open(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := redisx.NewCoalescer(rdb, 1)
	if err := c.Pipelined(ctx, func(p redis.Pipeliner) { p.Ping(context.Background()) }); !errors.Is(err, context.Canceled) || !errors.Is(err, redisx.ErrGaveUp) {
		t.Errorf("cancelled context: %v", err)
	}
}

// A script runs by its SHA in a shared round trip, and is sent in full when
// the server does not know it (flushed, as on a restarted node).
func TestCoalescerRunsScripts(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			rdb, ks := b.Open(t)
			ctx := context.Background()
			c := redisx.NewCoalescer(rdb, 1)
			incr := redis.NewScript(`return redis.call('INCRBY', KEYS[1], ARGV[1])`)
			key := ks + "script"
			for i, flush := range []bool{true, false} {
				if flush {
					if err := rdb.ScriptFlush(ctx).Err(); err != nil {
						t.Fatal(err)
					}
				}
				n, err := c.Run(ctx, incr, []string{key}, 2).Int()
				if err != nil || n != 2*(i+1) {
					t.Fatalf("run %d (flushed %v): %d, %v", i, flush, n, err)
				}
			}
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			if err := c.Run(cctx, incr, []string{key}, 1).Err(); !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled context: %v", err)
			}
		})
	}
}

// RunMany gives each call its own result, keeps the order of calls on the
// same key, and survives a server that lost the script (all calls, on
// every node, come back NOSCRIPT and go again in full).
func TestCoalescerRunsManyScripts(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			rdb, ks := b.Open(t)
			ctx := context.Background()
			c := redisx.NewCoalescer(rdb, 1)
			push := redis.NewScript(`redis.call('RPUSH', KEYS[1], ARGV[1]) return redis.call('LLEN', KEYS[1])`)
			const keys, rounds = 20, 2
			for run, flush := range []bool{true, false} {
				if flush {
					if err := rdb.ScriptFlush(ctx).Err(); err != nil {
						t.Fatal(err)
					}
				}
				var calls []redisx.ScriptCall
				for i := range keys * rounds {
					// Keys of many slots, so a cluster spreads them over its nodes.
					calls = append(calls, redisx.ScriptCall{Keys: []string{fmt.Sprintf("%srm{%d}", ks, i%keys)}, Args: []any{i}})
				}
				cmds := c.RunMany(ctx, push, calls)
				if len(cmds) != len(calls) {
					t.Fatalf("%d results for %d calls", len(cmds), len(calls))
				}
				for i, cmd := range cmds {
					n, err := cmd.Int()
					if want := run*rounds + i/keys + 1; err != nil || n != want {
						t.Fatalf("run %d (flushed %v) call %d: %d, %v, want length %d", run, flush, i, n, err, want)
					}
				}
			}
			for k := range keys {
				got, err := rdb.LRange(ctx, fmt.Sprintf("%srm{%d}", ks, k), 0, -1).Result()
				want := []string{fmt.Sprint(k), fmt.Sprint(k + keys), fmt.Sprint(k), fmt.Sprint(k + keys)}
				if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("key %d holds %v (%v), want %v: calls on one key out of order", k, got, err, want)
				}
			}
		})
	}
}
