package lease

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Why a lease's Context ended (context.Cause).
var (
	// ErrFenced: not renewed in time; the key may still be ours, but it
	// might expire before the next renewal, so the work must stop.
	ErrFenced = errors.New("lease: not renewed in time")
	// ErrLost: a renewal found the key gone or held by another member.
	ErrLost = errors.New("lease: lost")
	// ErrReleased: the holder released the lease.
	ErrReleased = errors.New("lease: released")
)

// Compare-and-act scripts: a member only extends or frees a lease it holds.
var (
	renewScript   = redis.NewScript(`if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("pexpire", KEYS[1], ARGV[2]) end return 0`)
	releaseScript = redis.NewScript(`if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) end return 0`)
)

// Holder acquires, renews and releases the leases of one member. Safe for
// concurrent use.
type Holder struct {
	rdb   redis.UniversalClient
	owner string
	ttl   time.Duration
	log   *slog.Logger

	mu   sync.Mutex
	held map[string]*Lease
}

// NewHolder returns a holder whose leases carry owner as their value and
// last ttl unless renewed.
func NewHolder(rdb redis.UniversalClient, owner string, ttl time.Duration, log *slog.Logger) *Holder {
	return &Holder{rdb: rdb, owner: owner, ttl: ttl, log: log, held: map[string]*Lease{}}
}

// Lease is one key held by a Holder.
type Lease struct {
	key    string
	ctx    context.Context
	cancel context.CancelCauseFunc
	fence  *time.Timer
	sent   time.Time // when the last successful acquire or renewal was sent
}

// Key is the lease's Redis key.
func (l *Lease) Key() string { return l.key }

// Context ends when the work under the lease must stop: fenced, lost or
// released (see context.Cause). It never ends only because the caller's
// context did.
func (l *Lease) Context() context.Context { return l.ctx }

// Acquire takes key if no one holds it. It returns nil, nil if another
// member (or this one, under another Holder) holds it.
func (h *Holder) Acquire(ctx context.Context, key string) (*Lease, error) {
	sent := time.Now()
	ok, err := h.rdb.SetNX(ctx, key, h.owner, h.ttl).Result()
	if err != nil || !ok {
		return nil, err
	}
	l := &Lease{key: key, sent: sent}
	l.ctx, l.cancel = context.WithCancelCause(context.Background())
	h.mu.Lock()
	defer h.mu.Unlock()
	if old := h.held[key]; old != nil {
		h.end(old, ErrLost) // it had expired: whatever ran under it is stale
	}
	h.held[key] = l
	h.arm(l)
	return l, nil
}

// arm (re)starts l's fence for the renewal sent at l.sent. h.mu is held.
func (h *Holder) arm(l *Lease) {
	if l.fence != nil {
		l.fence.Stop()
	}
	l.fence = time.AfterFunc(time.Until(l.sent.Add(h.ttl*3/4)), func() {
		if l.ctx.Err() == nil {
			h.log.Warn("lease not renewed in time; fencing it", "key", l.key)
		}
		l.cancel(ErrFenced)
	})
}

// end cancels l's Context with cause and stops its fence. h.mu is held.
func (h *Holder) end(l *Lease, cause error) {
	if l.fence != nil {
		l.fence.Stop()
	}
	l.cancel(cause)
}

// Renew extends, in one pipeline, every lease held whose Context has not
// ended. A lease found gone or taken ends with ErrLost. If the round fails,
// leases renewed more than half a TTL ago are fenced at once, the others
// keep their fence timers, and the error is returned.
func (h *Holder) Renew(ctx context.Context) error {
	h.mu.Lock()
	leases := make([]*Lease, 0, len(h.held))
	for _, l := range h.held {
		if l.ctx.Err() == nil {
			leases = append(leases, l)
		}
	}
	h.mu.Unlock()
	if len(leases) == 0 {
		return nil
	}
	sent := time.Now()
	cmds := make([]*redis.Cmd, len(leases))
	_, err := h.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, l := range leases {
			// Eval, not EvalSha: a pipeline cannot fall back on NOSCRIPT.
			cmds[i] = renewScript.Eval(ctx, p, []string{l.key}, h.owner, h.ttl.Milliseconds())
		}
		return nil
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	if err != nil {
		h.fenceStale(time.Now())
		return err
	}
	for i, l := range leases {
		if h.held[l.key] != l || l.ctx.Err() != nil {
			continue // released or fenced meanwhile
		}
		if v, _ := cmds[i].Int(); v == 1 {
			l.sent = sent
			h.arm(l)
			continue
		}
		h.log.Warn("lease lost", "key", l.key)
		h.end(l, ErrLost)
	}
	return nil
}

// FenceStale ends, with ErrFenced, every lease renewed more than half a TTL
// ago: after a failed round (a heartbeat, say), they may expire before the
// next round can renew them.
func (h *Holder) FenceStale() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fenceStale(time.Now())
}

func (h *Holder) fenceStale(now time.Time) {
	for _, l := range h.held {
		if l.ctx.Err() == nil && now.Sub(l.sent) > h.ttl/2 {
			h.log.Warn("cannot renew lease; fencing it", "key", l.key)
			h.end(l, ErrFenced)
		}
	}
}

// Release ends l and deletes its key if this member still holds it, so
// another member may acquire it at once. A failure is logged (the key then
// expires on its own) and returned.
func (h *Holder) Release(l *Lease) error {
	h.mu.Lock()
	h.end(l, ErrReleased)
	if h.held[l.key] == l {
		delete(h.held, l.key)
	}
	h.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := releaseScript.Run(ctx, h.rdb, []string{l.key}, h.owner).Err(); err != nil {
		h.log.Warn("cannot release lease; it expires on its own", "key", l.key, "err", err)
		return err
	}
	return nil
}
