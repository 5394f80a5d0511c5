package queue

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/neru-dev/neru/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func newQueue(t testing.TB, name string, rate Rate) *Queue {
	t.Helper()
	q, err := ParseCreate("inst", []byte(fmt.Sprintf(`{"name":%q,"callback":{"id":"cb","sessionId":"sess-1","path":"onItem"},"active":true,"rate":{"maxInflight":%d,"msgPerSecond":%v}}`,
		name, rate.MaxInflight, rate.MsgPerSecond)))
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func items(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = []byte(fmt.Sprintf(`{"n":%d}`, i))
	}
	return out
}

// The store suite runs on real Redis and on miniredis (neru dev).
func TestStoreLifecycle(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			rdb, ks := b.Open(t)
			ctx := context.Background()
			st := NewStore(rdb, ks, Limits{MaxItems: 5})

			if err := st.Enqueue(ctx, "inst", "q1", items(1)); !errors.Is(err, ErrNotFound) {
				t.Fatalf("enqueue to a missing queue: %v", err)
			}
			for _, name := range []string{"q1", "q 2"} {
				if err := st.Create(ctx, "inst", newQueue(t, name, Rate{5, 10})); err != nil {
					t.Fatal(err)
				}
			}
			if err := st.Create(ctx, "other", newQueue(t, "q1", Rate{1, 1})); err != nil {
				t.Fatal(err)
			}
			// In creation order; two queues created in the same millisecond
			// may come either way.
			if names, err := st.List(ctx, "inst"); err != nil || len(names) != 2 || !slices.Contains(names, "q1") || !slices.Contains(names, "q 2") {
				t.Fatalf("list = %q, %v", names, err)
			}
			if err := st.Enqueue(ctx, "inst", "q1", items(3)); err != nil {
				t.Fatal(err)
			}
			if err := st.Enqueue(ctx, "inst", "q1", items(3)); !errors.Is(err, ErrFull) {
				t.Fatalf("over MaxItems: %v", err)
			}
			// Re-creating keeps the items and takes the new settings.
			q := newQueue(t, "q1", Rate{2, 1})
			q.Active = false
			if err := st.Create(ctx, "inst", q); err != nil {
				t.Fatal(err)
			}
			d, err := st.Details(ctx, "inst", "q1")
			if err != nil {
				t.Fatal(err)
			}
			if d.Queue.Name != "q1" || d.Queue.Active || d.Queue.Rate != (Rate{2, 1}) || d.Queue.Callback.SessionID != "sess-1" ||
				d.Stats.TotalEnqueue != 3 || d.Stats.Waiting != 3 || d.Stats.CurrentInflight != 0 {
				t.Fatalf("details: %+v", d)
			}
			if err := st.Update(ctx, "inst", "q1", Rate{4, 2.5}); err != nil {
				t.Fatal(err)
			}
			if err := st.SetActive(ctx, "inst", "q1", true); err != nil {
				t.Fatal(err)
			}
			if d, _ := st.Details(ctx, "inst", "q1"); !d.Queue.Active || d.Queue.Rate != (Rate{4, 2.5}) {
				t.Fatalf("after update and resume: %+v", d.Queue)
			}
			for _, err := range []error{
				st.Update(ctx, "inst", "nope", Rate{1, 1}),
				st.SetActive(ctx, "inst", "nope", false),
				st.Delete(ctx, "inst", "nope"),
			} {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("missing queue: %v", err)
				}
			}
			if _, err := st.Details(ctx, "inst", "nope"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("details of a missing queue: %v", err)
			}
			if dl, err := st.DeadLetters(ctx, "inst", "q1", 100); err != nil || dl == nil || len(dl) != 0 {
				t.Fatalf("dead letters: %v %v", dl, err)
			}
			if dl, err := st.PopDeadLetters(ctx, "inst", "q1", 2); err != nil || dl == nil || len(dl) != 0 {
				t.Fatalf("pop: %v %v", dl, err)
			}
			if _, err := st.PopDeadLetters(ctx, "inst", "nope", 2); !errors.Is(err, ErrNotFound) {
				t.Fatalf("pop from a missing queue: %v", err)
			}

			if err := st.Delete(ctx, "inst", "q1"); err != nil {
				t.Fatal(err)
			}
			if names, _ := st.List(ctx, "inst"); fmt.Sprint(names) != "[q 2]" {
				t.Fatalf("after delete: %q", names)
			}
			refs, _ := st.queues(ctx)
			if len(refs) != 2 {
				t.Fatalf("work list %v", refs)
			}
			keys, _ := rdb.Keys(ctx, ks+"q:{inst/q1}*").Result()
			if len(keys) != 0 {
				t.Fatalf("left behind: %v", keys)
			}
		})
	}
}

