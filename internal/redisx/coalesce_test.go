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
