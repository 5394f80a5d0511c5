// Command natsnode runs one nats-server with JetStream, built from the same
// server library the platform embeds, for tests that need NATS as a
// separate process: to kill it, restart it, or cluster three of them.
// It is test tooling, not something to deploy.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

func main() {
	name := flag.String("name", "n1", "server name (unique in the cluster)")
	listen := flag.String("listen", "127.0.0.1:4222", "client host:port")
	store := flag.String("store", "", "JetStream store directory (required)")
	cluster := flag.String("cluster", "", "cluster host:port; empty: standalone")
	routes := flag.String("routes", "", "comma-separated nats://host:port routes of every node")
	flag.Parse()
	if err := run(*name, *listen, *store, *cluster, *routes); err != nil {
		fmt.Fprintln(os.Stderr, "natsnode:", err)
		os.Exit(1)
	}
}

func run(name, listen, store, cluster, routes string) error {
	if store == "" {
		return fmt.Errorf("-store is required")
	}
	host, port, err := hostPort(listen)
	if err != nil {
		return fmt.Errorf("-listen: %w", err)
	}
	opts := &server.Options{
		ServerName: name, Host: host, Port: port,
		JetStream: true, StoreDir: store, NoSigs: true,
	}
	if cluster != "" {
		ch, cp, err := hostPort(cluster)
		if err != nil {
			return fmt.Errorf("-cluster: %w", err)
		}
		opts.Cluster = server.ClusterOpts{Name: "neru-test", Host: ch, Port: cp}
		for _, r := range strings.Split(routes, ",") {
			u, err := url.Parse(strings.TrimSpace(r))
			if err != nil {
				return fmt.Errorf("-routes: %w", err)
			}
			opts.Routes = append(opts.Routes, u)
		}
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return err
	}
	srv.ConfigureLogger()
	srv.Start()
	if !srv.ReadyForConnections(20 * time.Second) {
		return fmt.Errorf("not ready for connections after 20s")
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	<-sig
	srv.Shutdown()
	srv.WaitForShutdown()
	return nil
}

func hostPort(s string) (string, int, error) {
	h, p, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, err
	}
	n, err := strconv.Atoi(p)
	return h, n, err
}
