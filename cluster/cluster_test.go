package cluster_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/neru-dev/neru/internal/proctest"
)

// The whole platform, clustered, under a retrying provider: 5,000 webhooks
// over 100 sessions while a worker, the NERU_EVENTS leader's NATS node and a
// gateway are killed with kill -9, one after the other. Every webhook a
// gateway acknowledged reaches the app with a 2xx, each session in order;
// repeats stay within what was in flight.
func TestClusterSurvivesNodeLoss(t *testing.T) {
	const sessions, perSession = 100, 50
	const total = sessions * perSession
	s := servers{nats: proctest.StartNATSCluster(t, 3), redis: proctest.StartRedisCluster(t, 3, proctest.RedisOptions{})}
	a := newApp(t)
	env := s.env()
	// Started at once, as an operator would: the cluster is still electing
	// its leaders while the processes come up, and they must wait for it.
	gws := []*gateway{startGateway(t, "gateway-1", env), startGateway(t, "gateway-2", env)}
	workers := []*proctest.Proc{startWorker(t, "worker-1", env), startWorker(t, "worker-2", env)}
	for _, g := range gws {
		proctest.WaitHTTP(t, g.Proc, g.URL+"/readyz", 90*time.Second)
	}
	for _, w := range workers {
		proctest.WaitLog(t, w, `"worker running"`, 90*time.Second)
	}
	c := createInstance(t, gws[0], a.srv.URL)
	ids := proctest.RegisterSessions(t, c, sessions, ourNumber)
	p := newProvider(gws...)

	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, sessions)
	start := time.Now()
	for i := range sessions {
		wg.Go(func() {
			for seq := range perSession {
				if err := p.Post(ctx, i+seq, fmt.Sprintf("%d/%d", i, seq), inboundSMS(proctest.Customer(i), seq, uuid.NewString())); err != nil {
					errs <- fmt.Errorf("session %d seq %d: %w", i, seq, err)
					return
				}
			}
		})
	}

	// until polls cond while the posts run; the test fails if they end first.
	until := func(what string, cond func() bool) {
		t.Helper()
		for !cond() {
			if ctx.Err() != nil {
				t.Fatalf("%s: %v (acked %d, delivered %d)", what, ctx.Err(), p.Acked.Load(), a.delivered.Load())
			}
			time.Sleep(5 * time.Millisecond) // polling counters the posters move
		}
	}
	acked := func(n int64) func() bool { return func() bool { return p.Acked.Load() >= n } }

	// The kills come at fixed shares of the acknowledged webhooks, each
	// while posts are still coming.
	until("first deliveries", func() bool { return a.delivered.Load() > 0 })
	firstDelivery := time.Now()
	until("a fifth acknowledged", acked(total/5))
	workers[0].Kill()
	// The provider outruns the workers on this machine, so until now both
	// were busy: this is their throughput.
	twoWorkers := float64(a.delivered.Load()) / time.Since(firstDelivery).Seconds()
	t.Logf("kill -9 worker-1 at %d acked, %d delivered", p.Acked.Load(), a.delivered.Load())

	until("two fifths acknowledged", acked(2*total/5))
	leader := eventsLeader(t, s)
	leader.Kill()
	t.Logf("kill -9 NATS node %s (leader of NERU_EVENTS) at %d acked, %d delivered", leader.Name, p.Acked.Load(), a.delivered.Load())

	until("three fifths acknowledged", acked(3*total/5))
	gws[0].Kill()
	t.Logf("kill -9 gateway-1 at %d acked, %d delivered", p.Acked.Load(), a.delivered.Load())

	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	posted := time.Since(start)
	// What is left is a backlog that the one remaining worker drains: its
	// throughput.
	backlog, drainStart := total-a.delivered.Load(), time.Now()
	deadline := time.Now().Add(90 * time.Second)
	for a.delivered.Load() < total && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // polling the app's counter
	}
	oneWorker := float64(backlog) / time.Since(drainStart).Seconds()
	if a.delivered.Load() != total {
		diagnose(t, s, a, p, ids, perSession)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if got := a.delivered.Load(); got != total {
		t.Errorf("%d of %d acknowledged webhooks delivered", got, total)
	}
	if len(a.violations) > 0 {
		t.Errorf("%d order violations, e.g. %v", len(a.violations), a.violations[:min(5, len(a.violations))])
	}
	// A repeat is a delivery whose ack the kill lost: at most one in flight
	// per session for each kill that can lose acks (the worker, the NATS
	// node).
	if a.duplicates > 2*sessions {
		t.Errorf("%d duplicate deliveries; at most %d were in flight", a.duplicates, 2*sessions)
	}
	t.Logf("%d webhooks over %d sessions acknowledged in %s (%d provider retries); %d duplicates delivered",
		total, sessions, posted.Round(time.Millisecond), p.Retries.Load(), a.duplicates)
	t.Logf("throughput, delivered/s on 2 shared cores with everything co-located: 2 workers %.0f (until the kill), "+
		"1 worker %.0f (draining a backlog of %d)", twoWorkers, oneWorker, backlog)
}

// eventsLeader is the NATS node leading NERU_EVENTS.
func eventsLeader(t *testing.T, s servers) *proctest.NATSNode {
	t.Helper()
	nc, err := nats.Connect(proctest.URLs(s.nats))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, "NERU_EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	info := st.CachedInfo()
	if info.Config.Replicas != len(s.nats) {
		t.Fatalf("NERU_EVENTS has %d replicas, want %d", info.Config.Replicas, len(s.nats))
	}
	for _, n := range s.nats {
		if info.Cluster != nil && n.Name == info.Cluster.Leader {
			return n
		}
	}
	t.Fatalf("no node leads NERU_EVENTS: %+v", info.Cluster)
	return nil
}
