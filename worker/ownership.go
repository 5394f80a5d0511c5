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
	// starting are the partitions whose lease is ours and whose start
	// (consumer reset on JetStream) runs in the background; each reports
	// on started.
	starting map[int]context.CancelFunc
	started  chan started
}

// started is the outcome of a partition's start under its lease.
type started struct {
	n   int
	l   *lease.Lease
	p   *partition
	err error
}

// maxStarting bounds the partition starts in flight: a takeover starts a
// dead worker's share together rather than one per round, without putting
// thousands of consumer resets on the JetStream API at once.
const maxStarting = 16

func newOwnership(w *Worker) *ownership {
	return &ownership{
		w:       w,
		members: lease.NewMembers(w.rdb, w.ks+"w:members", w.cfg.ID, w.cfg.LeaseTTL),
		leases:  lease.NewHolder(w.rdb, w.cfg.ID, w.cfg.LeaseTTL, w.log),
		owned:   map[int]*partition{}, held: map[int]*lease.Lease{},
		starting: map[int]context.CancelFunc{}, started: make(chan started, w.cfg.Partitions),
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
		if o.owned[n] != nil || o.starting[n] != nil {
			continue
		}
		if len(o.starting) >= maxStarting || claimedAny && time.Since(start) > ttl/4 {
			break // claim the rest next round, after renewing what we hold
		}
		l, err := o.leases.Acquire(ctx, o.leaseKey(n))
		if err != nil || l == nil {
			continue // still held by its previous owner, which is letting go
		}
		o.start(n, l)
		claimedAny = true
	}
	// Starts that finish within the round are owned at once; the slow ones
	// (NATS electing leaders) are collected by a later round.
	o.collect(start.Add(ttl / 2))
	return nil
}

// start starts partition n under l in the background. Resetting its
// consumer waits on JetStream, up to the API timeout per call while NATS
// elects a new stream or consumer leader; the rebalance loop must keep
// renewing the other leases meanwhile. (A start inside the loop held the
// renewals up past the fence, so every partition stopped and restarted,
// and the restarts stalled again: a drain at a few dozen events/s after a
// NATS node was lost.) The lease is renewed while the start runs, and its
// end cancels the start.
func (o *ownership) start(n int, l *lease.Lease) {
	ctx, cancel := context.WithCancel(l.Context())
	o.starting[n] = cancel
	go func() {
		p, err := o.w.startPartition(ctx, n)
		if err == nil {
			// The fence: when the lease ends, so does all work under it.
			context.AfterFunc(l.Context(), func() { p.stop(); p.abort() })
		}
		o.started <- started{n: n, l: l, p: p, err: err}
	}()
}

// collect takes in the starts that have finished, waiting for the others
// until deadline (a zero deadline waits for all of them). A partition
// whose lease ended meanwhile is already stopped by its fence and is
// dropped by the next round, like any other.
func (o *ownership) collect(deadline time.Time) {
	var timeout <-chan time.Time
	if !deadline.IsZero() {
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		timeout = t.C
	}
	for len(o.starting) > 0 {
		var s started
		select {
		case s = <-o.started:
		default:
			select {
			case s = <-o.started:
			case <-timeout:
				return
			}
		}
		o.starting[s.n]()
		delete(o.starting, s.n)
		if s.err != nil {
			_ = o.leases.Release(s.l)
			o.w.log.Error("cannot start partition", "partition", s.n, "err", s.err)
			continue
		}
		o.owned[s.n], o.held[s.n] = s.p, s.l
	}
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
	for _, cancel := range o.starting {
		cancel()
	}
	o.collect(time.Time{})
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
