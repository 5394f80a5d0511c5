package compat

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/neru-dev/neru/internal/testenv"
)

func TestMain(m *testing.M) {
	// Nothing this suite starts may reach beyond this machine: should the
	// platform's vonage-api provider call a real Vonage host (no fake
	// upstream configured), a client that honours the proxy variables
	// (http.DefaultTransport does) hits this closed loopback port instead.
	// Loopback destinations are never proxied. The Node apps do not inherit
	// these variables (startApp builds their environment).
	for _, k := range []string{"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"} {
		_ = os.Setenv(k, "http://127.0.0.1:9")
	}
	os.Exit(testenv.Main(m))
}

// The SDK versions the suite is about; package.json pins them exactly.
var pinned = map[string]string{
	"neru-alpha":      "5.1.0",
	"@vonage/vcr-sdk": "1.3.0",
}

var (
	nodeOnce sync.Once
	nodeBin  string
	nodeErr  error
)

// requireNode returns the node binary, once the pinned SDKs are installed in
// compat/node_modules (by `npm ci` if they are missing). A missing node or npm
// fails the test: a green run must mean the SDKs ran.
func requireNode(t *testing.T) string {
	t.Helper()
	nodeOnce.Do(func() { nodeBin, nodeErr = setupNode() })
	if nodeErr != nil {
		t.Fatalf("compat: %v", nodeErr)
	}
	return nodeBin
}

func setupNode() (string, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return "", errors.New("node is not on PATH; the SDK compatibility suite needs Node 20+ and npm (apt-get install nodejs npm)")
	}
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("node --version: %v", err)
	}
	v := strings.TrimPrefix(strings.TrimSpace(string(out)), "v")
	if major, _, _ := strings.Cut(v, "."); atoi(major) < 20 {
		return "", fmt.Errorf("node %s is too old: the SDKs were captured on Node 20 and need >= 20", v)
	}
	if installedVersions() == nil {
		return node, nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", fmt.Errorf("the pinned SDKs are not installed in compat/node_modules (%v) and npm is not on PATH to install them (apt-get install npm)", installedVersions())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	// npm must reach the registry: not through the closed port TestMain
	// points the proxy variables at.
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return strings.EqualFold(name, "http_proxy") || strings.EqualFold(name, "https_proxy")
	})
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("npm ci in compat/ failed (%v):\n%s", err, tail(buf.Bytes(), 4000))
	}
	if err := installedVersions(); err != nil {
		return "", fmt.Errorf("after npm ci: %v", err)
	}
	return node, nil
}

// installedVersions checks node_modules against the pinned versions.
func installedVersions() error {
	for name, want := range pinned {
		raw, err := os.ReadFile(filepath.Join("node_modules", filepath.FromSlash(name), "package.json"))
		if err != nil {
			return fmt.Errorf("%s is not installed", name)
		}
		var pkg struct{ Version string }
		if json.Unmarshal(raw, &pkg) != nil || pkg.Version != want {
			return fmt.Errorf("%s is %q, want %s", name, pkg.Version, want)
		}
	}
	return nil
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// report is one line an app printed: {"event": "...", ...}.
type report struct {
	Event  string
	Fields map[string]json.RawMessage
	Line   string
}

// Str returns a string field ("" if absent or not a string).
func (r report) Str(name string) string {
	var s string
	_ = json.Unmarshal(r.Fields[name], &s)
	return s
}

// nodeApp is a running app (apps/<script>) and what it reported so far.
type nodeApp struct {
	t      *testing.T
	script string
	Port   int
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	cancel context.CancelFunc
	done   chan struct{} // closed when the process has exited

	mu      sync.Mutex
	reports []report
	other   []string // stdout lines that are not reports
	stderr  []byte   // the last 64 KiB
	waitErr error
}

// appTimeout bounds every app process, whatever the test does.
const appTimeout = 3 * time.Minute

// startApp runs `node apps/<script>` with env (plus PATH and HOME, and
// nothing else from our environment: a stray HTTP_PROXY or DEBUG would change
// what the SDK sends). The process is killed when the test ends; it also
// exits on its own when its stdin closes.
func startApp(t *testing.T, script string, port int, env map[string]string) *nodeApp {
	t.Helper()
	node := requireNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), appTimeout)
	cmd := exec.CommandContext(ctx, node, filepath.Join("apps", script))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Cancel = func() error { return cmd.Process.Kill() }
	cmd.WaitDelay = 5 * time.Second
	a := &nodeApp{t: t, script: script, Port: port, cmd: cmd, cancel: cancel, done: make(chan struct{})}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = writerFunc(a.writeStderr)
	if a.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("compat: start %s: %v", script, err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
		for sc.Scan() {
			a.addLine(sc.Text())
		}
		err := cmd.Wait()
		a.mu.Lock()
		a.waitErr = err
		a.mu.Unlock()
		close(a.done)
	}()
	t.Cleanup(func() {
		_ = a.stdin.Close() // the app exits on its own...
		select {
		case <-a.done:
		case <-time.After(3 * time.Second):
			cancel() // ...or is killed
			<-a.done
		}
		cancel()
		if t.Failed() {
			t.Logf("%s reported:\n%s\nstderr:\n%s", script, a.transcript(), a.stderrText())
		}
	})
	return a
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func (a *nodeApp) writeStderr(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stderr = append(a.stderr, p...)
	if len(a.stderr) > 64<<10 {
		a.stderr = append([]byte(nil), tail(a.stderr, 64<<10)...)
	}
	return len(p), nil
}

