package listener_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/neru-dev/neru/internal/testenv"
	"github.com/neru-dev/neru/listener"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func newListener(inst, id, session, key string) *listener.Listener {
	return listener.New(inst, "vonage-messaging", "subscribe-inbound-messages", key,
		listener.Callback{ID: id, SessionID: session, Path: "/onMessage"})
}

// The store suite runs against real Redis and against miniredis (dev mode).
func TestStore(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			t.Run("match finds only indexed keys", func(t *testing.T) {
				rdb, ks := b.Open(t)
				s := listener.NewStore(rdb, ks)
				ctx := context.Background()
				a := newListener("i1", "a", "s1", "msg-in|sms|100|200")
				w := newListener("i1", "w", "s1", "msg-in|sms|100|*")
				other := newListener("i1", "o", "s2", "msg-in|sms|100|999")
				for _, l := range []*listener.Listener{a, w, other} {
					if err := s.Add(ctx, l); err != nil {
						t.Fatal(err)
					}
				}
				got, err := s.Candidates(ctx, "i1", []string{"msg-in|sms|100|200", "msg-in|sms|100|*", "msg-in|*|*|*"})
				if err != nil {
					t.Fatal(err)
				}
				if ids := idsOf(got); ids != "[a w]" {
					t.Fatalf("candidates %s, want [a w] (oldest first)", ids)
				}
			})
			t.Run("instances are isolated", func(t *testing.T) {
				rdb, ks := b.Open(t)
				s := listener.NewStore(rdb, ks)
				ctx := context.Background()
				if err := s.Add(ctx, newListener("i1", "a", "s1", "k")); err != nil {
					t.Fatal(err)
				}
				if got, _ := s.Candidates(ctx, "i2", []string{"k"}); len(got) != 0 {
					t.Fatalf("instance i2 matched i1's listener")
				}
				if err := s.Remove(ctx, "i2", "a"); !errors.Is(err, listener.ErrNotFound) {
					t.Fatalf("i2 removed i1's listener: %v", err)
				}
				if got, _ := s.Candidates(ctx, "i1", []string{"k"}); len(got) != 1 {
					t.Fatalf("i1's listener is gone")
				}
			})
			t.Run("remove and list", func(t *testing.T) {
				rdb, ks := b.Open(t)
				s := listener.NewStore(rdb, ks)
				ctx := context.Background()
				for i := range 3 {
					if err := s.Add(ctx, newListener("i1", fmt.Sprint("l", i), "s1", "k")); err != nil {
						t.Fatal(err)
					}
				}
				if err := s.Remove(ctx, "i1", "l1"); err != nil {
					t.Fatal(err)
				}
				all, _ := s.List(ctx, "i1", "")
				bySession, _ := s.List(ctx, "i1", "s1")
				cands, _ := s.Candidates(ctx, "i1", []string{"k"})
				for name, got := range map[string][]*listener.Listener{"list": all, "session": bySession, "candidates": cands} {
					if ids := idsOf(got); ids != "[l0 l2]" {
						t.Fatalf("%s after remove: %s, want [l0 l2]", name, ids)
					}
				}
			})
			t.Run("dangling index entries are skipped and pruned", func(t *testing.T) {
				rdb, ks := b.Open(t)
				s := listener.NewStore(rdb, ks)
				ctx := context.Background()
				if err := s.Add(ctx, newListener("i1", "gone", "s1", "k")); err != nil {
					t.Fatal(err)
				}
				// A crash between the record delete and the index removal.
				rdb.Del(ctx, ks+"l:{i1:gone}")
				if got, err := s.Candidates(ctx, "i1", []string{"k"}); err != nil || len(got) != 0 {
					t.Fatalf("got %v %v, want no candidates", got, err)
				}
				if n := rdb.SCard(ctx, ks+"ix:{i1|k}").Val(); n != 0 {
					t.Fatalf("dangling entry not pruned: %d left", n)
				}
			})
			t.Run("invalid registrations change nothing", func(t *testing.T) {
				rdb, ks := b.Open(t)
				s := listener.NewStore(rdb, ks)
				ctx := context.Background()
				for _, l := range []*listener.Listener{
					newListener("i1", "", "s1", "k"),
					listener.New("i1", "p", "a", "k", listener.Callback{ID: "x", SessionID: "s1", Path: "http://evil.example/"}),
					listener.New("i1", "p", "a", "k", listener.Callback{ID: "y", SessionID: "s1", Path: "/../admin"}),
					listener.New("i1", "p", "a", "k", listener.Callback{ID: "z", SessionID: "s1", Path: "/a",
						Filters: []listener.Filter{{Path: "type", Op: "regex"}}}),
				} {
					if err := s.Add(ctx, l); !errors.Is(err, listener.ErrInvalid) {
						t.Fatalf("%+v: err %v, want ErrInvalid", l, err)
					}
				}
				if keys := rdb.Keys(ctx, ks+"*").Val(); len(keys) != 0 {
					t.Fatalf("invalid registrations wrote %v", keys)
				}
			})
		})
	}
}

func idsOf(ls []*listener.Listener) string {
	ids := make([]string, len(ls))
	for i, l := range ls {
		ids[i] = l.ID
	}
	return fmt.Sprint(ids)
}
