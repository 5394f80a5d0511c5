package devenv_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/neru-dev/neru/internal/devenv"
)

// BenchmarkMatch is the cost of matching one inbound SMS (router.Match: the
// index sets, the records, session liveness) on the dev store, with 10 and
// with 100,000 listeners registered, one session each. Events always go to
// the same 10 numbers, so the only difference is how many other listeners
// the store holds. The target: ns/op at 100k ≤ 1.11 × at 10.
//
//	go test -run '^$' -bench Match -benchtime 20000x ./internal/devenv/
func BenchmarkMatch(b *testing.B) {
	for _, store := range []struct {
		name string
		opt  devenv.Options
	}{
		{"redis-server", devenv.Options{Ephemeral: true, NoNATS: true}},
		{"in-process", devenv.Options{Ephemeral: true, NoNATS: true, InProcessRedis: true}},
	} {
		for _, n := range []int{10, 100_000} {
			b.Run(fmt.Sprintf("%s/listeners=%d", store.name, n), func(b *testing.B) {
				e, err := devenv.Start(store.opt)
				if err != nil {
					b.Fatal(err)
				}
				defer e.Close()
				s := open(b, e)
				took := seed(b, s, n)
				b.ResetTimer()
				for i := 0; b.Loop(); i++ {
					if got := s.matches(b, i%10); got != 1 {
						b.Fatalf("event for listener %d matched %d", i%10, got)
					}
				}
				b.ReportMetric(float64(n)/took.Seconds(), "registered/s")
			})
		}
	}
}

// seed registers n listeners from 16 concurrent clients, as an app's
// start-up would, and reports how long it took.
func seed(b *testing.B, s stores, n int) time.Duration {
	b.Helper()
	ctx := context.Background()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				if err := s.register(ctx, i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return time.Since(start)
}
