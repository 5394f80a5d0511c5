package redisproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrNotInstalled means no redis-server binary was found.
var ErrNotInstalled = errors.New("redisproc: redis-server is not on PATH")

// Options configures a child redis-server.
type Options struct {
	// Binary is the redis-server to run; empty looks it up on PATH.
	Binary string
	// Dir holds the server's files (its working directory); required.
	Dir string
	// Port to bind on 127.0.0.1; 0 picks a free one.
	Port int
	// Persist keeps the data across restarts in an append-only file in Dir,
	// fsynced every second and on shutdown. Without it nothing is written.
	Persist bool
	// FsyncAlways (with Persist) fsyncs the append-only file before every
	// write is acknowledged, so even a kill -9 loses nothing acknowledged.
	FsyncAlways bool
	// Args are further redis-server arguments, after ours (a later one wins),
	// e.g. "--cluster-enabled", "yes".
	Args []string
	// StartTimeout bounds the wait for the first PING; default 10s.
	StartTimeout time.Duration
}

// Server is a running child redis-server. Its methods are safe for
// concurrent use.
type Server struct {
	URL     string // redis://127.0.0.1:<port>
	Addr    string
	Version string // redis_version from INFO

	bin  string
	opts Options
	out  *tailBuffer

	mu  sync.Mutex
	cur *run
}

// run is one life of the server process: Restart begins another.
type run struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // its exit status; read after done
	// asked is closed by Stop or Kill, so that an exit they caused is not
	// reported as a crash by Err.
	asked     chan struct{}
	askedOnce sync.Once
}

func (r *run) ask() { r.askedOnce.Do(func() { close(r.asked) }) }

// Start runs redis-server and waits until it answers PING. A failure to
// start includes the server's own output, which says why (a bad option, a
// port taken, an unreadable append-only file).
func Start(o Options) (*Server, error) {
	if o.Dir == "" {
		return nil, errors.New("redisproc: Options.Dir is required")
	}
	bin := o.Binary
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("redis-server"); err != nil {
			return nil, ErrNotInstalled
		}
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 10 * time.Second
	}
	// Absolute, because the server runs in Dir and reads --dir from there.
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("redisproc: %w", err)
	}
	o.Dir = dir
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("redisproc: %w", err)
	}
	// A free port is found by binding and releasing it, so another process
	// may take it before redis-server binds it: then the server exits at once
	// and we try another port. A port the caller chose is tried once.
	tries := 3
	if o.Port != 0 {
		tries = 1
	}
	var lastErr error
	for range tries {
		s := &Server{bin: bin, opts: o, out: &tailBuffer{max: 8 << 10}}
		if s.opts.Port == 0 {
			if s.opts.Port, err = freePort(); err != nil {
				return nil, fmt.Errorf("redisproc: free port: %w", err)
			}
		}
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.opts.Port))
		s.URL = "redis://" + s.Addr
		if lastErr = s.launch(); lastErr == nil {
			return s, nil
		}
		if !errors.Is(lastErr, errExited) {
			break
		}
	}
	return nil, lastErr
}

var errExited = errors.New("redis-server exited")

func (s *Server) args() []string {
	o := s.opts
	args := []string{
		"--bind", "127.0.0.1", "--port", strconv.Itoa(o.Port), "--protected-mode", "yes",
		"--dir", o.Dir, "--daemonize", "no", "--logfile", "", "--save", "",
	}
	switch {
	case o.Persist && o.FsyncAlways:
		args = append(args, "--appendonly", "yes", "--appendfsync", "always")
	case o.Persist:
		// AOF rather than RDB snapshots: a crash loses at most a second of
		// writes, and a clean stop (SIGTERM) loses nothing.
		args = append(args, "--appendonly", "yes", "--appendfsync", "everysec")
	default:
		args = append(args, "--appendonly", "no")
	}
	return append(args, o.Args...)
}

// launch starts one run of the server on s.Addr and waits until it answers.
func (s *Server) launch() error {
	r := &run{done: make(chan struct{}), asked: make(chan struct{})}
	r.cmd = exec.Command(s.bin, s.args()...)
	r.cmd.Dir = s.opts.Dir
	r.cmd.Stdout, r.cmd.Stderr = s.out, s.out
	r.cmd.SysProcAttr = childAttrs()
	if err := r.cmd.Start(); err != nil {
		return fmt.Errorf("redisproc: start %s: %w", s.bin, err)
	}
	go func() {
		r.err = r.cmd.Wait()
		close(r.done)
	}()
	s.mu.Lock()
	s.cur = r
	s.mu.Unlock()

	rdb := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1, DialTimeout: time.Second})
	defer rdb.Close()
	deadline := time.Now().Add(s.opts.StartTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		info, err := rdb.Info(ctx, "server").Result()
		cancel()
		if err == nil {
			s.mu.Lock()
			s.Version = infoField(info, "redis_version")
			s.mu.Unlock()
			return nil
		}
		select {
		case <-r.done:
			return fmt.Errorf("redisproc: %w (%v) before answering on %s:\n%s", errExited, r.err, s.Addr, s.out.String())
		default:
		}
		if time.Now().After(deadline) {
			_ = s.Stop()
			return fmt.Errorf("redisproc: redis-server on %s did not answer within %s: %v\n%s", s.Addr, s.opts.StartTimeout, err, s.out.String())
		}
		// A server that is still loading its append-only file refuses
		// commands (LOADING): poll until it is ready.
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *Server) run() *run {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

// Pid is the process id of the server's current run.
func (s *Server) Pid() int { return s.run().cmd.Process.Pid }

// Done is closed when the server's current run has exited, whether Stop
// asked it to or not; Err then says why.
func (s *Server) Done() <-chan struct{} { return s.run().done }

// Err is nil while the server runs or after Stop or Kill; otherwise it
// describes an unexpected exit, with the server's last output.
func (s *Server) Err() error {
	r := s.run()
	select {
	case <-r.done:
	default:
		return nil
	}
	select {
	case <-r.asked:
		return nil
	default:
	}
	return fmt.Errorf("redisproc: redis-server on %s exited: %v\n%s", s.Addr, r.err, s.out.String())
}

// Output is the tail of what the server wrote, over all its runs.
func (s *Server) Output() string { return s.out.String() }

// Stop asks the server to shut down (SIGTERM: it flushes its append-only
// file), kills it after 10s, and waits for it to exit. It is idempotent.
func (s *Server) Stop() error {
	r := s.run()
	r.ask()
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
	}
	var exit *exec.ExitError
	if r.err != nil && !errors.As(r.err, &exit) {
		return fmt.Errorf("redisproc: stop: %w", r.err)
	}
	return nil
}

// Kill ends the server with SIGKILL (a crash: nothing is flushed) and
// waits for it to exit.
func (s *Server) Kill() {
	r := s.run()
	r.ask()
	_ = r.cmd.Process.Kill()
	<-r.done
}

// Restart kills the server if it still runs and starts it again with the
// same port, directory and options, then waits until it answers: with
// Persist it comes back with what it had written.
func (s *Server) Restart() error {
	s.Kill()
	_, _ = fmt.Fprintf(s.out, "---- redisproc: restart on %s ----\n", s.Addr)
	return s.launch()
}

func infoField(info, name string) string {
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return v
		}
	}
	return ""
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tailBuffer keeps the last max bytes written to it: enough of the server's
// log to say why it failed, bounded however long it runs.
type tailBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(p)
	if extra := t.buf.Len() - t.max; extra > 0 {
		t.buf.Next(extra)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(t.buf.String())
}