// Admission: state, in-flight limit and rate are checked together, and a
// failing item is retried, then dead-lettered, on both backends.
func TestTakeAckFail(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			rdb, ks := b.Open(t)
			ctx := context.Background()
			st := NewStore(rdb, ks, Limits{})
			r := Ref{"inst", "q"}
			if err := st.Create(ctx, "inst", newQueue(t, "q", Rate{2, 1000})); err != nil {
				t.Fatal(err)
			}
			if res, _, _, _ := st.take(ctx, r, time.Minute); res != empty {
				t.Fatalf("empty queue: %v", res)
			}
			if err := st.Enqueue(ctx, "inst", "q", items(4)); err != nil {
				t.Fatal(err)
			}
			takeOne := func() *item {
				t.Helper()
				for range 100 {
					res, it, wait, err := st.take(ctx, r, time.Minute)
					if err != nil {
						t.Fatal(err)
					}
					if res == taken {
						return it
					}
					if res != rated {
						t.Fatalf("take: %v", res)
					}
					time.Sleep(wait) // 1ms at 1000/s
				}
				t.Fatal("rate never allowed a take")
				return nil
			}
			a, bItem := takeOne(), takeOne()
			if string(a.body) != `{"n":0}` || a.attempt != 1 || a.callback.Path != "onItem" || a.gen == "" || string(bItem.body) != `{"n":1}` {
				t.Fatalf("taken %+v %+v", a, bItem)
			}
			if res, _, _, _ := st.take(ctx, r, time.Minute); res != full {
				t.Fatalf("third take with maxInflight 2: %v", res)
			}
			if d, _ := st.Details(ctx, "inst", "q"); d.Stats.CurrentInflight != 2 {
				t.Fatalf("inflight %d", d.Stats.CurrentInflight)
			}
			if err := st.ack(ctx, r, a.id); err != nil {
				t.Fatal(err)
			}
			if err := st.SetActive(ctx, "inst", "q", false); err != nil {
				t.Fatal(err)
			}
			if res, _, _, _ := st.take(ctx, r, time.Minute); res != pause {
				t.Fatalf("paused: %v", res)
			}
			if err := st.SetActive(ctx, "inst", "q", true); err != nil {
				t.Fatal(err)
			}
			// b fails 4 times (the first attempt and 3 retries): dead.
			for attempt := 1; attempt <= 4; attempt++ {
				dead, err := st.fail(ctx, r, bItem.id, 4, time.Millisecond)
				if err != nil || dead != (attempt == 4) {
					t.Fatalf("attempt %d: dead=%v err=%v", attempt, dead, err)
				}
				if attempt == 4 {
					break
				}
				time.Sleep(2 * time.Millisecond)
				bItem = takeOne() // the retry comes back ahead of newer items
				if string(bItem.body) != `{"n":1}` || bItem.attempt != attempt+1 {
					t.Fatalf("retry %d: %s attempt %d", attempt, bItem.body, bItem.attempt)
				}
			}
			d, _ := st.Details(ctx, "inst", "q")
			if d.Stats.TotalSent != 1 || d.Stats.TotalError != 4 || d.Stats.DeadLetters != 1 || d.Stats.Waiting != 2 {
				t.Fatalf("stats %+v", d.Stats)
			}
			if dl, _ := st.DeadLetters(ctx, "inst", "q", 10); fmt.Sprint(dl) != `[{"n":1}]` {
				t.Fatalf("dead letters %q", dl)
			}
			if dl, _ := st.PopDeadLetters(ctx, "inst", "q", 5); fmt.Sprint(dl) != `[{"n":1}]` {
				t.Fatalf("popped %q", dl)
			}
			if dl, _ := st.DeadLetters(ctx, "inst", "q", 10); len(dl) != 0 {
				t.Fatalf("after pop %q", dl)
			}
			// A lease that expires puts the item back at the head.
			c := takeOne()
			if _, _, _, err := st.take(ctx, r, time.Minute); err != nil {
				t.Fatal(err)
			}
			if err := st.release(ctx, r, c.id); err != nil {
				t.Fatal(err)
			}
			if again := takeOne(); again.id != c.id || again.attempt != 1 {
				t.Fatalf("released item: %+v", again)
			}
		})
	}
}
