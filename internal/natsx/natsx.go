// Package natsx holds the NATS plumbing: the one way the platform connects
// (Connect: several servers, never giving up) and the embedded nats-server of
// dev mode and tests. There is one JetStream code path; "embedded" only
// changes where the server runs.
package natsx

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Connect opens the platform's NATS connection. urls is NERU_NATS_URL: one
// server or several, comma-separated (any node of a cluster will do; the
// client learns the others from it). The connection never gives up: a
// server that is not up yet is retried in the background, as is one that
// goes away later, so a process can start before NATS does. WaitConnected
// tells when it is up.
// opts add to (or override) these, e.g. a drain timeout.
func Connect(urls, name string, opts ...nats.Option) (*nats.Conn, error) {
	var list []string
	for _, u := range strings.Split(urls, ",") {
		if u = strings.TrimSpace(u); u != "" {
			list = append(list, u)
		}
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("natsx: no NATS server URL")
	}
	nc, err := nats.Connect(strings.Join(list, ","), append([]nats.Option{nats.Name(name),
		nats.RetryOnFailedConnect(true), nats.MaxReconnects(-1),
		// 250 ms, not the default 2 s: after a node dies, the client moves
		// to another within a fraction of a webhook's retry interval.
		nats.ReconnectWait(250 * time.Millisecond), nats.ReconnectJitter(100*time.Millisecond, time.Second)}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("natsx: connect to %s: %w", strings.Join(list, ","), err)
	}
	return nc, nil
}

// ErrNotConnected is WaitConnected's answer while the connection is down.
var ErrNotConnected = errors.New("natsx: not connected to any NATS server")

// WaitConnected returns nil once nc is connected, ErrNotConnected if it is
// not by the time ctx ends (or a second passes, whichever is first): one try
// of readiness.Wait.
func WaitConnected(ctx context.Context, nc *nats.Conn) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !nc.IsConnected() {
		select {
		case <-ctx.Done():
			if le := nc.LastError(); le != nil {
				return fmt.Errorf("%w: %w", ErrNotConnected, le)
			}
			return ErrNotConnected
		case <-tick.C: // the client reconnects on its own; watch it
		}
	}
	return nil
}

// EmbeddedConfig configures an in-process nats-server.
type EmbeddedConfig struct {
	Host     string // default 127.0.0.1
	Port     int    // 0 picks a free port
	StoreDir string // JetStream file storage; required
}

// StartEmbedded runs a nats-server with JetStream inside this process and waits
// until it accepts connections.
func StartEmbedded(cfg EmbeddedConfig) (*server.Server, error) {
	if cfg.StoreDir == "" {
		return nil, fmt.Errorf("natsx: embedded server needs a StoreDir")
	}
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	port := cfg.Port
	if port == 0 {
		port = server.RANDOM_PORT
	}
	srv, err := server.NewServer(&server.Options{
		Host:      cfg.Host,
		Port:      port,
		JetStream: true,
		StoreDir:  cfg.StoreDir,
		NoSigs:    true,
		NoLog:     true,
	})
	if err != nil {
		return nil, fmt.Errorf("natsx: new server: %w", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("natsx: embedded nats-server not ready after 10s")
	}
	return srv, nil
}
