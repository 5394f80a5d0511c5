package session_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/neru-dev/neru/internal/testenv"
	"github.com/neru-dev/neru/session"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func TestStore(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			rdb, ks := b.Open(t)
			s := session.NewStore(rdb, ks, time.Hour)
			ctx := context.Background()

			created, err := s.Create(ctx, "i1", "s1", time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if left := time.Until(created.ExpiresAt); left <= 0 || left > time.Minute {
				t.Fatalf("expires in %s, want within a minute", left)
			}
			if ttl := rdb.PTTL(ctx, s.Key("i1", "s1")).Val(); ttl <= 0 || ttl > time.Minute {
				t.Fatalf("redis TTL %s, want (0, 1m]", ttl)
			}
			// Ensure keeps an existing session's expiry.
			ensured, err := s.Ensure(ctx, "i1", "s1")
			if err != nil || !ensured.ExpiresAt.Equal(created.ExpiresAt) {
				t.Fatalf("Ensure changed the session: %+v %v", ensured, err)
			}
			// Ensure creates an unknown one with the default TTL.
			fresh, err := s.Ensure(ctx, "i1", "s2")
			if err != nil || time.Until(fresh.ExpiresAt) < 59*time.Minute {
				t.Fatalf("implicit session: %+v %v", fresh, err)
			}
			global, err := s.Ensure(ctx, "i1", session.GlobalID)
			if err != nil || !global.ExpiresAt.IsZero() || rdb.PTTL(ctx, s.Key("i1", session.GlobalID)).Val() != -1 {
				t.Fatalf("the global session must never expire: %+v %v", global, err)
			}
			alive, err := s.Alive(ctx, "i1", []string{"s1", "s2", "nope", "s1"})
			if err != nil || !alive["s1"] || !alive["s2"] || alive["nope"] {
				t.Fatalf("Alive: %v %v", alive, err)
			}
			// Sessions are per instance.
			if _, err := s.Get(ctx, "i2", "s1"); !errors.Is(err, session.ErrNotFound) {
				t.Fatalf("i2 sees i1's session: %v", err)
			}
		})
	}
}

func TestExpiredSessionIsGone(t *testing.T) {
	rdb, ks := testenv.Redis(t)
	s := session.NewStore(rdb, ks, 0)
	ctx := context.Background()
	if _, err := s.Create(ctx, "i1", "short", 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, func() bool {
		_, err := s.Get(ctx, "i1", "short")
		return errors.Is(err, session.ErrNotFound)
	}, "session still alive after its TTL")
	if alive, _ := s.Alive(ctx, "i1", []string{"short"}); alive["short"] {
		t.Fatal("Alive reports an expired session")
	}
}

func TestValidateID(t *testing.T) {
	bad := []string{"", "a\nb", "nul\x00", "soh\x01", "del\x7f", "tab\t", "c1\u0085", "c1\u009f",
		"bad utf-8 \xff", strings.Repeat("x", session.MaxIDLen+1), strings.Repeat("é", session.MaxIDLen/2) + "x"}
	for _, id := range bad {
		if err := session.ValidateID(id); !errors.Is(err, session.ErrInvalidID) {
			t.Errorf("%q accepted", id)
		}
	}
	good := []string{"c1d1c5c8-6b2e-4a59-9d43-8f6c0d1c8a44", session.GlobalID, "my-session",
		"user alice {support desk}", "50% {off}", "}{", "ünïcødé 会话 🎉", "a:b|c/d", "\u00a0nbsp",
		strings.Repeat("x", session.MaxIDLen), strings.Repeat("é", session.MaxIDLen/2)}
	for _, id := range good {
		if err := session.ValidateID(id); err != nil {
			t.Errorf("%q rejected: %v", id, err)
		}
	}
}

// KeyPart must be injective and leave no brace in a key, whatever the id.
func TestKeyPart(t *testing.T) {
	seen := map[string]string{}
	for _, id := range []string{"a}b", "a%7Db", "a%257Db", "{", "}", "%", "%25", "%7B", "plain", "a b"} {
		k := session.KeyPart(id)
		if strings.ContainsAny(k, "{}") {
			t.Errorf("KeyPart(%q) = %q has a brace", id, k)
		}
		if prev, dup := seen[k]; dup {
			t.Errorf("KeyPart(%q) = KeyPart(%q) = %q", id, prev, k)
		}
		seen[k] = id
	}
}

