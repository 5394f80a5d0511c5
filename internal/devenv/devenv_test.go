package devenv_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/neru-dev/neru/internal/devenv"
	"github.com/neru-dev/neru/internal/testenv"
	"github.com/neru-dev/neru/listener"
	"github.com/neru-dev/neru/router"
	"github.com/neru-dev/neru/session"
)

func TestMain(m *testing.M) {
	if os.Getenv("DEVENV_HELPER_DIR") != "" {
		helper() // a child `neru dev` stand-in, see TestChildDiesWithParent
		return
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		fmt.Fprintln(os.Stderr, "devenv tests need redis-server on PATH (apt-get install redis-server)")
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func start(t *testing.T, o devenv.Options) *devenv.Env {
	t.Helper()
	e, err := devenv.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

type stores struct {
	listeners *listener.Store
	sessions  *session.Store
	router    *router.Router
}

func open(t testing.TB, e *devenv.Env) stores {
	t.Helper()
	opt, err := redis.ParseURL(e.RedisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	ls := listener.NewStore(rdb, "neru:")
	ss := session.NewStore(rdb, "neru:", time.Hour)
	return stores{ls, ss, router.New(ls, ss, nil)}
}

// register adds one SMS listener in its own session, as an SDK app does.
func (s stores) register(ctx context.Context, i int) error {
	sid := fmt.Sprintf("s%d", i)
	if _, err := s.sessions.Create(ctx, "dev", sid, time.Hour); err != nil {
		return err
	}
	return s.listeners.Add(ctx, listener.New("dev", "vonage-messaging", "subscribe-inbound-messages",
		smsKey(i), listener.Callback{ID: fmt.Sprintf("l%d", i), SessionID: sid, Path: "/onMessage"}))
}

func smsKey(i int) string { return fmt.Sprintf("msg-in|sms|4477%08d|*", i) }

func (s stores) matches(t testing.TB, i int) int {
	t.Helper()
	got, err := s.router.Match(context.Background(), "dev", &router.Event{Keys: []string{smsKey(i), "msg-in|*|*|*"}})
	if err != nil {
		t.Fatal(err)
	}
	return len(got)
}

func jetStream(t *testing.T, e *devenv.Env) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(e.NATSURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	// Reparented to an init that does not reap: a zombie is gone too.
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) == 0 || fields[0] != "Z"
}

// The default keeps Redis and JetStream in the data dir, and both survive a
// restart: a listener registered before still matches, and an event stored
// before is still there (so it is delivered to a listener that exists).
func TestPersistentStateSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e := start(t, devenv.Options{DataDir: dir})
	if !e.Persistent || e.RedisPid() == 0 {
		t.Fatalf("default env: persistent=%v redis pid=%d, want a persistent redis-server child", e.Persistent, e.RedisPid())
	}
	if want := "state persists in " + dir; !strings.Contains(e.State(), want) {
		t.Fatalf("banner %q does not say %q", e.State(), want)
	}
	s := open(t, e)
	if err := s.register(ctx, 1); err != nil {
		t.Fatal(err)
	}
	js := jetStream(t, e)
	_, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}, Storage: jetstream.FileStorage})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "t.1", []byte("event")); err != nil {
		t.Fatal(err)
	}
	pid := e.RedisPid()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if alive(pid) {
		t.Fatalf("redis-server %d still runs after Close", pid)
	}

	e2 := start(t, devenv.Options{DataDir: dir})
	if n := open(t, e2).matches(t, 1); n != 1 {
		t.Fatalf("after a restart the listener matches %d times, want 1", n)
	}
	st2, err := jetStream(t, e2).Stream(ctx, "T")
	if err != nil {
		t.Fatalf("stream lost across the restart: %v", err)
	}
	if info, err := st2.Info(ctx); err != nil || info.State.Msgs != 1 {
		t.Fatalf("stream after restart: %v msgs, err %v; want 1", info.State.Msgs, err)
	}
}

// --ephemeral keeps everything in a temporary directory: the data dir stays
// empty, Close removes the rest, and a restart starts from nothing.
func TestEphemeralLeavesNothing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e := start(t, devenv.Options{DataDir: dir, Ephemeral: true})
	if e.Persistent || e.State() != "ephemeral: everything is lost on exit" {
		t.Fatalf("ephemeral env: persistent=%v banner %q", e.Persistent, e.State())
	}
	s := open(t, e)
	if err := s.register(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := jetStream(t, e).CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}}); err != nil {
		t.Fatal(err)
	}
	state, pid := e.StateDir, e.RedisPid()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(state); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("ephemeral state dir %s still exists after Close (%v)", state, err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("ephemeral run wrote into the data dir: %v", left)
	}
	if alive(pid) {
		t.Fatalf("redis-server %d still runs after Close", pid)
	}
	if n := open(t, start(t, devenv.Options{DataDir: dir, Ephemeral: true})).matches(t, 1); n != 0 {
		t.Fatalf("a new ephemeral run matched a listener of the last one")
	}
}

// Without redis-server only miniredis runs, which cannot persist: then
// JetStream does not persist either, and the banner says why.
func TestInProcessFallbackIsEphemeralAsAWhole(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e := start(t, devenv.Options{DataDir: dir, InProcessRedis: true})
	if e.Persistent || e.RedisPid() != 0 || !strings.HasPrefix(e.State(), "ephemeral: everything is lost on exit (") {
		t.Fatalf("fallback: persistent=%v pid=%d banner %q", e.Persistent, e.RedisPid(), e.State())
	}
	if _, err := os.Stat(filepath.Join(dir, "jetstream")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("fallback put JetStream in the data dir")
	}
	// TTLs still run out, by the expiry ticker.
	rdb := redis.NewClient(&redis.Options{Addr: strings.TrimPrefix(e.RedisURL, "redis://")})
	defer rdb.Close()
	if err := rdb.Set(ctx, "k", "v", 50*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, func() bool { return rdb.Exists(ctx, "k").Val() == 0 },
		"a key with a 50ms TTL never expired in the in-process Redis")
}

// JetStream files without Redis data (a data dir of an older neru dev, whose
// Redis was in memory) hold deliveries for listeners that are gone: they
// are dropped rather than replayed.
func TestOrphanJetStreamDropped(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "jetstream", "stale")
	if err := os.MkdirAll(stale, 0o700); err != nil {
		t.Fatal(err)
	}
	start(t, devenv.Options{DataDir: dir})
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("JetStream files without Redis data survived the start (%v)", err)
	}
}

// A killed `neru dev` takes its redis-server along (parent-death signal):
// the helper process is this test binary, SIGKILLed after it started one.
func TestChildDiesWithParent(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "DEVENV_HELPER_DIR="+t.TempDir())
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		t.Fatalf("helper printed no pid: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || !alive(pid) {
		_ = cmd.Process.Kill()
		t.Fatalf("helper's redis-server pid %q: %v", line, err)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	testenv.Eventually(t, 30*time.Second, func() bool { return !alive(pid) },
		"redis-server %d outlived its killed parent", pid)
}

func helper() {
	e, err := devenv.Start(devenv.Options{DataDir: os.Getenv("DEVENV_HELPER_DIR"), NoNATS: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Println(e.RedisPid())
	select {} // until killed
}
