package devenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/neru-dev/neru/internal/natsx"
	"github.com/neru-dev/neru/internal/redisproc"
)

// Options configures Start.
type Options struct {
	// DataDir keeps persistent state (jetstream/, redis/); required unless
	// Ephemeral.
	DataDir string
	// Ephemeral keeps everything in a temporary directory removed by Close.
	Ephemeral bool
	// NATSPort of the embedded server; 0 picks a free one.
	NATSPort int
	// NoRedis / NoNATS leave that server out (it is given from outside).
	NoRedis, NoNATS bool
	// InProcessRedis uses miniredis even when redis-server is installed.
	InProcessRedis bool
	// RedisServer is the redis-server binary; empty looks it up on PATH.
	RedisServer string
}

// Env is a running dev environment.
type Env struct {
	RedisURL string // empty with NoRedis
	NATSURL  string // empty with NoNATS
	// Redis describes the Redis that runs, for the banner.
	Redis string
	// StateDir holds the state of this run: DataDir, or the temporary
	// directory of an ephemeral run.
	StateDir string
	// Persistent: the state survives a restart.
	Persistent bool
	// Why is set when the state is ephemeral although persistence was asked
	// for.
	Why string

	child  *redisproc.Server
	inproc *inProcessRedis
	nats   *server.Server
	tmp    string
	closed sync.Once
	err    error
}

// Start runs the servers.
func Start(o Options) (e *Env, err error) {
	e = &Env{}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	// Decide persistence before anything writes: with only miniredis
	// available it cannot be had, and then JetStream must not persist
	// either.
	bin := o.RedisServer
	if !o.NoRedis && !o.InProcessRedis && bin == "" {
		if p, lookErr := exec.LookPath("redis-server"); lookErr == nil {
			bin = p
		}
	}
	inproc := !o.NoRedis && (o.InProcessRedis || bin == "")
	e.Persistent = !o.Ephemeral
	if e.Persistent && inproc {
		e.Persistent = false
		e.Why = "no redis-server on PATH, and the in-process Redis cannot persist"
		if o.InProcessRedis {
			e.Why = "the in-process Redis cannot persist"
		}
	}
	if e.Persistent {
		if o.DataDir == "" {
			return e, errors.New("devenv: Options.DataDir is required unless Ephemeral")
		}
		e.StateDir = o.DataDir
	} else {
		if e.tmp, err = os.MkdirTemp("", "neru-dev-"); err != nil {
			return e, fmt.Errorf("devenv: %w", err)
		}
		e.StateDir = e.tmp
	}
	if err := os.MkdirAll(e.StateDir, 0o700); err != nil {
		return e, fmt.Errorf("devenv: %w", err)
	}
	redisDir := filepath.Join(e.StateDir, "redis")
	jsDir := filepath.Join(e.StateDir, "jetstream")
	if e.Persistent && !o.NoRedis && !o.NoNATS {
		// JetStream files without Redis data are from a run whose Redis did
		// not persist (neru dev before this layout): their deliveries point
		// at listeners that are gone, so they go too.
		if _, statErr := os.Stat(redisDir); errors.Is(statErr, os.ErrNotExist) {
			if err := os.RemoveAll(jsDir); err != nil {
				return e, fmt.Errorf("devenv: clear %s: %w", jsDir, err)
			}
		}
	}

	if !o.NoNATS {
		if err := os.MkdirAll(jsDir, 0o700); err != nil {
			return e, fmt.Errorf("devenv: %w", err)
		}
		if e.nats, err = natsx.StartEmbedded(natsx.EmbeddedConfig{Port: o.NATSPort, StoreDir: jsDir}); err != nil {
			return e, err
		}
		e.NATSURL = e.nats.ClientURL()
	}
	switch {
	case o.NoRedis:
	case inproc:
		if e.inproc, err = startInProcessRedis(); err != nil {
			return e, fmt.Errorf("devenv: in-process redis: %w", err)
		}
		e.RedisURL = "redis://" + e.inproc.mr.Addr()
		e.Redis = "in-process Redis (miniredis) " + e.RedisURL
	default:
		if e.child, err = redisproc.Start(redisproc.Options{Binary: bin, Dir: redisDir, Persist: e.Persistent}); err != nil {
			return e, fmt.Errorf("devenv: %w", err)
		}
		e.RedisURL = e.child.URL
		e.Redis = fmt.Sprintf("redis-server %s (child process %d) %s", e.child.Version, e.child.Pid(), e.RedisURL)
	}
	return e, nil
}

// State is the banner's line on persistence.
func (e *Env) State() string {
	if e.Persistent {
		return "state persists in " + e.StateDir + string(filepath.Separator) + " (delete it to start fresh)"
	}
	if e.Why != "" {
		return "ephemeral: everything is lost on exit (" + e.Why + ")"
	}
	return "ephemeral: everything is lost on exit"
}

// RedisPid is the process id of the child redis-server, 0 if none runs.
func (e *Env) RedisPid() int {
	if e.child == nil {
		return 0
	}
	return e.child.Pid()
}

// RedisDone is closed if the child redis-server exits; RedisErr then says
// why. Nil (blocks forever) when no child runs.
func (e *Env) RedisDone() <-chan struct{} {
	if e.child == nil {
		return nil
	}
	return e.child.Done()
}

// RedisErr describes an unexpected exit of the child redis-server, with its
// last output; nil while it runs or after Close.
func (e *Env) RedisErr() error {
	if e.child == nil {
		return nil
	}
	return e.child.Err()
}

// Close stops the servers (NATS first, so nothing is published into a Redis
// that is going away) and removes an ephemeral run's files. It is
// idempotent.
func (e *Env) Close() error {
	e.closed.Do(func() { e.err = e.close() })
	return e.err
}

func (e *Env) close() error {
	var errs []error
	if e.nats != nil {
		e.nats.Shutdown()
		e.nats.WaitForShutdown()
	}
	if e.child != nil {
		errs = append(errs, e.child.Stop())
	}
	if e.inproc != nil {
		e.inproc.close()
	}
	if e.tmp != "" {
		errs = append(errs, os.RemoveAll(e.tmp))
	}
	return errors.Join(errs...)
}
