// Package proctest runs the platform as production runs it: the real
// binaries (cmd/gateway, cmd/worker) and real servers (redis-server, NATS
// nodes) as separate OS processes that a test can start, kill -9, stop with
// SIGTERM and restart. Tests about deployment, the security of the edges,
// clusters and outages are built on it; in-process wiring cannot show what
// a process boundary, a crash or a restart does.
//
// Every process's output is kept; when the test fails, the tail of each is
// printed, so a failure in CI says what the processes said.
package proctest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildMu  sync.Mutex
	built    = map[string]string{}
	buildDir string
)

// Binary builds the main package pkg (an import path such as
// "github.com/neru-dev/neru/cmd/gateway") once per test binary and returns
// the executable's path. Building goes through the go command and its
// cache, so a second test package pays little.
func Binary(t testing.TB, pkg string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if bin, ok := built[pkg]; ok {
		return bin
	}
	if buildDir == "" {
		d, err := os.MkdirTemp("", "proctest-bin-")
		if err != nil {
			t.Fatalf("proctest: %v", err)
		}
		buildDir = d
	}
	bin := filepath.Join(buildDir, filepath.Base(pkg))
	out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("proctest: go build %s: %v\n%s", pkg, err, out)
	}
	built[pkg] = bin
	return bin
}

// Main wraps testing.M: when the test binary's tests are done it runs
// Teardown. Use it from TestMain; testenv.Main runs Teardown too, so a
// package needs only one of them.
func Main(m *testing.M) int {
	code := m.Run()
	Teardown()
	return code
}

// Teardown kills the processes shared by the whole test binary (see
// SharedRedisCluster) and removes the binaries Binary built.
func Teardown() {
	binaryScope.teardown()
	buildMu.Lock()
	defer buildMu.Unlock()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
		buildDir = ""
		built = map[string]string{}
	}
}

// Proc is one OS process a test runs. Methods are safe for concurrent use.
type Proc struct {
	Name string
	bin  string
	args []string
	env  []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when the current run exits
	err  error         // the current run's exit error, once done
	logs *tail
}

// Start runs bin with args, the test's PATH and HOME, and env (NAME=value)
// added. The process is killed when the test ends, and its output is
// printed if the test failed.
func Start(t testing.TB, name, bin string, env []string, args ...string) *Proc {
	t.Helper()
	p := &Proc{Name: name, bin: bin, args: args, env: env, logs: &tail{max: 64 << 10}}
	if err := p.start(); err != nil {
		t.Fatalf("proctest: start %s: %v", name, err)
	}
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("---- %s output (tail) ----\n%s", name, p.Logs())
		}
	})
	return p
}

func (p *Proc) start() error {
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, p.env...)
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	// Its own process group, so a kill reaches whatever it started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.done, p.err = cmd, done, nil
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(done)
	}()
	return nil
}

// Kill sends SIGKILL (kill -9) to the process group and waits for the exit.
func (p *Proc) Kill() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	<-done
}

// Stop sends SIGTERM and waits up to timeout for a graceful exit, then
// kills. It returns the exit error of a graceful exit (nil for status 0).
func (p *Proc) Stop(timeout time.Duration) error {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.err
	case <-time.After(timeout):
		p.Kill()
		return fmt.Errorf("proctest: %s did not exit within %s of SIGTERM", p.Name, timeout)
	}
}

// Restart starts the process again with the same command line (after a
// Kill or Stop; a running process is killed first).
func (p *Proc) Restart(t testing.TB) {
	t.Helper()
	p.Kill()
	fmt.Fprintf(p.logs, "---- proctest: restart %s ----\n", p.Name)
	if err := p.start(); err != nil {
		t.Fatalf("proctest: restart %s: %v", p.Name, err)
	}
}

// Exited reports whether the current run has ended, and how.
func (p *Proc) Exited() (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// Done is closed when the current run exits.
func (p *Proc) Done() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}

// Logs is the tail of what the process wrote to stdout and stderr, over
// all its runs.
func (p *Proc) Logs() string { return p.logs.String() }

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (w *tail) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, b...)
	if over := len(w.buf) - w.max; over > 0 {
		w.buf = w.buf[over:]
	}
	return len(b), nil
}

func (w *tail) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(bytes.Clone(w.buf))
}

// handedOut holds every port FreePort returned in this process.
var handedOut struct {
	sync.Mutex
	ports map[int]bool
}

// FreePort returns a loopback TCP port that was free a moment ago and that
// it has not returned before in this process. The kernel may hand the same
// free port out twice in a row once it is closed again: a NATS node once got
// one port for both its clients and its routes, and died.
func FreePort(t testing.TB) int {
	t.Helper()
	handedOut.Lock()
	defer handedOut.Unlock()
	if handedOut.ports == nil {
		handedOut.ports = map[int]bool{}
	}
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("proctest: free port: %v", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !handedOut.ports[port] {
			handedOut.ports[port] = true
			return port
		}
	}
	t.Fatal("proctest: no free port that was not handed out already")
	return 0
}

// Addr is "127.0.0.1:<port>".
func Addr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// WaitHTTP polls url until it answers 200, the process p exits (a failure:
// its output is in the message), or timeout passes.
func WaitHTTP(t testing.TB, p *Proc, url string, timeout time.Duration) {
	t.Helper()
	if err := waitFor(p, timeout, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}); err != nil {
		t.Fatalf("proctest: %s not ready at %s: %v", p.Name, url, err)
	}
}

// WaitTCP polls addr until it accepts a connection (see WaitHTTP).
func WaitTCP(t testing.TB, p *Proc, addr string, timeout time.Duration) {
	t.Helper()
	if err := waitFor(p, timeout, func() bool {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			return false
		}
		c.Close()
		return true
	}); err != nil {
		t.Fatalf("proctest: %s not listening on %s: %v", p.Name, addr, err)
	}
}

// WaitLog polls p's output until it contains s (for a process with nothing
// to probe, such as a worker without its ops listener), failing the test if
// p exits or timeout passes first.
func WaitLog(t testing.TB, p *Proc, s string, timeout time.Duration) {
	t.Helper()
	if err := waitFor(p, timeout, func() bool { return strings.Contains(p.Logs(), s) }); err != nil {
		t.Fatalf("proctest: %s did not log %q: %v", p.Name, s, err)
	}
}

func waitFor(p *Proc, timeout time.Duration, ok func() bool) error {
	deadline := time.Now().Add(timeout)
	for !ok() {
		if exited, err := p.Exited(); exited {
			return fmt.Errorf("it exited (%v):\n%s", err, p.Logs())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s:\n%s", timeout, p.Logs())
		}
		time.Sleep(20 * time.Millisecond) // polling a process that is starting
	}
	return nil
}
