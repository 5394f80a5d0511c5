package session

import (
	"context"
	"testing"
	"time"

	"github.com/neru-dev/neru/internal/testenv"
)

// A sighting read before session_created moved a session's end is not
// cached after it: the app's first state.set (Ensure: the default TTL) and
// the SDK's session_created (Create: ttl 4 s) race, and a stale 7-day
// sighting kept the session alive in this process for seconds past its end.
func TestStaleSightingNotCachedAfterCreate(t *testing.T) {
	rdb, ks := testenv.Redis(t)
	s := NewStore(rdb, ks, 0)
	ctx := context.Background()
	epoch := s.epoch("i1", "race")
	sess, err := s.Ensure(ctx, "i1", "race") // the first state.set: 7 days
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, "i1", "race", 4*time.Second); err != nil { // session_created meanwhile
		t.Fatal(err)
	}
	s.rememberSince("i1", "race", sess.ExpiresAt, epoch) // Touch caches what it read
	if s.fresh("i1", "race", 0, time.Now().Add(5*time.Second)) {
		t.Fatal("the 7-day sighting read before Create is trusted after the session's 4 s end")
	}
}
