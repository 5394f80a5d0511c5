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
	// Persist keeps the data across restarts in an append-only file in Dir,
	// fsynced every second and on shutdown. Without it nothing is written.
	Persist bool
	// StartTimeout bounds the wait for the first PING; default 10s.
	StartTimeout time.Duration
}

// Server is a running child redis-server.
type Server struct {
	URL     string // redis://127.0.0.1:<port>
	Addr    string
	Version string // redis_version from INFO

	cmd  *exec.Cmd
	out  *tailBuffer
	done chan struct{} // closed when the process has exited
	err  error         // its exit status; read after done
	stop sync.Once
	// stopping is set by Stop, so that an exit it caused is not reported
	// as a crash by Done.
	stopping chan struct{}
}

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
	// The free port is found by binding and releasing it, so another process
	// may take it before redis-server binds it: then the server exits at once
	// and we try another port.
	var lastErr error
	for range 3 {
		s, err := start(bin, o)
		if err == nil {
			return s, nil
		}
		lastErr = err
		if !errors.Is(err, errExited) {
			break
		}
	}
	return nil, lastErr
}

var errExited = errors.New("redis-server exited")

func start(bin string, o Options) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("redisproc: free port: %w", err)
	}
	args := []string{
		"--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--protected-mode", "yes",
		"--dir", o.Dir, "--daemonize", "no", "--logfile", "", "--save", "",
	}
	if o.Persist {
		// AOF rather than RDB snapshots: a crash loses at most a second of
		// writes, and a clean stop (SIGTERM) loses nothing.
		args = append(args, "--appendonly", "yes", "--appendfsync", "everysec")
	} else {
		args = append(args, "--appendonly", "no")
	}
	s := &Server{
		Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		out:  &tailBuffer{max: 8 << 10}, done: make(chan struct{}), stopping: make(chan struct{}),
	}
	s.URL = "redis://" + s.Addr
	s.cmd = exec.Command(bin, args...)
	s.cmd.Dir = o.Dir
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	s.cmd.SysProcAttr = childAttrs()
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("redisproc: start %s: %w", bin, err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.done)
	}()

	rdb := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1, DialTimeout: time.Second})
	defer rdb.Close()
	deadline := time.Now().Add(o.StartTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		info, err := rdb.Info(ctx, "server").Result()
		cancel()
		if err == nil {
			s.Version = infoField(info, "redis_version")
			return s, nil
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("redisproc: %w (%v) before answering on %s:\n%s", errExited, s.err, s.Addr, s.out.String())
		default:
		}
		if time.Now().After(deadline) {
			_ = s.Stop()
			return nil, fmt.Errorf("redisproc: redis-server on %s did not answer within %s: %v\n%s", s.Addr, o.StartTimeout, err, s.out.String())
		}
		// A server that is still loading its append-only file refuses
		// commands (LOADING): poll until it is ready.
		time.Sleep(20 * time.Millisecond)
	}
}

// Pid is the process id of the server.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Done is closed when the server has exited, whether Stop asked it to or
// not; Err then says why.
func (s *Server) Done() <-chan struct{} { return s.done }

// Err is nil while the server runs or after Stop; otherwise it describes an
// unexpected exit, with the server's last output.
func (s *Server) Err() error {
	select {
	case <-s.done:
	default:
		return nil
	}
	select {
	case <-s.stopping:
		return nil
	default:
	}
	return fmt.Errorf("redisproc: redis-server on %s exited: %v\n%s", s.Addr, s.err, s.out.String())
}

// Stop asks the server to shut down (SIGTERM: it flushes its append-only
// file), kills it after 10s, and waits for it to exit. It is idempotent.
func (s *Server) Stop() error {
	s.stop.Do(func() {
		close(s.stopping)
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	})
	var exit *exec.ExitError
	if s.err != nil && !errors.As(s.err, &exit) {
		return fmt.Errorf("redisproc: stop: %w", s.err)
	}
	return nil
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
