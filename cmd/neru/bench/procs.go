package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// child is a process the benchmark started: the platform (`neru dev`), the
// sink app or the naive pipeline.
type child struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error // set before done closes

	mu   sync.Mutex
	tail bytes.Buffer // the last few KiB of its output, for error messages
}

// start runs bin with args and env added to ours, and waits until a line of
// its standard output starts with one of the ready prefixes (or it exits,
// or the timeout passes). It returns those lines, prefix removed, in the
// order of the prefixes.
func start(ctx context.Context, name, bin string, args, env []string, timeout time.Duration, ready ...string) (*child, []string, error) {
	c := &child{name: name, done: make(chan struct{})}
	c.cmd = exec.Command(bin, args...)
	c.cmd.Env = append(os.Environ(), env...)
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Through an io.Pipe rather than StdoutPipe: Wait must not close what
	// the scanner still reads.
	stdout, pw := io.Pipe()
	c.cmd.Stdout = pw
	c.cmd.Stderr = (*tailWriter)(c)
	if err := c.cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("bench: start %s: %w", name, err)
	}
	res := make(chan []string, 1) // what was found, once all was, or at EOF
	go func() {
		found := make([]string, len(ready))
		sc := bufio.NewScanner(stdout)
		left := len(ready)
		for sc.Scan() {
			line := sc.Text()
			_, _ = (*tailWriter)(c).Write([]byte(line + "\n"))
			for i, p := range ready {
				if found[i] == "" && strings.HasPrefix(line, p) {
					found[i] = strings.TrimSpace(strings.TrimPrefix(line, p))
					if left--; left == 0 {
						res <- found
					}
				}
			}
		}
		if left > 0 {
			res <- found
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() { c.err = c.cmd.Wait(); pw.Close(); close(c.done) }()
	var found []string
	select {
	case found = <-res:
	case <-time.After(timeout):
	case <-ctx.Done():
	}
	for i := range ready {
		if len(found) <= i || found[i] == "" {
			c.stop()
			return nil, nil, fmt.Errorf("bench: %s did not print %q within %s: %v\n%s", name, ready[i], timeout, c.err, c.output())
		}
	}
	return c, found, nil
}

type tailWriter child

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.tail.Write(p)
	if n := t.tail.Len(); n > 8<<10 {
		t.tail.Next(n - 4<<10)
	}
	return len(p), nil
}

func (c *child) output() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tail.String()
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// alive reports an error if the process has exited.
func (c *child) alive() error {
	select {
	case <-c.done:
		return fmt.Errorf("bench: %s exited: %v\n%s", c.name, c.err, c.output())
	default:
		return nil
	}
}

// stop ends the process: SIGTERM to its group, SIGKILL after 10 s.
func (c *child) stop() {
	if c == nil {
		return
	}
	_ = syscall.Kill(-c.pid(), syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-c.pid(), syscall.SIGKILL)
		<-c.done
	}
}

// clockTick is USER_HZ, the unit of /proc/<pid>/stat times: 100 on every
// Linux architecture Go supports.
const clockTick = 100

// procCPU is the user plus system CPU time process pid has used (its own,
// not its children's), from /proc/<pid>/stat.
func procCPU(pid int) (time.Duration, error) {
	if pid == os.Getpid() {
		return cpuTime(), nil
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces: fields count from its ')'.
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return 0, fmt.Errorf("bench: /proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("bench: /proc/%d/stat: unexpected format", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * time.Second / clockTick, nil
}

// procName is the command name of pid ("?" when unknown).
func procName(pid int) string {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(raw))
}

// listenerPID finds the process listening on the TCP port of rawURL's host
// on this machine (0 if the host is not local or the process cannot be
// found, e.g. another user's without the rights to read its fds).
func listenerPID(rawURL string) int {
	u, err := url.Parse(rawURL)
	if err != nil {
		return 0
	}
	host := u.Host
	if i := strings.IndexByte(host, ','); i >= 0 { // redis+cluster://h1:p1,h2:p2
		host = host[:i]
	}
	h, p, err := net.SplitHostPort(host)
	if err != nil {
		return 0
	}
	if ip := net.ParseIP(h); h != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return 0
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return 0
	}
	inodes := map[string]bool{}
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		raw, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(raw), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 10 || f[3] != "0A" { // 0A: LISTEN
				continue
			}
			_, hexPort, _ := strings.Cut(f[1], ":")
			if n, err := strconv.ParseUint(hexPort, 16, 16); err == nil && int(n) == port {
				inodes["socket:["+f[9]+"]"] = true
			}
		}
	}
	if len(inodes) == 0 {
		return 0
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/fd")
	for _, dir := range procs {
		fds, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			if link, err := os.Readlink(filepath.Join(dir, fd.Name())); err == nil && inodes[link] {
				pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
				return pid
			}
		}
	}
	return 0
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
