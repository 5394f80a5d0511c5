package session

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/neru-dev/neru/internal/testenv"
)

// An implicit creation never leaves the expiry index entry later than the
// record: Ended takes a due entry without a record for "ended", but an
// entry still in the future for "never existed", and Ensure then creates
// the expired session afresh, with its state gone.
//
// The SDK's first state.set (Touch -> Ensure: the default 7 days) races its
// background session_created (Create: 4 s): Ensure's lookup misses, Create
// writes its record, and Ensure's put then loses the SET NX. Its index
// write came first and moved the entry to 7 days (ZADD GT), so 4 s later
// state.get in the expired session answered null instead of 410 (compat
// TestSessionTTLAnySecond). Two implicit creations racing the same way
// leave the entry of the loser, a little later than the winner's record.
func TestImplicitCreationKeepsTheIndexAtTheRecordsEnd(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			rdb, ks := b.Open(t)
			s := NewStore(rdb, ks, 0)
			ctx := context.Background()
			indexed := func(id string) time.Time {
				t.Helper()
				score, err := rdb.ZScore(ctx, s.indexKey("i1", shardOf(id)), id).Result()
				if err != nil {
					t.Fatal(err)
				}
				return time.UnixMilli(int64(score)).UTC()
			}

			created, err := s.Create(ctx, "i1", "race", 300*time.Millisecond) // session_created
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.put(ctx, "i1", "race", 0, false) // Ensure's creation, after its lookup missed
			if err != nil {
				t.Fatal(err)
			}
			if !got.ExpiresAt.Equal(created.ExpiresAt) {
				t.Fatalf("the losing implicit creation moved the end to %s, want %s", got.ExpiresAt, created.ExpiresAt)
			}
			if at := indexed("race"); !at.Equal(created.ExpiresAt) {
				t.Fatalf("index entry at %s, the record ends at %s", at, created.ExpiresAt)
			}

			// Another implicit creation's entry, later, got in first.
			if err := s.index(ctx, "i1", "pair", time.Now().Add(DefaultTTL+time.Minute), "NX"); err != nil {
				t.Fatal(err)
			}
			won, err := s.put(ctx, "i1", "pair", 0, false)
			if err != nil {
				t.Fatal(err)
			}
			if at := indexed("pair"); !at.Equal(won.ExpiresAt) {
				t.Fatalf("index entry at %s, the record ends at %s", at, won.ExpiresAt)
			}

			// Past the end, the session has ended: not created afresh.
			testenv.Eventually(t, 5*time.Second, func() bool {
				_, err := s.Get(ctx, "i1", "race")
				return errors.Is(err, ErrNotFound)
			}, "the session never expired")
			if _, err := s.Ensure(ctx, "i1", "race"); !errors.Is(err, ErrExpired) {
				t.Fatalf("Ensure after the end: %v, want ErrExpired (the session came back)", err)
			}
		})
	}
}
