package redisproc_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/neru-dev/neru/internal/redisproc"
)

// A server that cannot start says why: its own output is in the error.
func TestStartFailureShowsServerOutput(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "fake-redis-server")
	script := "#!/bin/sh\necho 'FATAL CONFIG FILE ERROR: no such option' >&2\nexit 1\n"
	if err := os.WriteFile(bin, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := redisproc.Start(redisproc.Options{Binary: bin, Dir: filepath.Join(dir, "data")})
	if err == nil || !strings.Contains(err.Error(), "FATAL CONFIG FILE ERROR") {
		t.Fatalf("start of a failing server: %v, want its stderr in the error", err)
	}
}

// An exit that Stop did not ask for is reported, with the server's output;
// after Stop nothing is.
func TestUnexpectedExitIsReported(t *testing.T) {
	s, err := redisproc.Start(redisproc.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("%v (redis-server must be on PATH: apt-get install redis-server)", err)
	}
	defer s.Stop()
	if s.Err() != nil {
		t.Fatalf("running server reports %v", s.Err())
	}
	if err := syscall.Kill(s.Pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-s.Done()
	if err := s.Err(); err == nil || !strings.Contains(err.Error(), "exited") {
		t.Fatalf("killed server: Err() = %v, want an exit report", err)
	}

	s2, err := redisproc.Start(redisproc.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Stop(); err != nil {
		t.Fatal(err)
	}
	<-s2.Done()
	if err := s2.Err(); err != nil {
		t.Fatalf("stopped server reports %v", err)
	}
}

// `neru dev` passes a relative data dir (.neru); the server runs inside it
// and must still find it.
func TestRelativeDir(t *testing.T) {
	t.Chdir(t.TempDir())
	s, err := redisproc.Start(redisproc.Options{Dir: filepath.Join(".neru", "redis"), Persist: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(".neru", "redis", "appendonlydir")); err != nil {
		t.Fatalf("no append-only file under the relative dir: %v", err)
	}
}

// A kill -9 loses no acknowledged write with FsyncAlways, and Restart
// brings the server back on the same port and directory.
func TestKillRestartKeepsPortAndData(t *testing.T) {
	s, err := redisproc.Start(redisproc.Options{Dir: t.TempDir(), Persist: true, FsyncAlways: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	addr := s.Addr
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: s.Addr})
	defer rdb.Close()
	if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	s.Kill()
	if err := s.Err(); err != nil {
		t.Fatalf("a Kill is reported as a crash: %v", err)
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if s.Addr != addr {
		t.Fatalf("restarted on %s, was %s", s.Addr, addr)
	}
	if got, err := rdb.Get(ctx, "k").Result(); err != nil || got != "v" {
		t.Fatalf("after kill -9 and restart: GET k = %q, %v; want v", got, err)
	}
	if !strings.Contains(s.Output(), "restart") {
		t.Fatalf("output does not mark the restart:\n%s", s.Output())
	}
}

// A given port is used, and extra arguments reach the server (later ones
// win over ours).
func TestPortAndArgs(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s, err := redisproc.Start(redisproc.Options{Dir: t.TempDir(), Port: port, Args: []string{"--maxmemory-policy", "allkeys-lru"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	if want := "127.0.0.1:" + strconv.Itoa(port); s.Addr != want {
		t.Fatalf("Addr = %s, want %s", s.Addr, want)
	}
	rdb := redis.NewClient(&redis.Options{Addr: s.Addr})
	defer rdb.Close()
	got, err := rdb.ConfigGet(context.Background(), "maxmemory-policy").Result()
	if err != nil || got["maxmemory-policy"] != "allkeys-lru" {
		t.Fatalf("maxmemory-policy = %v, %v; want allkeys-lru", got, err)
	}
}
