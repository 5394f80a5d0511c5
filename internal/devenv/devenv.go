// Package devenv runs what `neru dev` needs in-process: an embedded
// nats-server with JetStream and an in-memory Redis-protocol server
// (miniredis). Both are real servers on loopback ports, reached through the
// same clients as production. Nothing here is for production use.
package devenv

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/alicebob/miniredis/v2"
	"github.com/nats-io/nats-server/v2/server"

	"github.com/neru-dev/neru/internal/natsx"
)

// Env is a running dev environment.
type Env struct {
	RedisURL string
	NATSURL  string

	redis *miniredis.Miniredis
	nats  *server.Server
}

// Start runs the servers. JetStream keeps its files under dataDir/jetstream,
// which is emptied first: Redis is in memory, so events kept from an earlier
// run would point at listeners that no longer exist.
func Start(dataDir string, natsPort int) (*Env, error) {
	jsDir := filepath.Join(dataDir, "jetstream")
	if err := os.RemoveAll(jsDir); err != nil {
		return nil, fmt.Errorf("devenv: clear %s: %w", jsDir, err)
	}
	if err := os.MkdirAll(jsDir, 0o700); err != nil {
		return nil, fmt.Errorf("devenv: %w", err)
	}
	ns, err := natsx.StartEmbedded(natsx.EmbeddedConfig{Port: natsPort, StoreDir: jsDir})
	if err != nil {
		return nil, err
	}
	mr := miniredis.NewMiniRedis()
	mr.ClockTTL(true) // expire keys by the wall clock, as a real Redis does
	if err := mr.StartAddr("127.0.0.1:0"); err != nil {
		ns.Shutdown()
		return nil, fmt.Errorf("devenv: in-memory redis: %w", err)
	}
	return &Env{RedisURL: "redis://" + mr.Addr(), NATSURL: ns.ClientURL(), redis: mr, nats: ns}, nil
}

// Close stops both servers.
func (e *Env) Close() {
	e.redis.Close()
	e.nats.Shutdown()
	e.nats.WaitForShutdown()
}
