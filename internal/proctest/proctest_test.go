package proctest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// A Redis with AOF keeps an acknowledged write through kill -9.
func TestRedisSurvivesKill(t *testing.T) {
	r := StartRedis(t, RedisOptions{AOF: true})
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
	defer rdb.Close()
	if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	r.Kill()
	r.Restart(t)
	got, err := rdb.Get(ctx, "k").Result()
	if err != nil || got != "v" {
		t.Fatalf("after kill -9 and restart: GET k = %q, %v; want v", got, err)
	}
}

// Three nodes form a JetStream cluster; an R3 stream keeps taking writes
// with one node killed.
func TestNATSClusterSurvivesNodeLoss(t *testing.T) {
	nodes := StartNATSCluster(t, 3)
	nc, err := nats.Connect(URLs(nodes), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// The cluster needs a meta leader before it takes a stream: retry until then.
	for {
		actx, acancel := context.WithTimeout(ctx, 2*time.Second)
		_, err = js.CreateStream(actx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}, Replicas: 3, Storage: jetstream.FileStorage})
		acancel()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("create R3 stream: %v", err)
		}
		time.Sleep(100 * time.Millisecond) // waiting for leader election
	}
	if _, err := js.Publish(ctx, "t.1", []byte("a")); err != nil {
		t.Fatalf("publish with 3 nodes: %v", err)
	}
	nodes[0].Kill()
	for {
		actx, acancel := context.WithTimeout(ctx, 2*time.Second)
		_, err = js.Publish(actx, "t.2", []byte("b"))
		acancel()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("publish with 2 of 3 nodes: %v", err)
		}
		time.Sleep(100 * time.Millisecond) // waiting for a new stream leader
	}
	s, err := js.Stream(ctx, "T")
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 2 {
		t.Fatalf("stream holds %d messages; want 2", info.State.Msgs)
	}
}

// A three-master cluster takes keys on every node's slots.
func TestRedisCluster(t *testing.T) {
	c := StartRedisCluster(t, 3, RedisOptions{})
	addrs := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		addrs[i] = n.Addr
	}
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	defer rdb.Close()
	ctx := context.Background()
	for _, k := range []string{"{a}x", "{b}x", "{c}x", "{d}x", "{e}x"} {
		if err := rdb.Set(ctx, k, "v", 0).Err(); err != nil {
			t.Fatalf("SET %s: %v", k, err)
		}
	}
	n, err := rdb.DBSize(ctx).Result()
	if err != nil || n != 5 {
		t.Fatalf("DBSIZE over the cluster = %d, %v; want 5", n, err)
	}
}
