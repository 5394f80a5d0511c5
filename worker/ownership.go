package worker

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/neru-dev/neru/internal/rendezvous"
)

// Compare-and-act scripts: a worker only extends or frees a lease it holds.
var (
	renewLease   = redis.NewScript(`if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("pexpire", KEYS[1], ARGV[2]) end return 0`)
	releaseLease = redis.NewScript(`if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) end return 0`)
)

// ownership tracks the partitions this worker holds.
type ownership struct {
	w       *Worker
	owned   map[int]*partition
	renewed map[int]time.Time   // last successful lease renewal (when it was sent)
	fences  map[int]*time.Timer // stop the partition unless renewed in time
}

func newOwnership(w *Worker) *ownership {
	return &ownership{w: w, owned: map[int]*partition{}, renewed: map[int]time.Time{}, fences: map[int]*time.Timer{}}
}

// arm (re)starts partition n's fence: unless a renewal sent after sent
// succeeds first, the partition stops, requests in flight included, three
// quarters of a lease after sent, before the lease can expire and pass to
// another worker. The timer does not depend on the rebalance loop, which may
// be stuck on a slow Redis or NATS call exactly when fencing matters.
func (o *ownership) arm(n int, sent time.Time) {
	if t := o.fences[n]; t != nil {
		t.Stop()
	}
	p, log := o.owned[n], o.w.log
	o.fences[n] = time.AfterFunc(time.Until(sent.Add(o.w.cfg.LeaseTTL*3/4)), func() {
		if !p.finished() {
			log.Warn("partition lease not renewed in time; stopping it", "partition", n)
		}
		p.stop()
		p.abort()
	})
}

func (o *ownership) membersKey() string    { return o.w.ks + "w:members" }
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
	now := time.Now()
	members, err := o.heartbeat(hctx, now)
	if err != nil {
		o.fenceStale(time.Now())
		return err
	}
	want := map[int]bool{}
	for n := range w.cfg.Partitions {
		if rendezvous.Owner(members, strconv.Itoa(n)) == w.cfg.ID {
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
	if err := o.renew(hctx, now); err != nil {
		return err
	}
	for n, p := range o.owned {
		if p.finished() {
			o.drop(n, 0)
		}
	}
	claimedAny := false
	for n := range want {
		if o.owned[n] != nil {
			continue
		}
		if claimedAny && time.Since(now) > ttl/4 {
			break // claim the rest next round, after renewing what we hold
		}
		claimed := time.Now()
		ok, err := w.rdb.SetNX(ctx, o.leaseKey(n), w.cfg.ID, ttl).Result()
		if err != nil || !ok {
			continue // still held by its previous owner, which is letting go
		}
		p, err := w.startPartition(ctx, n)
		if err != nil {
			releaseLease.Run(ctx, w.rdb, []string{o.leaseKey(n)}, w.cfg.ID)
			w.log.Error("cannot start partition", "partition", n, "err", err)
			continue
		}
		o.owned[n], o.renewed[n] = p, claimed
		o.arm(n, claimed)
		claimedAny = true
	}
	return nil
}

// renew extends every lease held, draining partitions included, and stops
// at once any partition whose lease turned out to be gone.
func (o *ownership) renew(ctx context.Context, now time.Time) error {
	w := o.w
	renewals := map[int]*redis.Cmd{}
	_, err := w.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for n := range o.owned {
			// Eval, not EvalSha: a pipeline cannot fall back on NOSCRIPT.
			renewals[n] = renewLease.Eval(ctx, p, []string{o.leaseKey(n)}, w.cfg.ID, w.cfg.LeaseTTL.Milliseconds())
		}
		return nil
	})
	if err != nil {
		o.fenceStale(time.Now())
		return err
	}
	for n, c := range renewals {
		if v, _ := c.Int(); v == 1 {
			o.renewed[n] = now
			o.arm(n, now)
			continue
		}
		w.log.Warn("partition lease lost; stopping it", "partition", n)
		o.drop(n, 0)
	}
	return nil
}

func (o *ownership) heartbeat(ctx context.Context, now time.Time) ([]string, error) {
	w := o.w
	var members *redis.StringSliceCmd
	_, err := w.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		key := o.membersKey()
		p.ZAdd(ctx, key, redis.Z{Score: float64(now.Add(w.cfg.LeaseTTL).UnixMilli()), Member: w.cfg.ID})
		p.ZRemRangeByScore(ctx, key, "-inf", strconv.FormatInt(now.UnixMilli(), 10))
		members = p.ZRange(ctx, key, 0, -1)
		return nil
	})
	return members.Val(), err
}

// fenceStale stops, without grace, partitions whose lease may already have
// expired: another worker may own them by now.
func (o *ownership) fenceStale(now time.Time) {
	for n := range o.owned {
		if now.Sub(o.renewed[n]) > o.w.cfg.LeaseTTL/2 {
			o.w.log.Warn("cannot renew partition lease; stopping it", "partition", n)
			o.drop(n, 0)
		}
	}
}

// drop stops a partition and frees its lease.
func (o *ownership) drop(n int, grace time.Duration) {
	if t := o.fences[n]; t != nil {
		t.Stop()
	}
	o.owned[n].shutdown(grace)
	delete(o.owned, n)
	delete(o.renewed, n)
	delete(o.fences, n)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	releaseLease.Run(ctx, o.w.rdb, []string{o.leaseKey(n)}, o.w.cfg.ID)
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
			_ = o.renew(ctx, time.Now())
		}
	}
	for n := range o.owned {
		o.drop(n, 0)
	}
	o.w.rdb.ZRem(ctx, o.membersKey(), o.w.cfg.ID)
}
