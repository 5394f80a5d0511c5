package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/neru-dev/neru/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

const globalSession = "00000000-0000-0000-0000-000000000000"

var (
	tenantA = Tenant{AccountID: "acc-a", InstanceID: "inst-a"}
	tenantB = Tenant{AccountID: "acc-b", InstanceID: "inst-b"}
)

// env is one test's Store, on a key prefix of its own. Every session except
// the global one ends at end.
type env struct {
	t      *testing.T
	ctx    context.Context
	store  *Store
	rdb    redis.UniversalClient
	prefix string
	end    time.Time
	ttlErr error // when set, SessionTTL fails with it
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvOn(t, testenv.Redis)
}

// newEnvOn is newEnv on the Redis that open returns (testenv.RedisCluster).
func newEnvOn(t *testing.T, open func(testing.TB) (redis.UniversalClient, string)) *env {
	t.Helper()
	rdb, prefix := open(t)
	e := &env{t: t, ctx: t.Context(), rdb: rdb, prefix: prefix, end: time.Now().Add(time.Hour).Truncate(time.Millisecond)}
	e.store = NewStore(rdb, prefix, SessionTTLFunc(func(_ context.Context, _, session string) (time.Time, bool, error) {
		return e.end, session != globalSession, e.ttlErr
	}))
	// The Redis may be a shared one (REDIS_URL): leave nothing behind.
	t.Cleanup(func() {
		ctx := context.Background()
		keys, _ := rdb.Keys(ctx, prefix+"*").Result()
		for _, k := range keys { // one by one: on Redis Cluster they span slots
			rdb.Unlink(ctx, k)
		}
	})
	return e
}

// run sends one request body, built from op, ns, key and the JSON args
// array as an SDK sends it, through DecodeCommand and Exec.
func (e *env) run(tn Tenant, op, ns, key, args string) (string, error) {
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	body := `{"operation":` + q(op) + `,"namespace":` + q(ns) + `,"key":` + q(key) + `,"args":` + args + `}`
	cmd, err := DecodeCommand([]byte(body))
	if err != nil {
		return "", err
	}
	reply, err := e.store.Exec(e.ctx, tn, cmd)
	return string(reply), err
}

// exec runs a command that must succeed and returns its reply body.
func (e *env) exec(tn Tenant, op, ns, key, args string) string {
	e.t.Helper()
	reply, err := e.run(tn, op, ns, key, args)
	if err != nil {
		e.t.Fatalf("%s %s %s %s: %v", op, ns, key, args, err)
	}
	return reply
}

// execErr runs a command that must fail and returns its error.
func (e *env) execErr(tn Tenant, op, ns, key, args string) error {
	e.t.Helper()
	reply, err := e.run(tn, op, ns, key, args)
	if err == nil {
		e.t.Fatalf("%s %s %s %s = %s, want an error", op, ns, key, args, reply)
	}
	return err
}

// expireTime is the key's PEXPIRETIME: Unix ms, -1 for none, -2 for no key.
func (e *env) expireTime(key string) int64 {
	e.t.Helper()
	n, err := e.rdb.Do(e.ctx, "PEXPIRETIME", key).Int64()
	if err != nil {
		e.t.Fatalf("PEXPIRETIME %s: %v", key, err)
	}
	return n
}

// snapshot is every key of the test with its type, value and expiry, to
// show that a failed command changed nothing.
func (e *env) snapshot() map[string]string {
	e.t.Helper()
	keys, err := e.rdb.Keys(e.ctx, e.prefix+"*").Result()
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]string{}
	for _, k := range keys {
		dump, err := e.rdb.Dump(e.ctx, k).Result()
		if err != nil {
			e.t.Fatal(err)
		}
		out[k] = fmt.Sprintf("%q@%d", dump, e.expireTime(k))
	}
	return out
}

// isClientErr reports whether err is one of the package's client sentinels.
func isClientErr(err error) bool {
	for _, s := range []error{ErrUnknownOperation, ErrUnsupported, ErrBadArgs, ErrWrongType} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}
