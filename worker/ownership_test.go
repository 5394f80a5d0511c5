package worker

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
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
