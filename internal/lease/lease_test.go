package lease

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/neru-dev/neru/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// pause is a go-redis hook that, while paused, holds every reply from the
// real Redis until resumed: a Redis (or a network) that has stopped
// answering. Commands still reach Redis; only their replies wait.
type pause struct {
	mu      sync.Mutex
	resume  chan struct{} // nil: not paused
	waiting chan struct{} // closed when a reply is first held
}

func (p *pause) start() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.resume, p.waiting = make(chan struct{}), make(chan struct{})
}

func (p *pause) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.resume != nil {
		close(p.resume)
		p.resume = nil
	}
}

func (p *pause) hold() {
	p.mu.Lock()
	resume, waiting := p.resume, p.waiting
	if resume != nil {
		select {
		case <-waiting:
		default:
			close(waiting)
		}
	}
	p.mu.Unlock()
	if resume != nil {
		<-resume
	}
}

func (p *pause) DialHook(next redis.DialHook) redis.DialHook { return next }

func (p *pause) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		p.hold()
		return err
	}
}

func (p *pause) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		p.hold()
		return err
	}
}

// failing is a go-redis hook that, while on, fails every command before it
// is sent: the network to Redis is down.
type failing struct{ on atomic.Bool }

var errDown = errors.New("test: network down")

func (f *failing) DialHook(next redis.DialHook) redis.DialHook { return next }

func (f *failing) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if f.on.Load() {
			cmd.SetErr(errDown)
			return errDown
		}
		return next(ctx, cmd)
	}
}

func (f *failing) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if f.on.Load() {
			for _, c := range cmds {
				c.SetErr(errDown)
			}
			return errDown
		}
		return next(ctx, cmds)
	}
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

func newHolder(t *testing.T, owner string, ttl time.Duration) (*Holder, *redis.Client) {
	t.Helper()
	rdb, _ := testenv.Redis(t)
	c := rdb.(*redis.Client)
	return NewHolder(c, owner, ttl, discard()), c
}

func ended(l *Lease, cause error) func() bool {
	return func() bool { return errors.Is(context.Cause(l.Context()), cause) }
}

