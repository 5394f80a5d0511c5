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
