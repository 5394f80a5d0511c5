package cluster_test

import (
	"strings"
	"testing"
	"time"

	"github.com/neru-dev/neru/internal/proctest"
)

// A gateway and a worker started before Redis and NATS wait for them, say
// what they wait for, and become ready once the servers come up.
func TestProcessesWaitForTheirServers(t *testing.T) {
	r := proctest.StartRedis(t, proctest.RedisOptions{})
	n := proctest.StartNATS(t)
	// Down, but their ports and directories are theirs: Restart brings
	// them back where the processes look for them.
	r.Kill()
	n.Kill()
	env := []string{"NERU_REDIS_URL=" + r.URL, "NERU_NATS_URL=" + n.ClientURL, "NERU_ADMIN_TOKEN=" + adminToken}
	g := startGateway(t, "gateway", env)
	w := startWorker(t, "worker", env)
	proctest.WaitLog(t, g.Proc, `"waiting for redis"`, 30*time.Second)
	proctest.WaitLog(t, w, `"waiting for redis"`, 30*time.Second)

	r.Restart(t)
	proctest.WaitLog(t, g.Proc, `"waiting for nats"`, 30*time.Second)
	proctest.WaitLog(t, w, `"waiting for nats"`, 30*time.Second)
	if exited, err := g.Exited(); exited {
		t.Fatalf("the gateway exited while NATS was down (%v)", err)
	}

	n.Restart(t)
	proctest.WaitHTTP(t, g.Proc, g.URL+"/readyz", 30*time.Second)
	proctest.WaitLog(t, w, `"worker running"`, 30*time.Second)
}

// NERU_PARTITIONS is recorded with the stream by the first process; one
// started with another number refuses to start and says both.
func TestAnotherPartitionCountIsRefused(t *testing.T) {
	r := proctest.StartRedis(t, proctest.RedisOptions{})
	n := proctest.StartNATS(t)
	env := []string{"NERU_REDIS_URL=" + r.URL, "NERU_NATS_URL=" + n.ClientURL, "NERU_ADMIN_TOKEN=" + adminToken}
	g := startGateway(t, "gateway", append(env, "NERU_PARTITIONS=16"))
	proctest.WaitHTTP(t, g.Proc, g.URL+"/readyz", 30*time.Second)

	w := startWorker(t, "worker", append(env, "NERU_PARTITIONS=8"))
	select {
	case <-w.Done():
	case <-time.After(30 * time.Second):
		t.Fatalf("a worker with 8 partitions on a 16-partition stream kept running:\n%s", w.Logs())
	}
	if _, err := w.Exited(); err == nil {
		t.Errorf("the worker exited with status 0")
	}
	for _, want := range []string{"NERU_PARTITIONS is 8", "created with 16 partitions"} {
		if !strings.Contains(w.Logs(), want) {
			t.Errorf("the worker's refusal does not say %q:\n%s", want, w.Logs())
		}
	}
	if exited, _ := g.Exited(); exited {
		t.Errorf("the gateway stopped")
	}
}