// A member whose Redis stops answering mid-renewal stops its work before
// the lease can expire, and so before any other member can take it over.
func TestFenceUnderStalledRedis(t *testing.T) {
	const ttl = 600 * time.Millisecond
	_, ks := testenv.Redis(t)
	key := ks + "lease:{1}"
	a, rdbA := newHolder(t, "a", ttl)
	b, _ := newHolder(t, "b", ttl)
	p := &pause{}
	rdbA.AddHook(p)
	ctx := context.Background()

	la, err := a.Acquire(ctx, key)
	if err != nil || la == nil {
		t.Fatalf("acquire: %v, %v", la, err)
	}
	// Renewals go through for a while: the fence is pushed back each time.
	for range 3 {
		if err := a.Renew(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if la.Context().Err() != nil {
		t.Fatalf("renewed lease ended: %v", context.Cause(la.Context()))
	}

	p.start()
	t.Cleanup(p.stop)
	renewing := make(chan error, 1)
	sent := time.Now()
	go func() { renewing <- a.Renew(ctx) }() // stuck until resumed
	<-p.waiting

	var fencedAt time.Time
	testenv.Eventually(t, 10*time.Second, func() bool {
		if ended(la, ErrFenced)() {
			fencedAt = time.Now()
			return true
		}
		return false
	}, "lease never fenced while its renewal hung")
	if fencedAt.Sub(sent) >= ttl {
		t.Fatalf("fenced %s after the last renewal was sent, not before the %s TTL", fencedAt.Sub(sent), ttl)
	}

	// b can take the key only after it expired, which is after a stopped.
	var lb *Lease
	testenv.Eventually(t, 10*time.Second, func() bool {
		lb, err = b.Acquire(ctx, key)
		return err == nil && lb != nil
	}, "b never took over the expired lease: %v", err)
	if !time.Now().After(fencedAt) {
		t.Fatal("b acquired the lease before a was fenced")
	}

	// When a's Redis answers again, the stuck renewal finds the lease
	// taken and changes nothing.
	p.stop()
	if err := <-renewing; err != nil {
		t.Fatalf("renewal after resume: %v", err)
	}
	if v, _ := rdbA.Get(ctx, key).Result(); v != "b" {
		t.Fatalf("lease held by %q after takeover, want b", v)
	}
	if err := a.Renew(ctx); err != nil {
		t.Fatal(err)
	}
	if lb.Context().Err() != nil {
		t.Fatalf("b's lease ended: %v", context.Cause(lb.Context()))
	}
}

// A failed renewal round fences at once the leases it could not renew and
// that are older than half a TTL.
func TestFailedRenewalFencesStaleLeases(t *testing.T) {
	const ttl = 400 * time.Millisecond
	_, ks := testenv.Redis(t)
	rdb, _ := testenv.Redis(t)
	down := &failing{}
	rdb.(*redis.Client).AddHook(down)
	var logs bytes.Buffer
	h := NewHolder(rdb, "a", ttl, slog.New(slog.NewJSONHandler(&logs, nil)))
	ctx := context.Background()
	l, err := h.Acquire(ctx, ks+"lease:{x}")
	if err != nil || l == nil {
		t.Fatalf("acquire: %v, %v", l, err)
	}
	down.on.Store(true)

	// Within half a TTL the lease is kept: its fence still covers it.
	if err := h.Renew(ctx); err == nil {
		t.Fatal("renewal over a broken network succeeded")
	}
	if time.Since(l.sent) <= ttl/2 && l.Context().Err() != nil {
		t.Fatalf("fresh lease fenced by one failed round: %v", context.Cause(l.Context()))
	}
	testenv.Eventually(t, 10*time.Second, ended(l, ErrFenced), "lease never fenced")

	// Releasing over the broken network says so, with the key.
	if err := h.Release(l); err == nil {
		t.Fatal("release over a broken network succeeded")
	}
	for _, want := range []string{`"level":"WARN"`, `"key":"` + ks + `lease:{x}"`, "cannot release lease"} {
		if !strings.Contains(logs.String(), want) {
			t.Fatalf("release failure log lacks %s:\n%s", want, logs.String())
		}
	}
}

// Without renewals a lease expires and another member takes it.
func TestTakeoverAfterExpiry(t *testing.T) {
	const ttl = 300 * time.Millisecond
	_, ks := testenv.Redis(t)
	key := ks + "lease:{2}"
	a, _ := newHolder(t, "a", ttl)
	b, _ := newHolder(t, "b", ttl)
	ctx := context.Background()
	la, err := a.Acquire(ctx, key)
	if err != nil || la == nil {
		t.Fatalf("acquire: %v, %v", la, err)
	}
	if lb, err := b.Acquire(ctx, key); err != nil || lb != nil {
		t.Fatalf("b acquired a held lease: %v, %v", lb, err)
	}
	var lb *Lease
	testenv.Eventually(t, 10*time.Second, func() bool {
		lb, err = b.Acquire(ctx, key)
		return err == nil && lb != nil
	}, "b never took over: %v", err)
	if !ended(la, ErrFenced)() {
		t.Fatalf("a's unrenewed lease did not end fenced before b took it: %v", context.Cause(la.Context()))
	}
}

// Release frees the key at once; renewing a lease another member holds
// fails and ends it.
func TestReleaseAndRenewOfATakenLease(t *testing.T) {
	const ttl = 5 * time.Second
	_, ks := testenv.Redis(t)
	key := ks + "lease:{3}"
	a, rdb := newHolder(t, "a", ttl)
	b, _ := newHolder(t, "b", ttl)
	ctx := context.Background()
	la, err := a.Acquire(ctx, key)
	if err != nil || la == nil {
		t.Fatalf("acquire: %v, %v", la, err)
	}
	if err := a.Release(la); err != nil {
		t.Fatal(err)
	}
	if !ended(la, ErrReleased)() {
		t.Fatalf("released lease's context: %v", context.Cause(la.Context()))
	}
	lb, err := b.Acquire(ctx, key)
	if err != nil || lb == nil {
		t.Fatalf("b could not acquire a released lease at once: %v, %v", lb, err)
	}
	// a releasing its stale handle must not free b's lease.
	if err := a.Release(la); err != nil {
		t.Fatal(err)
	}
	if v := rdb.Get(ctx, key).Val(); v != "b" {
		t.Fatalf("stale release freed b's lease: holder %q", v)
	}

	// a acquires another key, whose value then changes hands behind its
	// back: a's renewal must fail and end it, and leave b's value alone.
	key2 := ks + "lease:{4}"
	la2, err := a.Acquire(ctx, key2)
	if err != nil || la2 == nil {
		t.Fatalf("acquire: %v, %v", la2, err)
	}
	if err := rdb.Set(ctx, key2, "b", ttl).Err(); err != nil {
		t.Fatal(err)
	}
	if err := a.Renew(ctx); err != nil {
		t.Fatal(err)
	}
	if !ended(la2, ErrLost)() {
		t.Fatalf("renewing a lease held by another: context %v, want lost", context.Cause(la2.Context()))
	}
	if pttl := rdb.PTTL(ctx, key2).Val(); pttl > ttl || pttl <= 0 {
		t.Fatalf("b's lease TTL %s after a's failed renewal", pttl)
	}
	if v := rdb.Get(ctx, key2).Val(); v != "b" {
		t.Fatalf("holder %q, want b", v)
	}
}

func TestMembers(t *testing.T) {
	rdb, ks := testenv.Redis(t)
	ctx := context.Background()
	a := NewMembers(rdb, ks+"members", "a", time.Minute)
	b := NewMembers(rdb, ks+"members", "b", 50*time.Millisecond)
	if _, err := b.Heartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := a.Heartbeat(ctx)
	if err != nil || strings.Join(got, ",") != "a,b" && strings.Join(got, ",") != "b,a" {
		t.Fatalf("members %v, %v; want a and b", got, err)
	}
	testenv.Eventually(t, 10*time.Second, func() bool {
		got, err = a.Heartbeat(ctx)
		return err == nil && len(got) == 1 && got[0] == "a"
	}, "a member whose heartbeat lapsed stays: %v", got)
	if _, err := b.Heartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ = a.Heartbeat(ctx); len(got) != 1 {
		t.Fatalf("members after b left: %v", got)
	}
	owned := 0
	for _, k := range []string{"1", "2", "3", "4", "5", "6", "7", "8"} {
		if a.Owns([]string{"a", "b"}, k) {
			owned++
		}
		if a.Owns([]string{"a", "b"}, k) == b.Owns([]string{"a", "b"}, k) {
			t.Fatalf("key %s owned by both or neither", k)
		}
	}
	if !a.Owns([]string{"a"}, "x") {
		t.Fatal("the only member must own every key")
	}
}