func (a *nodeApp) addLine(line string) {
	var fields map[string]json.RawMessage
	a.mu.Lock()
	defer a.mu.Unlock()
	if json.Unmarshal([]byte(line), &fields) != nil || fields["event"] == nil {
		a.other = append(a.other, line)
		return
	}
	r := report{Fields: fields, Line: line}
	_ = json.Unmarshal(fields["event"], &r.Event)
	a.reports = append(a.reports, r)
}

// Reports returns the reports of one event so far.
func (a *nodeApp) Reports(event string) []report {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []report
	for _, r := range a.reports {
		if r.Event == event {
			out = append(out, r)
		}
	}
	return out
}

func (a *nodeApp) transcript() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var b strings.Builder
	for _, r := range a.reports {
		b.WriteString("  " + r.Line + "\n")
	}
	for _, l := range a.other {
		b.WriteString("  (stdout) " + l + "\n")
	}
	return b.String()
}

func (a *nodeApp) stderrText() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return string(tail(a.stderr, 8000))
}

// exited reports whether the process ended, and how.
func (a *nodeApp) exited() (bool, error) {
	select {
	case <-a.done:
		a.mu.Lock()
		defer a.mu.Unlock()
		return true, a.waitErr
	default:
		return false, nil
	}
}

// waitError is how Await says why it gave up; the caller decides whether
// that ends the test.
type waitError struct{ msg string }

func (e *waitError) Error() string { return e.msg }

// Await polls until the app has reported event (the first report for which
// match is true, or any if match is nil). It gives up with an error when the
// app reports an error on one of the routes in failOn ("*" for any route),
// when the app exits, or after timeout.
func (a *nodeApp) Await(event string, match func(report) bool, timeout time.Duration, failOn ...string) (report, error) {
	deadline := time.Now().Add(timeout)
	for {
		for _, r := range a.Reports(event) {
			if match == nil || match(r) {
				return r, nil
			}
		}
		for _, e := range a.Reports("error") {
			for _, route := range failOn {
				if route == "*" || e.Str("route") == route {
					return report{}, &waitError{fmt.Sprintf("%s: %s failed: %s", a.script, e.Str("route"), e.Str("error"))}
				}
			}
		}
		if done, err := a.exited(); done {
			return report{}, &waitError{fmt.Sprintf("%s exited (%v) before reporting %q; stderr:\n%s", a.script, err, event, a.stderrText())}
		}
		if time.Now().After(deadline) {
			return report{}, &waitError{fmt.Sprintf("%s did not report %q within %s", a.script, event, timeout)}
		}
		time.Sleep(10 * time.Millisecond) // polling the app's reports
	}
}

// MustAwait is Await that ends the test on failure.
func (a *nodeApp) MustAwait(event string, match func(report) bool, timeout time.Duration, failOn ...string) report {
	a.t.Helper()
	r, err := a.Await(event, match, timeout, failOn...)
	if err != nil {
		a.t.Fatal(err)
	}
	return r
}

// AwaitExit waits for the process to end and returns its error (nil for
// exit code 0).
func (a *nodeApp) AwaitExit(timeout time.Duration) error {
	select {
	case <-a.done:
		_, err := a.exited()
		return err
	case <-time.After(timeout):
		return fmt.Errorf("%s still running after %s", a.script, timeout)
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