// EnsureMany is Ensure for many sessions, all or nothing: a session that
// ended, an invalid id or new sessions past the cap fail the whole call
// and create none of the others.
func TestEnsureMany(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			rdb, ks := b.Open(t)
			policy := session.PoliciesFunc(func(_ context.Context, inst string) (session.Policy, error) {
				if inst == "capped" {
					return session.Policy{MaxSessions: 4}, nil
				}
				return session.Policy{}, nil
			})
			s := session.NewStore(rdb, ks, time.Hour, session.WithPolicies(policy))
			ctx := context.Background()
			absent := func(inst string, ids ...string) {
				t.Helper()
				for _, id := range ids {
					if _, err := s.Get(ctx, inst, id); !errors.Is(err, session.ErrNotFound) {
						t.Fatalf("%s/%s exists after a refused EnsureMany (%v)", inst, id, err)
					}
				}
			}

			old, err := s.Create(ctx, "i1", "old", time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.EnsureMany(ctx, "i1", []string{"old", "n1", "n2", "n1", session.GlobalID})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 4 || !got["old"].ExpiresAt.Equal(old.ExpiresAt) || !got[session.GlobalID].ExpiresAt.IsZero() {
				t.Fatalf("EnsureMany = %+v, want old unchanged, the global session, n1 and n2", got)
			}
			for _, id := range []string{"n1", "n2"} {
				sess, err := s.Get(ctx, "i1", id)
				if err != nil || time.Until(sess.ExpiresAt) < 59*time.Minute || !sess.ExpiresAt.Equal(got[id].ExpiresAt) {
					t.Fatalf("new session %s: %+v %v, want the default TTL as returned (%s)", id, sess, err, got[id].ExpiresAt)
				}
			}
			if n, err := s.Count(ctx, "i1"); err != nil || n != 3 {
				t.Fatalf("%d sessions indexed (%v), want 3", n, err)
			}

			// An ended session refuses the batch: 410 for one-by-one too.
			if err := s.Delete(ctx, "i1", "n2"); err != nil {
				t.Fatal(err)
			}
			var expired *session.ExpiredError
			if _, err := s.EnsureMany(ctx, "i1", []string{"fresh1", "n2", "fresh2"}); !errors.As(err, &expired) || expired.ID != "n2" {
				t.Fatalf("EnsureMany with an ended session: %v, want its *ExpiredError", err)
			}
			if _, err := s.EnsureMany(ctx, "i1", []string{"fresh1", "bad\x00id"}); !errors.Is(err, session.ErrInvalidID) {
				t.Fatalf("EnsureMany with an invalid id: %v, want ErrInvalidID", err)
			}
			absent("i1", "fresh1", "fresh2")

			// The cap counts the new sessions of the batch together.
			if _, err := s.EnsureMany(ctx, "capped", []string{"c1", "c2"}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.EnsureMany(ctx, "capped", []string{"c1", "c3", "c4", "c5"}); !errors.Is(err, session.ErrTooMany) {
				t.Fatalf("3 new sessions over 2 of 4: %v, want ErrTooMany", err)
			}
			absent("capped", "c3", "c4", "c5")
			if _, err := s.EnsureMany(ctx, "capped", []string{"c1", "c2", "c3", "c4"}); err != nil {
				t.Fatalf("2 new sessions up to the cap: %v", err)
			}
			if _, err := s.EnsureMany(ctx, "capped", []string{"c4", "c1"}); err != nil {
				t.Fatalf("existing sessions at the cap: %v", err)
			}
		})
	}
}

// EnsureAll creates what is missing and trusts only this process's recent
// sightings: a session it saw ended is refused again, not taken as alive.
func TestEnsureAll(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			rdb, ks := b.Open(t)
			s := session.NewStore(rdb, ks, time.Hour)
			ctx := context.Background()
			if err := s.EnsureAll(ctx, "i1", []string{"a", "b", "a"}); err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{"a", "b"} {
				if _, err := s.Get(ctx, "i1", id); err != nil {
					t.Fatalf("session %s after EnsureAll: %v", id, err)
				}
			}
			if err := s.EnsureAll(ctx, "i1", []string{"a", "b"}); err != nil {
				t.Fatalf("EnsureAll of sessions it just made: %v", err)
			}
			if err := s.Delete(ctx, "i1", "a"); err != nil {
				t.Fatal(err)
			}
			err := s.EnsureAll(ctx, "i1", []string{"b", "a", "c"})
			if !errors.Is(err, session.ErrExpired) {
				t.Fatalf("EnsureAll with a deleted session = %v, want ErrExpired", err)
			}
			if _, err := s.Get(ctx, "i1", "c"); !errors.Is(err, session.ErrNotFound) {
				t.Fatalf("c exists after a refused EnsureAll (%v)", err)
			}
		})
	}
}
