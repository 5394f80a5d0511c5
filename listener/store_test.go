package listener_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

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
			t.Run("live candidates: only listeners whose session record exists, checked every call", func(t *testing.T) {
				rdb, ks := b.Open(t)
				s := listener.NewStore(rdb, ks)
				ctx := context.Background()
				sessKey := func(inst, sess string) string { return ks + "test-session:" + inst + ":" + sess }
				live := newListener("i1", "live", "s-live", "msg-in|sms|100|200")
				dead := newListener("i1", "dead", "s-dead", "msg-in|sms|100|*")
				for _, l := range []*listener.Listener{live, dead} {
					if err := s.Add(ctx, l); err != nil {
						t.Fatal(err)
					}
				}
				if err := rdb.Set(ctx, sessKey("i1", "s-live"), "{}", 0).Err(); err != nil {
					t.Fatal(err)
				}
				keys := []string{"msg-in|sms|100|200", "msg-in|sms|100|*"}
				ids := func() []string {
					t.Helper()
					got, err := s.LiveCandidates(ctx, "i1", keys, sessKey)
					if err != nil {
						t.Fatal(err)
					}
					var out []string
					for _, l := range got {
						out = append(out, l.ID)
					}
					return out
				}
				// Twice: the first call loads records and learns the
				// sessions, the second probes them with the index sets.
				for range 2 {
					if got := ids(); len(got) != 1 || got[0] != "live" {
						t.Fatalf("live candidates = %v, want [live]", got)
					}
				}
				// The dead session appears, the live one ends: the very next
				// call sees both changes, whatever it remembered.
				if err := rdb.Set(ctx, sessKey("i1", "s-dead"), "{}", 0).Err(); err != nil {
					t.Fatal(err)
				}
				if err := rdb.Del(ctx, sessKey("i1", "s-live")).Err(); err != nil {
					t.Fatal(err)
				}
				if got := ids(); len(got) != 1 || got[0] != "dead" {
					t.Fatalf("after the sessions changed: %v, want [dead]", got)
				}
			})
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
					// Distinct routes: identical listeners would replace each other.
					l := newListener("i1", fmt.Sprint("l", i), "s1", "k")
					l.Path = fmt.Sprint("/onMessage", i)
					if err := s.Add(ctx, l); err != nil {
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
			t.Run("the newest registration wins", func(t *testing.T) {
				rdb, ks := b.Open(t)
				s := listener.NewStore(rdb, ks)
				ctx := context.Background()
				// Every app start registers onCall again, in a new session.
				for i := range 3 {
					l := listener.New("i1", "vonage-voice", "vapi-subscribe-inbound-call", "vapi-answer|*",
						listener.Callback{ID: fmt.Sprint("call", i), SessionID: fmt.Sprint("start", i), Path: "onCall"})
					if err := s.Add(ctx, l); err != nil {
						t.Fatal(err)
					}
				}
				// Not duplicates: another route, other filters, another key.
				v := "answered"
				others := []*listener.Listener{
					listener.New("i1", "vonage-voice", "vapi-subscribe-inbound-call", "vapi-answer|*",
						listener.Callback{ID: "route", SessionID: "x", Path: "/onOtherCall"}),
					listener.New("i1", "vonage-voice", "vapi-subscribe-inbound-call", "vapi-answer|*",
						listener.Callback{ID: "filtered", SessionID: "x", Path: "/onCall",
							Filters: []listener.Filter{{Path: "status", Op: "contains", Values: []*string{&v}}}}),
					listener.New("i1", "vonage-voice", "vapi-subscribe-inbound-call", "vapi-answer|447700900000",
						listener.Callback{ID: "number", SessionID: "x", Path: "/onCall"}),
				}
				for _, l := range others {
					if err := s.Add(ctx, l); err != nil {
						t.Fatal(err)
					}
				}
				cands, _ := s.Candidates(ctx, "i1", []string{"vapi-answer|*"})
				if ids := idsOf(cands); ids != "[call2 route filtered]" {
					t.Fatalf("candidates %s, want [call2 route filtered]: only the newest onCall stays", ids)
				}
				for _, sess := range []string{"start0", "start1"} {
					if got, _ := s.List(ctx, "i1", sess); len(got) != 0 {
						t.Fatalf("superseded listener of %s still listed", sess)
					}
				}
				if _, err := s.Get(ctx, "i1", "call0"); !errors.Is(err, listener.ErrNotFound) {
					t.Fatalf("superseded record still there: %v", err)
				}
				// Unsubscribing the holder frees the identity; a re-registration
				// replaces nothing and an old id stays removed.
				if err := s.Remove(ctx, "i1", "call2"); err != nil {
					t.Fatal(err)
				}
				if n := rdb.HLen(ctx, ks+"ld:{i1|vapi-answer|*}").Val(); n != 2 {
					t.Fatalf("dedup hash holds %d entries, want 2 (route, filtered)", n)
				}
				// A client retry of the same registration is idempotent.
				again := listener.New("i1", "vonage-voice", "vapi-subscribe-inbound-call", "vapi-answer|*",
					listener.Callback{ID: "call3", SessionID: "start3", Path: "onCall"})
				for range 2 {
					if err := s.Add(ctx, again); err != nil {
						t.Fatal(err)
					}
				}
				cands, _ = s.Candidates(ctx, "i1", []string{"vapi-answer|*"})
				if ids := idsOf(cands); ids != "[route filtered call3]" {
					t.Fatalf("candidates %s, want [route filtered call3]", ids)
				}
			})
			t.Run("an id re-registered for something else keeps only the new claim", func(t *testing.T) {
				rdb, ks := b.Open(t)
				s := listener.NewStore(rdb, ks)
				ctx := context.Background()
				first := newListener("i1", "x", "s1", "k1")
				if err := s.Add(ctx, first); err != nil {
					t.Fatal(err)
				}
				moved := newListener("i1", "x", "s1", "k2")
				if err := s.Add(ctx, moved); err != nil {
					t.Fatal(err)
				}
				// Someone registers what x used to listen for: x must stay.
				if err := s.Add(ctx, newListener("i1", "y", "s2", "k1")); err != nil {
					t.Fatal(err)
				}
				if got, _ := s.Candidates(ctx, "i1", []string{"k2"}); idsOf(got) != "[x]" {
					t.Fatalf("k2 candidates %s, want [x]", idsOf(got))
				}
				if got, _ := s.Candidates(ctx, "i1", []string{"k1"}); idsOf(got) != "[y]" {
					t.Fatalf("k1 candidates %s, want [y]", idsOf(got))
				}
			})
			t.Run("remove a session's listeners", func(t *testing.T) {
				rdb, ks := b.Open(t)
				s := listener.NewStore(rdb, ks)
				ctx := context.Background()
				for i, sess := range []string{"s1", "s1", "s2"} {
					l := newListener("i1", fmt.Sprint("l", i), sess, fmt.Sprint("k", i))
					if err := s.Add(ctx, l); err != nil {
						t.Fatal(err)
					}
				}
				for range 2 { // idempotent
					if _, err := s.RemoveSession(ctx, "i1", "s1"); err != nil {
						t.Fatal(err)
					}
				}
				all, _ := s.List(ctx, "i1", "")
				if ids := idsOf(all); ids != "[l2]" {
					t.Fatalf("after removing s1: %s, want [l2]", ids)
				}
				if n := rdb.Exists(ctx, ks+"ls:{i1:s1}", ks+"l:{i1:l0}", ks+"ix:{i1|k0}").Val(); n != 0 {
					t.Fatalf("%d keys of session s1 left", n)
				}
			})
			t.Run("a removal elsewhere ends matching at once despite the record cache", func(t *testing.T) {
				rdb, ks := b.Open(t)
				gateway, admin := listener.NewStore(rdb, ks), listener.NewStore(rdb, ks) // two processes
				ctx := context.Background()
				if err := admin.Add(ctx, newListener("i1", "a", "s1", "k")); err != nil {
					t.Fatal(err)
				}
				if got, _ := gateway.Candidates(ctx, "i1", []string{"k"}); len(got) != 1 {
					t.Fatalf("got %d candidates, want the listener (now cached)", len(got))
				}
				if err := admin.Remove(ctx, "i1", "a"); err != nil {
					t.Fatal(err)
				}
				if got, _ := gateway.Candidates(ctx, "i1", []string{"k"}); len(got) != 0 {
					t.Fatalf("removed listener still matched from the cache")
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
			t.Run("a failing write is an error and indexes nothing", func(t *testing.T) {
				rdb, ks := b.Open(t)
				s := listener.NewStore(rdb, ks)
				ctx := context.Background()
				// The session set is a string, so SADD fails with WRONGTYPE
				// after the record's GET found nothing (redis.Nil).
				for _, key := range []string{ks + "ls:{i1:s1}", ks + "li:{i1}"} {
					rdb.Set(ctx, key, "not a set", 0)
					err := s.Add(ctx, newListener("i1", "a", "s1", "k"))
					if err == nil || !strings.Contains(err.Error(), "WRONGTYPE") {
						t.Fatalf("%s not a set: Add returned %v, want the WRONGTYPE error", key, err)
					}
					if n := rdb.SCard(ctx, ks+"ix:{i1|k}").Val(); n != 0 {
						t.Fatalf("%s not a set: the listener was indexed (%d entries) although Add failed", key, n)
					}
					rdb.Del(ctx, key)
				}
				if err := s.Add(ctx, newListener("i1", "a", "s1", "k")); err != nil {
					t.Fatalf("retry after the fault: %v", err)
				}
				if got, _ := s.Candidates(ctx, "i1", []string{"k"}); idsOf(got) != "[a]" {
					t.Fatalf("candidates after the retry %s, want [a]", idsOf(got))
				}
			})
			t.Run("an undecodable record is skipped and logged with its key", func(t *testing.T) {
				rdb, ks := b.Open(t)
				var logs bytes.Buffer
				s := listener.NewStore(rdb, ks, listener.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
				ctx := context.Background()
				if err := s.Add(ctx, newListener("i1", "bad", "s1", "k")); err != nil {
					t.Fatal(err)
				}
				rdb.Set(ctx, ks+"l:{i1:bad}", "{not json", 0)
				if got, err := s.Candidates(ctx, "i1", []string{"k"}); err != nil || len(got) != 0 {
					t.Fatalf("got %v %v, want no candidates", idsOf(got), err)
				}
				if out := logs.String(); !strings.Contains(out, `"level":"WARN"`) || !strings.Contains(out, ks+"l:{i1:bad}") {
					t.Fatalf("no warning naming the record key; logs: %s", out)
				}
			})
			t.Run("a stale index entry of a re-registered id does not match", func(t *testing.T) {
				rdb, ks := b.Open(t)
				s := listener.NewStore(rdb, ks)
				ctx := context.Background()
				if err := s.Add(ctx, newListener("i1", "x", "s1", "k1")); err != nil {
					t.Fatal(err)
				}
				// What a failed release in Add leaves: x still in its old set.
				rdb.SAdd(ctx, ks+"ix:{i1|k0}", "x")
				if got, _ := s.Candidates(ctx, "i1", []string{"k0"}); len(got) != 0 {
					t.Fatalf("stale entry matched: %s", idsOf(got))
				}
				if got, _ := s.Candidates(ctx, "i1", []string{"k0", "k1"}); idsOf(got) != "[x]" {
					t.Fatalf("candidates %s, want [x] once, through its own key", idsOf(got))
				}
			})
			t.Run("add many is add one after the other", func(t *testing.T) {
				rdb, ks := b.Open(t)
				s := listener.NewStore(rdb, ks)
				ctx := context.Background()
				// Before the batch: a listener it replaces (same identity,
				// older session), an id it re-registers for another key,
				// and another instance's listener of the same identity.
				for _, l := range []*listener.Listener{
					newListener("i1", "old", "s-old", "k3"),
					newListener("i1", "moved", "s-old", "k-before"),
					newListener("i2", "theirs", "s-old", "k3"),
				} {
					if err := s.Add(ctx, l); err != nil {
						t.Fatal(err)
					}
				}
				var batch []*listener.Listener
				for i := range 50 {
					batch = append(batch, newListener("i1", fmt.Sprint("b", i), fmt.Sprint("s", i%10), fmt.Sprint("k", i)))
				}
				// Twice the same identity in the batch: the later one wins.
				batch = append(batch, newListener("i1", "b7-again", "s-new", "k7"), newListener("i1", "moved", "s-new", "k-after"))
				if err := s.AddMany(ctx, batch); err != nil {
					t.Fatal(err)
				}
				for i := range 50 {
					want := fmt.Sprintf("[b%d]", i)
					if i == 7 {
						want = "[b7-again]"
					}
					if got, err := s.Candidates(ctx, "i1", []string{fmt.Sprint("k", i)}); err != nil || idsOf(got) != want {
						t.Fatalf("k%d candidates %s (%v), want %s", i, idsOf(got), err, want)
					}
				}
				for _, gone := range []string{"old", "b7"} {
					if _, err := s.Get(ctx, "i1", gone); !errors.Is(err, listener.ErrNotFound) {
						t.Fatalf("replaced listener %s: %v, want it removed", gone, err)
					}
				}
				if got, _ := s.Candidates(ctx, "i1", []string{"k-before"}); len(got) != 0 {
					t.Fatalf("the re-registered id still matches its old key: %s", idsOf(got))
				}
				if got, _ := s.Candidates(ctx, "i1", []string{"k-after"}); idsOf(got) != "[moved]" {
					t.Fatalf("k-after candidates %s, want [moved]", idsOf(got))
				}
				if got, _ := s.Candidates(ctx, "i2", []string{"k3"}); idsOf(got) != "[theirs]" {
					t.Fatalf("another instance's listener was replaced: %s", idsOf(got))
				}
				if got, _ := s.List(ctx, "i1", "s3"); idsOf(got) != "[b3 b13 b23 b33 b43]" {
					t.Fatalf("session s3 lists %s, want its five in batch order", idsOf(got))
				}
				if got, _ := s.List(ctx, "i1", ""); len(got) != 51 {
					t.Fatalf("instance lists %d listeners, want 51 (50 - b7 + b7-again + moved)", len(got))
				}
				// (moved stays in s-old's set, as with Add: RemoveSession
				// skips it by its record's session.)
				if got, _ := s.List(ctx, "i1", "s-old"); idsOf(got) != "[moved]" {
					t.Fatalf("s-old lists %s, want the replaced listener gone", idsOf(got))
				}
			})
			t.Run("add many writes nothing when one listener is refused", func(t *testing.T) {
				rdb, ks := b.Open(t)
				s := listener.NewStore(rdb, ks)
				ctx := context.Background()
				valid := func() []*listener.Listener {
					return []*listener.Listener{newListener("i1", "a", "s1", "ka"), newListener("i1", "b", "s2", "kb")}
				}
				for name, bad := range map[string]*listener.Listener{
					"invalid path":       listener.New("i1", "p", "a", "k", listener.Callback{ID: "x", SessionID: "s1", Path: "http://evil.example/"}),
					"repeated id":        newListener("i1", "a", "s3", "kc"),
					"another instance's": newListener("i2", "c", "s1", "kc"),
				} {
					if err := s.AddMany(ctx, append(valid(), bad)); !errors.Is(err, listener.ErrInvalid) {
						t.Fatalf("%s: err %v, want ErrInvalid", name, err)
					}
				}
				for _, inst := range []string{"i1", "i2"} {
					if got, err := s.List(ctx, inst, ""); err != nil || len(got) != 0 {
						t.Fatalf("refused batches left %s in %s (%v)", idsOf(got), inst, err)
					}
				}
				if got, _ := s.Candidates(ctx, "i1", []string{"ka", "kb", "kc"}); len(got) != 0 {
					t.Fatalf("refused batches indexed %s", idsOf(got))
				}
			})
			t.Run("matching reads only the index keys of registered shapes, and learns new ones at once", func(t *testing.T) {
				rdb, ks := b.Open(t)
				reads := &indexReads{}
				rdb.AddHook(reads)
				gateway, sdk := listener.NewStore(rdb, ks), listener.NewStore(rdb, ks) // two processes
				ctx := context.Background()
				if err := sdk.Add(ctx, newListener("i1", "exact", "s1", "msg-in|sms|100|200")); err != nil {
					t.Fatal(err)
				}
				// An inbound SMS's 8 keys: channel, to and from, each itself or *.
				event := []string{"msg-in|sms|100|200", "msg-in|sms|100|*", "msg-in|sms|*|200", "msg-in|sms|*|*",
					"msg-in|*|100|200", "msg-in|*|100|*", "msg-in|*|*|200", "msg-in|*|*|*"}
				match := func() string {
					t.Helper()
					got, err := gateway.Candidates(ctx, "i1", event)
					if err != nil {
						t.Fatal(err)
					}
					return idsOf(got)
				}
				if got := match(); got != "[exact]" {
					t.Fatalf("first match %s, want [exact]", got)
				}
				reads.reset()
				if got := match(); got != "[exact]" {
					t.Fatalf("second match %s, want [exact]", got)
				}
				if n := reads.count(); n != 1 {
					t.Fatalf("a match read %d index sets, want 1: only the exact key's shape is registered", n)
				}
				// Another process registers a new shape: the very next match
				// finds it, however little the gateway has read since.
				if err := sdk.Add(ctx, newListener("i1", "any-from", "s2", "msg-in|sms|*|200")); err != nil {
					t.Fatal(err)
				}
				if got := match(); got != "[exact any-from]" {
					t.Fatalf("after a new shape: %s, want [exact any-from]", got)
				}
				reads.reset()
				match()
				if n := reads.count(); n != 2 {
					t.Fatalf("a match read %d index sets, want 2 (two shapes)", n)
				}
				// Removing listeners leaves their shapes: a shape never read
				// is the only thing that could lose an event.
				if err := sdk.Remove(ctx, "i1", "any-from"); err != nil {
					t.Fatal(err)
				}
				if got := match(); got != "[exact]" {
					t.Fatalf("after the removal: %s, want [exact]", got)
				}
			})
			t.Run("listeners from before key shapes keep matching every key form", func(t *testing.T) {
				rdb, ks := b.Open(t)
				s := listener.NewStore(rdb, ks)
				ctx := context.Background()
				if err := s.Add(ctx, newListener("i1", "old", "s1", "msg-in|sms|*|200")); err != nil {
					t.Fatal(err)
				}
				// What a store of the previous version left: the listener,
				// and no shape set.
				rdb.Del(ctx, ks+"lk:{i1}")
				if err := s.Add(ctx, newListener("i1", "new", "s2", "msg-in|sms|100|200")); err != nil {
					t.Fatal(err)
				}
				gateway := listener.NewStore(rdb, ks)
				for i := range 2 { // the second match uses the shapes the first read
					got, err := gateway.Candidates(ctx, "i1", []string{"msg-in|sms|100|200", "msg-in|sms|*|200"})
					if err != nil || idsOf(got) != "[old new]" {
						t.Fatalf("match %d: candidates %s %v, want [old new]: the instance had listeners without shapes", i+1, idsOf(got), err)
					}
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

// indexReads counts the index sets (ix:…) read with SMEMBERS, through the
// pipelines matching sends.
type indexReads struct {
	mu sync.Mutex
	n  int
}

func (r *indexReads) DialHook(next redis.DialHook) redis.DialHook { return next }
func (r *indexReads) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		r.note([]redis.Cmder{cmd})
		return next(ctx, cmd)
	}
}
func (r *indexReads) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		r.note(cmds)
		return next(ctx, cmds)
	}
}

func (r *indexReads) note(cmds []redis.Cmder) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range cmds {
		if args := c.Args(); c.Name() == "smembers" && strings.Contains(fmt.Sprint(args[1]), "ix:{") {
			r.n++
		}
	}
}

func (r *indexReads) reset() { r.mu.Lock(); r.n = 0; r.mu.Unlock() }
func (r *indexReads) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}
