package instance_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/neru-dev/neru/instance"
	"github.com/neru-dev/neru/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func TestStore(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			rdb, ks := b.Open(t)
			s := instance.NewStore(rdb, ks)
			ctx := context.Background()
			in := &instance.Instance{ID: "shop", BaseURL: "https://shop.example/app/", ApplicationID: "app-1"}
			if err := s.Create(ctx, in); err != nil {
				t.Fatal(err)
			}
			if in.BaseURL != "https://shop.example/app" {
				t.Fatalf("base URL not normalised: %q", in.BaseURL)
			}
			for _, dup := range []*instance.Instance{
				{ID: "shop", BaseURL: "https://x.example", ApplicationID: "app-2"},
				{ID: "other", BaseURL: "https://x.example", ApplicationID: "app-1"},
			} {
				if err := s.Create(ctx, dup); !errors.Is(err, instance.ErrExists) {
					t.Fatalf("%+v: err %v, want ErrExists", dup, err)
				}
			}
			// The failed duplicate must not have stolen app-2 or left a record.
			if _, err := s.ByApplication(ctx, "app-2"); !errors.Is(err, instance.ErrNotFound) {
				t.Fatalf("app-2 claimed by a failed create: %v", err)
			}
			got, err := s.ByApplication(ctx, "app-1")
			if err != nil || got.ID != "shop" {
				t.Fatalf("ByApplication: %+v %v", got, err)
			}
			list, err := s.List(ctx)
			if err != nil || len(list) != 1 {
				t.Fatalf("List: %d %v", len(list), err)
			}
			if err := s.Delete(ctx, "shop"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Get(ctx, "shop"); !errors.Is(err, instance.ErrNotFound) {
				t.Fatalf("deleted instance still found: %v", err)
			}
			if err := s.Create(ctx, &instance.Instance{ID: "again", BaseURL: "https://x.example", ApplicationID: "app-1"}); err != nil {
				t.Fatalf("application id not freed by delete: %v", err)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	for _, in := range []instance.Instance{
		{ID: "a b", BaseURL: "https://x", ApplicationID: "a"},
		{ID: "", BaseURL: "https://x", ApplicationID: "a"},
		{ID: "a", BaseURL: "ftp://x", ApplicationID: "a"},
		{ID: "a", BaseURL: "/relative", ApplicationID: "a"},
		{ID: "a", BaseURL: "https://x?q=1", ApplicationID: "a"},
		{ID: "a", BaseURL: "https://x", ApplicationID: ""},
		{ID: "a", BaseURL: "https://x", ApplicationID: "a/b"},
		{ID: "a", BaseURL: "https://x", ApplicationID: "a", PublicKey: "not a key"},
	} {
		if err := in.Validate(); !errors.Is(err, instance.ErrInvalid) {
			t.Errorf("%+v: err %v, want ErrInvalid", in, err)
		}
	}
}

// A create whose rollback fails cannot report it (it already fails for
// another reason), so the rollback's error is logged with the key it left
// claimed. A Redis ACL user without DEL makes the rollback fail for real.
func TestCreateRollbackFailureIsLogged(t *testing.T) {
	rdb, ks := testenv.Redis(t)
	ctx := context.Background()
	user := "neru-test-" + strings.TrimSuffix(ks, ":")
	if err := rdb.Do(ctx, "ACL", "SETUSER", user, "on", ">pw", "~"+ks+"*", "+@all", "-del", "-unlink").Err(); err != nil {
		t.Fatalf("ACL SETUSER: %v (the test needs Redis 6+ with ACLs)", err)
	}
	t.Cleanup(func() { rdb.Do(context.Background(), "ACL", "DELUSER", user) })
	opt, err := redis.ParseURL(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	opt.Username, opt.Password = user, "pw"
	limited := redis.NewClient(opt)
	t.Cleanup(func() { _ = limited.Close() })

	var logs bytes.Buffer
	s := instance.NewStore(limited, ks, instance.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	if err := s.Create(ctx, &instance.Instance{ID: "shop", BaseURL: "https://x.example", ApplicationID: "app-1"}); err != nil {
		t.Fatal(err)
	}
	// Same id, new application id: the id check fails, the rollback's DEL is refused.
	err = s.Create(ctx, &instance.Instance{ID: "shop", BaseURL: "https://x.example", ApplicationID: "app-2"})
	if !errors.Is(err, instance.ErrExists) {
		t.Fatalf("duplicate create: %v, want ErrExists", err)
	}
	out := logs.String()
	if !strings.Contains(out, `"level":"WARN"`) || !strings.Contains(out, ks+"inst:app:{app-2}") || !strings.Contains(out, "NOPERM") {
		t.Fatalf("no warning naming the key the rollback left claimed; logs: %q", out)
	}
}
