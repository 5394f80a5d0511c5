package worker

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/neru-dev/neru/instance"
	"github.com/neru-dev/neru/internal/testenv"
)

// onDead hold: a session whose head died waits behind it (marked held)
// while other sessions flow; a replay goes first and releases the rest in
// order; a discard releases them without it.
func TestHoldKeepsLaterEventsBehindTheDeadHead(t *testing.T) {
	a := newApp(t)
	var fixed atomic.Bool
	a.fail = func(r *http.Request) int {
		if id := r.Header.Get("x-neru-delivery-id"); (id == "a0" && !fixed.Load()) || id == "c0" {
			return http.StatusBadRequest // permanent: the DLQ at once
		}
		return 0
	}
	r := newRig(t, a, &instance.Instance{ID: "i1", ApplicationID: "a1", OnDead: instance.OnDeadHold})
	r.run(t, Config{BackoffBase: 5 * time.Millisecond, BackoffMax: 20 * time.Millisecond})
	ctx := context.Background()
	for _, id := range []string{"a0", "a1", "a2"} {
		r.publish(t, "i1", "sa", id)
	}
	for _, id := range []string{"b0", "b1"} {
		r.publish(t, "i1", "sb", id)
	}
	for _, id := range []string{"c0", "c1"} {
		r.publish(t, "i1", "sc", id)
	}
	status := NewStatus(r.rdb, r.ks, rigPartitions)
	testenv.Eventually(t, 30*time.Second, func() bool {
		held, err := status.Held(ctx, "i1")
		return err == nil && len(held) == 2 && slices.Equal(onlyPrefix(a.delivered(), "b"), []string{"b0", "b1"})
	}, "sessions sa and sc not held, or sb did not flow: delivered %v", a.delivered())
	held, _ := status.Held(ctx, "i1")
	bySession := map[string]Hold{}
	for _, h := range held {
		bySession[h.Session] = h
	}
	if bySession["sa"].DeliveryID != "a0" || bySession["sc"].DeliveryID != "c0" || bySession["sa"].DLQSeq == 0 {
		t.Fatalf("held: %+v", held)
	}
	if got := append(onlyPrefix(a.delivered(), "a"), onlyPrefix(a.delivered(), "c")...); len(got) != 0 {
		t.Fatalf("held sessions delivered %v", got)
	}

	// Replay: a0 first, then a1, a2.
	fixed.Store(true)
	if err := r.dlq.Replay(ctx, "i1", bySession["sa"].DLQSeq); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, func() bool { return len(onlyPrefix(a.delivered(), "a")) == 3 },
		"the replayed session did not flow: %v", a.delivered())
	if got := onlyPrefix(a.delivered(), "a"); !slices.Equal(got, []string{"a0", "a1", "a2"}) {
		t.Fatalf("after the replay sa got %v, want a0,a1,a2", got)
	}
	testenv.Eventually(t, 10*time.Second, func() bool {
		held, err := status.Held(ctx, "i1")
		return err == nil && len(held) == 1 && held[0].Session == "sc"
	}, "sa still listed as held after its replay")

	// Discard: c1 flows, c0 never arrives.
	if _, err := r.dlq.Discard(ctx, "i1", bySession["sc"].DLQSeq); err != nil {
		t.Fatal(err)
	}
	if ok, err := status.ReleaseDead(ctx, "i1", "sc", bySession["sc"].DLQSeq); err != nil || !ok {
		t.Fatalf("release sc: %v %v", ok, err)
	}
	testenv.Eventually(t, 30*time.Second, func() bool { return slices.Equal(onlyPrefix(a.delivered(), "c"), []string{"c1"}) },
		"the discarded session did not flow: %v", a.delivered())
	if held, err := status.Held(ctx, "i1"); err != nil || len(held) != 0 {
		t.Fatalf("held after discard: %v %v", held, err)
	}
}

func onlyPrefix(ids []string, p string) []string {
	var out []string
	for _, id := range ids {
		if strings.HasPrefix(id, p) {
			out = append(out, id)
		}
	}
	return out
}
