package worker

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/neru-dev/neru/internal/lease"
)

// ownership tracks the partitions this worker holds, each under a lease
// (package lease) whose fence stops it, requests in flight included, before
// the lease can expire and pass to another worker.
type ownership struct {
	w       *Worker
	members *lease.Members
	leases  *lease.Holder
	owned   map[int]*partition
	held    map[int]*lease.Lease
}

func newOwnership(w *Worker) *ownership {
	return &ownership{
		w:       w,
		members: lease.NewMembers(w.rdb, w.ks+"w:members", w.cfg.ID, w.cfg.LeaseTTL),
		leases:  lease.NewHolder(w.rdb, w.cfg.ID, w.cfg.LeaseTTL, w.log),
		owned:   map[int]*partition{}, held: map[int]*lease.Lease{},
	}
}

func (o *ownership) leaseKey(n int) string { return o.w.ks + "w:lease:{" + strconv.Itoa(n) + "}" }

// rebalance heartbeats, then converges the owned partitions on this worker's
// rendezvous share of the live members: release what moved away, renew what
// stays, claim what is new and free.
func (o *ownership) rebalance(ctx context.Context) error {
	w := o.w
	ttl := w.cfg.LeaseTTL
	// Heartbeat and renewals must not outlive a lease; the fences cover
	// whatever else blocks.
	hctx, cancel := context.WithTimeout(ctx, ttl/2)
	defer cancel()
	start := time.Now()
	members, err := o.members.Heartbeat(hctx)
	if err != nil {
		o.leases.FenceStale()
		return err
	}
	want := map[int]bool{}
	for n := range w.cfg.Partitions {
		if o.members.Owns(members, strconv.Itoa(n)) {
			want[n] = true
		}
	}
	for n, p := range o.owned {
		if !want[n] && !p.draining() {
			// Drain in the background; the lease stays ours (and renewed)
			// until the last lane is done, so nobody else starts early.
			go p.shutdown(w.cfg.DrainTime)
		}
	}
	if err := o.leases.Renew(hctx); err != nil {
		return err
	}
	for n, p := range o.owned {
		if errors.Is(context.Cause(o.held[n].Context()), lease.ErrLost) || p.finished() {
			o.drop(n)
		}
	}
	claimedAny := false
	for n := range want {
		if o.owned[n] != nil {
			continue
		}
		if claimedAny && time.Since(start) > ttl/4 {
			break // claim the rest next round, after renewing what we hold
		}
		l, err := o.leases.Acquire(ctx, o.leaseKey(n))
		if err != nil || l == nil {
			continue // still held by its previous owner, which is letting go
		}
		p, err := w.startPartition(ctx, n)
		if err != nil {
			_ = o.leases.Release(l)
			w.log.Error("cannot start partition", "partition", n, "err", err)
			continue
		}
		// The fence: when the lease ends, so does all work under it.
		context.AfterFunc(l.Context(), func() { p.stop(); p.abort() })
		o.owned[n], o.held[n] = p, l
		claimedAny = true
	}
	return nil
}

// drop stops a partition at once and frees its lease.
func (o *ownership) drop(n int) {
	o.owned[n].shutdown(0)
	_ = o.leases.Release(o.held[n]) // logged by Release
	delete(o.owned, n)
	delete(o.held, n)
}

// releaseAll stops every partition in parallel with the drain time, keeping
// the leases renewed meanwhile, then frees them and leaves the member set so
// other workers take over at once.
func (o *ownership) releaseAll() {
	var wg sync.WaitGroup
	for _, p := range o.owned {
		wg.Go(func() { p.shutdown(o.w.cfg.DrainTime) })
	}
	drained := make(chan struct{})
	go func() { wg.Wait(); close(drained) }()
	tick := time.NewTicker(o.w.cfg.LeaseTTL / 4)
	defer tick.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), o.w.cfg.DrainTime+5*time.Second)
	defer cancel()
	for waiting := true; waiting; {
		select {
		case <-drained:
			waiting = false
		case <-tick.C:
			_ = o.leases.Renew(ctx)
		}
	}
	for n := range o.owned {
		o.drop(n)
	}
	if err := o.members.Leave(ctx); err != nil {
		o.w.log.Warn("cannot leave the member set; the others take over when the heartbeat lapses", "key", o.w.ks+"w:members", "err", err)
	}
}
