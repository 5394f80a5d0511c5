package scheduler

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/neru-dev/neru/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func mustParse(t testing.TB, body string) *Schedule {
	t.Helper()
	s, err := Parse("inst", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func job(id, startAt string) string {
	return fmt.Sprintf(`{"startAt":%q,"callback":{"id":"cb-%s","sessionId":"sess-1","path":"onSchedule"},"payload":{"job":%q},"id":%q}`, startAt, id, id, id)
}

// The store suite runs on real Redis and on miniredis (neru dev).
func TestStore(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			rdb, ks := b.Open(t)
			ctx := context.Background()
			st := NewStore(rdb, ks, 5)

			for i := range 4 {
				if err := st.Create(ctx, "inst", mustParse(t, job(fmt.Sprintf("j%d", i), "2030-01-01T00:00:00Z"))); err != nil {
					t.Fatal(err)
				}
			}
			// Another instance's schedules are invisible.
			if err := st.Create(ctx, "other", mustParse(t, job("j0", "2030-01-01T00:00:00Z"))); err != nil {
				t.Fatal(err)
			}
			v, err := st.Get(ctx, "inst", "j1")
			if err != nil {
				t.Fatal(err)
			}
			if v.ID != "j1" || v.StartAt != "2030-01-01T00:00:00.000Z" || v.NextAt != v.StartAt || string(v.Payload) != `{"job":"j1"}` ||
				v.Callback.Path != "onSchedule" || v.Execution.ExecutionID == "" || v.Execution.InvocationCounter != 0 {
				t.Fatalf("get: %+v", v)
			}

			// Paging in creation order; replacing keeps the place.
			if err := st.Create(ctx, "inst", mustParse(t, job("j0", "2031-01-01T00:00:00Z"))); err != nil {
				t.Fatal(err)
			}
			var all []string
			cursor := int64(0)
			for pages := 0; ; pages++ {
				ids, next, err := st.List(ctx, "inst", cursor, 3)
				if err != nil {
					t.Fatal(err)
				}
				all = append(all, ids...)
				if next == 0 {
					break
				}
				if pages > 3 {
					t.Fatal("cursor never ends")
				}
				cursor = next
			}
			if fmt.Sprint(all) != "[j0 j1 j2 j3]" {
				t.Fatalf("list = %v", all)
			}
			if v, _ := st.Get(ctx, "inst", "j0"); v.StartAt != "2031-01-01T00:00:00.000Z" {
				t.Fatalf("replaced schedule: %+v", v)
			}

			// The limit counts distinct schedules.
			if err := st.Create(ctx, "inst", mustParse(t, job("j4", "2030-01-01T00:00:00Z"))); err != nil {
				t.Fatal(err)
			}
			if err := st.Create(ctx, "inst", mustParse(t, job("j5", "2030-01-01T00:00:00Z"))); !errors.Is(err, ErrLimit) {
				t.Fatalf("sixth schedule: %v, want ErrLimit", err)
			}

			if err := st.Cancel(ctx, "inst", "j1"); err != nil {
				t.Fatal(err)
			}
			if err := st.Cancel(ctx, "inst", "j1"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("second cancel: %v", err)
			}
			if _, err := st.Get(ctx, "inst", "j1"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("get cancelled: %v", err)
			}
			views, next, err := st.Page(ctx, "inst", 0, 10)
			if err != nil || next != 0 || len(views) != 4 {
				t.Fatalf("page: %d views, next %d, %v", len(views), next, err)
			}
		})
	}
}

// Claims are exclusive and settle only once, on both backends.
func TestClaimAndAdvance(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			rdb, ks := b.Open(t)
			ctx := context.Background()
			st := NewStore(rdb, ks, 0)
			sc := mustParse(t, `{"startAt":"2030-01-01T00:00:00Z","callback":{"id":"c","sessionId":"s","path":"p"},"id":"a","interval":{"cron":"* * * * *","until":{"maxInvocations":2}}}`)
			if err := st.Create(ctx, "inst", sc); err != nil {
				t.Fatal(err)
			}
			t0 := sc.StartAt
			ins, _ := st.instances(ctx)
			if cs, _, _ := st.claimDue(ctx, ins, t0.Add(-time.Second), t0.Add(time.Minute), 10); len(cs) != 0 {
				t.Fatalf("claimed %d before due", len(cs))
			}
			cs, _, err := st.claimDue(ctx, ins, t0, t0.Add(30*time.Second), 10)
			if err != nil || len(cs) != 1 || cs[0].id != "a" || !cs[0].dueTime().Equal(t0) {
				t.Fatalf("claim: %+v %v", cs, err)
			}
			if again, _, _ := st.claimDue(ctx, ins, t0.Add(time.Second), t0.Add(31*time.Second), 10); len(again) != 0 {
				t.Fatalf("claimed twice before the deadline: %d", len(again))
			}
			// Past the deadline the claim is taken again, for the same due time.
			stale, _, _ := st.claimDue(ctx, ins, t0.Add(31*time.Second), t0.Add(61*time.Second), 10)
			if len(stale) != 1 || stale[0].due != cs[0].due {
				t.Fatalf("stale claim: %+v", stale)
			}
			if _, err := st.load(ctx, stale); err != nil {
				t.Fatal(err)
			}
			next, _ := stale[0].sc.Next(t0, t0, 1)
			if err := st.advance(ctx, stale[0], next); err != nil {
				t.Fatal(err)
			}
			// The first claimant settles late: nothing happens.
			if err := st.advance(ctx, cs[0], next.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			v, err := st.Get(ctx, "inst", "a")
			if err != nil || v.Execution.InvocationCounter != 1 || v.NextAt != isoMillis(next) {
				t.Fatalf("after one invocation: %+v %v", v, err)
			}
			// The last invocation deletes it, and the instance leaves the work list.
			cs, _, _ = st.claimDue(ctx, ins, next, next.Add(30*time.Second), 10)
			if len(cs) != 1 {
				t.Fatalf("second claim: %d", len(cs))
			}
			if err := st.advance(ctx, cs[0], time.Time{}); err != nil {
				t.Fatal(err)
			}
			if _, err := st.Get(ctx, "inst", "a"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("finished schedule still there: %v", err)
			}
			_, empty, _ := st.claimDue(ctx, ins, next, next, 10)
			if len(empty) != 1 {
				t.Fatalf("empty = %v", empty)
			}
			if err := st.forget(ctx, "inst"); err != nil {
				t.Fatal(err)
			}
			if ins, _ := st.instances(ctx); len(ins) != 0 {
				t.Fatalf("instances = %v", ins)
			}
			keys, _ := rdb.Keys(ctx, ks+"sch:*").Result()
			for _, k := range keys {
				if k != ks+"sch:{inst}:seq" {
					t.Errorf("key %s left behind", k)
				}
			}
		})
	}
}
