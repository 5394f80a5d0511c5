package proctest

import (
	"context"
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/neru-dev/neru/internal/redisproc"
)

// Redis is a redis-server child process (internal/redisproc) with its data
// in a directory of its own, so a Restart (or a Kill then Restart) comes
// back on the same port with what it had persisted.
type Redis struct {
	*redisproc.Server
	Dir string
}

// RedisOptions configures StartRedis.
type RedisOptions struct {
	// AOF turns on the append-only file with fsync every write, so a
	// kill -9 loses nothing acknowledged. Off: nothing is persisted.
	AOF bool
	// Args are further redis-server arguments, e.g. "--cluster-enabled", "yes".
	Args []string
}

// StartRedis starts redis-server on a free loopback port. redis-server must
// be on PATH (apt-get install redis-server): its absence fails the test.
// The server is killed when the test ends, and its output printed if the
// test failed.
func StartRedis(t testing.TB, o RedisOptions) *Redis {
	t.Helper()
	dir := t.TempDir()
	s, err := redisproc.Start(redisproc.Options{Dir: dir, Persist: o.AOF, FsyncAlways: o.AOF, Args: o.Args})
	if errors.Is(err, redisproc.ErrNotInstalled) {
		t.Fatalf("proctest: redis-server is not on PATH (apt-get install redis-server)")
	}
	if err != nil {
		t.Fatalf("proctest: %v", err)
	}
	t.Cleanup(func() {
		s.Kill()
		if t.Failed() {
			t.Logf("---- redis %s output (tail) ----\n%s", s.Addr, s.Output())
		}
	})
	return &Redis{Server: s, Dir: dir}
}

// Restart restarts the server on the same port and directory and waits
// until it answers.
func (r *Redis) Restart(t testing.TB) {
	t.Helper()
	if err := r.Server.Restart(); err != nil {
		t.Fatalf("proctest: restart redis: %v", err)
	}
}

// NATSNode is one nats-server (the embedded server library, run as a child
// process by natsnode) with JetStream file storage in its own directory.
type NATSNode struct {
	*Proc
	Name       string
	ClientURL  string
	ClusterURL string // empty for a standalone node
	Dir        string
}

// StartNATS starts a standalone JetStream node on a free port.
func StartNATS(t testing.TB) *NATSNode {
	t.Helper()
	return StartNATSCluster(t, 1)[0]
}

// StartNATSCluster starts n JetStream nodes routed into one cluster (n = 1:
// a standalone node) and waits until each accepts clients. The servers run
// the same nats-server library version as the platform embeds, not whatever
// nats-server a distribution packages.
func StartNATSCluster(t testing.TB, n int) []*NATSNode {
	t.Helper()
	bin := Binary(t, "github.com/neru-dev/neru/internal/proctest/natsnode")
	nodes := make([]*NATSNode, n)
	var routes []string
	for i := range nodes {
		nodes[i] = &NATSNode{Name: "n" + strconv.Itoa(i+1), Dir: t.TempDir()}
		nodes[i].ClientURL = "nats://" + Addr(FreePort(t))
		if n > 1 {
			nodes[i].ClusterURL = "nats://" + Addr(FreePort(t))
			routes = append(routes, nodes[i].ClusterURL)
		}
	}
	for _, nd := range nodes {
		args := []string{"-name", nd.Name, "-listen", strings.TrimPrefix(nd.ClientURL, "nats://"), "-store", nd.Dir}
		if n > 1 {
			args = append(args, "-cluster", strings.TrimPrefix(nd.ClusterURL, "nats://"), "-routes", strings.Join(routes, ","))
		}
		nd.Proc = Start(t, "nats-"+nd.Name, bin, nil, args...)
	}
	for _, nd := range nodes {
		WaitTCP(t, nd.Proc, strings.TrimPrefix(nd.ClientURL, "nats://"), 20*time.Second)
	}
	return nodes
}

// Restart restarts the node with the same name, ports and store.
func (n *NATSNode) Restart(t testing.TB) {
	t.Helper()
	n.Proc.Restart(t)
	WaitTCP(t, n.Proc, strings.TrimPrefix(n.ClientURL, "nats://"), 20*time.Second)
}

// URLs joins the nodes' client URLs the way NERU_NATS_URL takes several.
func URLs(nodes []*NATSNode) string {
	urls := make([]string, len(nodes))
	for i, n := range nodes {
		urls[i] = n.ClientURL
	}
	return strings.Join(urls, ",")
}

// RedisCluster is a Redis Cluster of redis-server child processes, masters
// only, its slots spread evenly by redis-cli.
type RedisCluster struct {
	Nodes []*Redis
	URL   string // redis+cluster://h1:p1,h2:p2,... as NERU_REDIS_URL takes it
}

// StartRedisCluster starts n (≥ 3) cluster-enabled redis-servers, joins them
// with `redis-cli --cluster create` and waits until the cluster reports ok.
// redis-cli must be on PATH (it ships with redis-server).
func StartRedisCluster(t testing.TB, n int, o RedisOptions) *RedisCluster {
	t.Helper()
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Fatalf("proctest: redis-cli is not on PATH (apt-get install redis-server)")
	}
	c := &RedisCluster{}
	addrs := make([]string, n)
	for i := range n {
		opts := o
		opts.Args = append([]string{"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "2000"}, o.Args...)
		r := StartRedis(t, opts)
		c.Nodes = append(c.Nodes, r)
		addrs[i] = r.Addr
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("proctest: redis-cli --cluster create: %v\n%s", err, out)
	}
	// Every node, not just the first: a node that has not yet heard of the
	// others' slots answers CLUSTERDOWN, and a client may ask it first.
	deadline := time.Now().Add(20 * time.Second)
	for _, addr := range addrs {
		for {
			out, _ := exec.Command(cli, "-h", "127.0.0.1", "-p", strings.TrimPrefix(addr, "127.0.0.1:"), "cluster", "info").Output()
			if strings.Contains(string(out), "cluster_state:ok") && strings.Contains(string(out), "cluster_slots_ok:16384") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("proctest: Redis Cluster node %s not ok after 20s:\n%s", addr, out)
			}
			time.Sleep(50 * time.Millisecond) // waiting for the cluster to converge
		}
	}
	// cluster_state:ok on every node still leaves a window in which a node
	// answers CLUSTERDOWN while gossip settles: write through a cluster
	// client until keys on many slots (so every master) are accepted.
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	defer rdb.Close()
	for i := 0; i < 64; {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		key := "proctest:probe:{" + strconv.Itoa(i) + "}"
		err := rdb.Set(ctx, key, "1", time.Minute).Err()
		if err == nil {
			err = rdb.Del(ctx, key).Err() // leave the cluster empty
		}
		cancel()
		if err == nil {
			i++
			continue
		}
		if time.Now().After(deadline) {
			t.Fatalf("proctest: Redis Cluster refuses writes after 20s: %v", err)
		}
		time.Sleep(50 * time.Millisecond) // waiting for the cluster to converge
	}
	c.URL = "redis+cluster://" + strings.Join(addrs, ",")
	return c
}
