// Package testenv gives tests real servers: an embedded nats-server with
// JetStream per call, and a real Redis (REDIS_URL, or a redis-server child
// process on a free port, started by internal/redisproc). Tests isolate themselves with unique key prefixes, never with
// FLUSHALL, so they can run in parallel against one Redis.
//
// A missing server is a test failure with a message that says how to fix it,
// never a skip: a green run must mean the integration tests ran.
package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"

	"github.com/neru-dev/neru/internal/natsx"
	"github.com/neru-dev/neru/internal/proctest"
	"github.com/neru-dev/neru/internal/redisproc"
	"github.com/neru-dev/neru/internal/redisx"
)

// NATSServer starts an embedded nats-server with JetStream on a random
// loopback port; it is shut down when the test ends.
func NATSServer(t testing.TB) *server.Server {
	t.Helper()
	srv, err := natsx.StartEmbedded(natsx.EmbeddedConfig{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatalf("testenv: embedded nats-server: %v", err)
	}
	t.Cleanup(srv.Shutdown)
	return srv
}

// NATS starts an embedded nats-server (see NATSServer) and returns a
// connection to it, closed when the test ends.
func NATS(t testing.TB) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(NATSServer(t).ClientURL())
	if err != nil {
		t.Fatalf("testenv: connect to embedded nats-server: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

var (
	redisOnce sync.Once
	redisURL  string
	redisErr  error
)

// RedisURL returns the URL of the Redis shared by this test binary: REDIS_URL if
// set, otherwise a redis-server started on a free port for the life of the
// process (killed by Main, and by the kernel if the test binary dies).
func RedisURL(t testing.TB) string {
	t.Helper()
	redisOnce.Do(func() { redisURL, redisErr = findRedis() })
	if redisErr != nil {
		t.Fatalf("testenv: no Redis: %v\n(set REDIS_URL, or install redis-server: apt-get install redis-server)", redisErr)
	}
	return redisURL
}

// Redis returns a client for the shared test Redis and a key prefix unique to
// this test. Every store under test must be given that prefix.
func Redis(t testing.TB) (redis.UniversalClient, string) {
	t.Helper()
	opt, err := redis.ParseURL(RedisURL(t))
	if err != nil {
		t.Fatalf("testenv: REDIS_URL: %v", err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("testenv: Redis at %s does not answer PING: %v", opt.Addr, err)
	}
	return rdb, "t" + uuid.NewString()[:8] + ":"
}

// RedisCluster returns a client for a three-master Redis Cluster shared by
// this test binary (proctest.SharedRedisCluster, opened through redisx as
// NERU_REDIS_URL=redis+cluster://… is) and a key prefix unique to the test.
func RedisCluster(t testing.TB) (redis.UniversalClient, string) {
	t.Helper()
	c := proctest.SharedRedisCluster(t)
	rdb, err := redisx.Open(c.URL)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb, "t" + uuid.NewString()[:8] + ":"
}

var (
	redisProc *redisproc.Server
	redisDir  string
)

func findRedis() (string, error) {
	if u := os.Getenv("REDIS_URL"); u != "" {
		return u, nil
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		return "", fmt.Errorf("REDIS_URL is unset and redis-server is not on PATH")
	}
	dir, err := os.MkdirTemp("", "testenv-redis-")
	if err != nil {
		return "", err
	}
	s, err := redisproc.Start(redisproc.Options{Dir: dir})
	if err != nil {
		_ = os.RemoveAll(dir)
		return "", err
	}
	redisProc, redisDir = s, dir
	return s.URL, nil
}

// Main wraps testing.M so that a redis-server this package started, and the
// servers shared through proctest (the Redis Cluster of RedisCluster), are
// stopped when the test binary exits. Use it from TestMain: os.Exit(testenv.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	proctest.Teardown()
	if redisProc != nil {
		redisProc.Kill()
		_ = os.RemoveAll(redisDir)
	}
	return code
}

// Eventually polls cond every 10ms until it is true or timeout passes, then
// fails the test with msg. It is the only way tests here wait.
func Eventually(t testing.TB, timeout time.Duration, cond func() bool, msg string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("testenv: timed out after %s: "+msg, append([]any{timeout}, args...)...)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
