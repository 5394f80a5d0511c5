package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/neru-dev/neru/delivery"
	"github.com/neru-dev/neru/internal/rendezvous"
	"github.com/neru-dev/neru/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func newTestWorker(t *testing.T, id string, js jetstream.JetStream, ks string) *Worker {
	t.Helper()
	rdb, _ := testenv.Redis(t)
	w, err := New(Config{ID: id, Partitions: 8, LeaseTTL: time.Second, DrainTime: time.Second}, js, rdb, ks, nil,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestTwoWorkersSplitThePartitions(t *testing.T) {
	js, err := jetstream.New(testenv.NATS(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := delivery.EnsureStreams(ctx, js, delivery.StreamConfig{}); err != nil {
		t.Fatal(err)
	}
	rdb, ks := testenv.Redis(t)
	// Scripts must work on a Redis that has never seen them.
	if err := rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	a, b := newTestWorker(t, "wa", js, ks), newTestWorker(t, "wb", js, ks)
	oa, ob := newOwnership(a), newOwnership(b)
	t.Cleanup(oa.releaseAll)
	t.Cleanup(ob.releaseAll)

	// The first round of a sees only a, so it claims everything; its next
	// rounds hand b's share over, once each drained partition has finished
	// (its drain runs in the background, so that may take a round more).
	split := func() error {
		for p := range 8 {
			holder := rdb.Get(ctx, oa.leaseKey(p)).Val()
			want := rendezvous.Owner([]string{"wa", "wb"}, strconv.Itoa(p))
			inA, inB := oa.owned[p] != nil, ob.owned[p] != nil
			if holder != want || inA == inB || (inA && want != "wa") {
				return fmt.Errorf("partition %d: lease %q, rendezvous %q, running in a=%v b=%v", p, holder, want, inA, inB)
			}
		}
		return nil
	}
	var last error
	testenv.Eventually(t, 20*time.Second, func() bool {
		for _, o := range []*ownership{oa, ob} {
			if err := o.rebalance(ctx); err != nil {
				t.Fatal(err)
			}
		}
		last = split()
		return last == nil
	}, "partitions never split by rendezvous: %v", lastErr{&last})
	if len(oa.owned) == 0 || len(ob.owned) == 0 {
		t.Fatalf("split %d/%d: each worker should own some of 8 partitions", len(oa.owned), len(ob.owned))
	}

	// b leaves: a takes everything over on its next rounds.
	ob.releaseAll()
	testenv.Eventually(t, 20*time.Second, func() bool {
		_ = oa.rebalance(ctx)
		return len(oa.owned) == 8
	}, "a did not take over b's partitions")

	// A lease taken away (another worker after a partition) stops the partition at once.
	rdb.Set(ctx, oa.leaseKey(3), "intruder", time.Minute)
	if err := oa.rebalance(ctx); err != nil {
		t.Fatal(err)
	}
	if oa.owned[3] != nil {
		t.Fatal("partition 3 still running after its lease was lost")
	}
	if got := rdb.Get(ctx, oa.leaseKey(3)).Val(); got != "intruder" {
		t.Fatalf("a released a lease it does not hold: %q", got)
	}
}

// lastErr prints, when a test fails, the error a polled check last returned.
type lastErr struct{ err *error }

func (l lastErr) String() string { return fmt.Sprint(*l.err) }

// A partition whose start waits on JetStream (NATS electing the consumer's
// new leader after a node died) does not hold up the renewal of the leases
// the worker holds: the partitions that run keep running, and the slow one
// is owned once JetStream answers. (The start used to run inside the
// rebalance loop, so a consumer reset waiting out the API timeout fenced
// every other partition, and their restarts stalled in turn.)
func TestSlowStartDoesNotFenceTheOthers(t *testing.T) {
	rdb, ks := testenv.Redis(t)
	js := &stallingJS{JetStream: streams(t), stalled: make(chan string, 16), release: make(chan struct{})}
	w, err := New(Config{ID: "slow-start", Partitions: 2, LeaseTTL: time.Second, DrainTime: time.Second}, js, rdb, ks, nil,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	o := newOwnership(w)
	t.Cleanup(o.releaseAll)
	t.Cleanup(js.unstall) // before releaseAll, which waits for the stalled start
	ctx := context.Background()
	testenv.Eventually(t, 20*time.Second, func() bool {
		if err := o.rebalance(ctx); err != nil {
			t.Fatal(err)
		}
		return len(o.owned) == 2
	}, "the worker does not own both partitions")
	l0 := o.held[0]

	// Partition 1 loses its lease and is claimed again; its consumer reset
	// stalls on JetStream for longer than a lease lasts unrenewed.
	js.stall.Store(true)
	if err := rdb.Del(ctx, o.leaseKey(1)).Err(); err != nil {
		t.Fatal(err)
	}
	var stalledAt time.Time
	testenv.Eventually(t, 20*time.Second, func() bool {
		if err := o.rebalance(ctx); err != nil {
			t.Fatal(err)
		}
		if err := context.Cause(l0.Context()); err != nil {
			t.Fatalf("partition 0 stopped while partition 1's start waited on JetStream: %v", err)
		}
		select {
		case name := <-js.stalled:
			if name != consumerName(1) {
				t.Fatalf("reset of %s stalled, want %s", name, consumerName(1))
			}
			stalledAt = time.Now()
		default:
		}
		// Once a lease would have expired unrenewed since the stall began,
		// partition 0's was renewed by rounds that ran meanwhile.
		return !stalledAt.IsZero() && time.Since(stalledAt) > w.cfg.LeaseTTL
	}, "partition 1's start never stalled")
	if o.owned[0] == nil || o.held[0] != l0 || o.owned[0].finished() {
		t.Fatal("partition 0 is no longer running under its lease")
	}
	if o.starting[1] == nil || o.owned[1] != nil {
		t.Fatal("partition 1's stalled start is not pending")
	}

	// JetStream answers: partition 1 starts and is owned.
	js.unstall()
	testenv.Eventually(t, 20*time.Second, func() bool {
		if err := o.rebalance(ctx); err != nil {
			t.Fatal(err)
		}
		return o.owned[1] != nil && len(o.starting) == 0
	}, "partition 1 not owned once JetStream answered")
	if o.held[0] != l0 || l0.Context().Err() != nil {
		t.Fatal("partition 0's lease ended")
	}
}

// stallingJS is a real JetStream whose consumer resets wait, while stall is
// set, until unstall (at most 10s, so a rebalance loop that waits for them
// still ends).
type stallingJS struct {
	JetStream
	stall   atomic.Bool
	stalled chan string // the consumers whose reset stalled
	release chan struct{}
	once    sync.Once
}

func (s *stallingJS) DeleteConsumer(ctx context.Context, stream, name string) error {
	if s.stall.Load() {
		select {
		case s.stalled <- name:
		default:
		}
		select {
		case <-s.release:
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Second):
			return errors.New("stallingJS: still stalled")
		}
	}
	return s.JetStream.DeleteConsumer(ctx, stream, name)
}

func (s *stallingJS) unstall() {
	s.once.Do(func() {
		s.stall.Store(false)
		close(s.release)
	})
}
