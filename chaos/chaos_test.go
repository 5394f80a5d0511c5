package chaos_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

const (
	sessions   = 100
	perSession = 20
	total      = sessions * perSession
	// appDown is how long the outage scenario keeps the app away: a deploy
	// or a restart, as measured in issue 12.
	appDown = 60 * time.Second
)

// scenario is one thing broken while the webhooks flow.
type scenario struct {
	name     string
	failRate float64 // the app's random 500s
	// at is the share of acknowledged webhooks at which fault runs.
	at    float64
	fault func(t *testing.T, r *rig, a *app)
	// outage: the DLQ must stay empty (nothing is permanent about an app
	// that is down or failing now and then).
	outage bool
}

func TestChaos(t *testing.T) {
	for _, sc := range []scenario{
		{name: "kill -9 of the platform", at: 1.0 / 3, fault: func(t *testing.T, r *rig, _ *app) {
			r.plat.Kill()
			r.plat.Restart(t)
			r.waitReady(t)
		}},
		{name: "NATS restart", at: 1.0 / 3, fault: func(t *testing.T, r *rig, _ *app) {
			r.nats.Kill()
			r.nats.Restart(t)
		}},
		{name: "Redis restart", at: 1.0 / 3, fault: func(t *testing.T, r *rig, _ *app) {
			r.redis.Kill()
			r.redis.Restart(t)
		}},
		{name: "app down 60s with 5% 500s", failRate: 0.05, at: 1.0 / 4, outage: true, fault: func(t *testing.T, _ *rig, a *app) {
			a.down()
			// The outage is the scenario, not a wait: the app comes back
			// on a timer while the test goes on polling.
			time.AfterFunc(appDown, func() {
				if err := a.up(); err != nil {
					t.Errorf("the app cannot come back: %v", err)
				}
			})
		}},
	} {
		t.Run(sc.name, func(t *testing.T) { runScenario(t, sc) })
	}
}

// runScenario posts total webhooks over sessions sessions, runs the fault
// once sc.at of them are acknowledged, and checks what the app saw.
func runScenario(t *testing.T, sc scenario) {
	a := newApp(t, sc.failRate)
	r := startRig(t, a.URL())
	registerSessions(t, r.createInstance(t, a.URL()), sessions)
	p := newProvider(r)

	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, sessions)
	start := time.Now()
	for i := range sessions {
		wg.Go(func() {
			for seq := range perSession {
				if err := p.post(ctx, inboundSMS(sender(i), seq, uuid.NewString())); err != nil {
					errs <- fmt.Errorf("session %d seq %d: %w", i, seq, err)
					return
				}
			}
		})
	}
	for p.acked.Load() < int64(sc.at*total) {
		if ctx.Err() != nil {
			t.Fatalf("%.0f%% of the webhooks not acknowledged: %v (acked %d)", 100*sc.at, ctx.Err(), p.acked.Load())
		}
		time.Sleep(5 * time.Millisecond) // polling the counter the posters move
	}
	atFault, deliveredAtFault := p.acked.Load(), a.delivered.Load()
	faultStart := time.Now()
	sc.fault(t, r, a)
	t.Logf("%s at %d acknowledged, %d delivered; back after %s", sc.name, atFault, deliveredAtFault,
		time.Since(faultStart).Round(time.Millisecond))

	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	posted := time.Since(start)
	// Generous: the outage alone is a minute, and the backlog drains after.
	deadline := time.Now().Add(appDown + 90*time.Second)
	for a.delivered.Load() < total && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // polling the app's counter
	}
	drained := time.Since(start)

	requests, failed, maxAttempt := a.stats()
	a.mu.Lock()
	defer a.mu.Unlock()
	if got := a.delivered.Load(); got != total {
		t.Errorf("lost: %d of %d acknowledged webhooks answered 2xx by the app", total-got, total)
	}
	if len(a.violations) > 0 {
		t.Errorf("%d order violations, e.g. %v", len(a.violations), a.violations[:min(5, len(a.violations))])
	}
	if len(a.mismatches) > 0 {
		t.Errorf("%d header mismatches, e.g. %v", len(a.mismatches), a.mismatches[:min(5, len(a.mismatches))])
	}
	// The bound: a session's lane has one delivery in flight at a time, so
	// one fault can leave at most one 2xx per session unacknowledged (the
	// app answered, the ack did not reach JetStream): a repeat beyond that
	// is an event delivered again although its ack was confirmed.
	if a.duplicates > sessions {
		t.Errorf("%d duplicates; at most %d (one per session) were in flight", a.duplicates, sessions)
	}
	if sc.outage {
		if n := r.deadLetters(t); n != 0 {
			t.Errorf("%d deliveries in the DLQ after an app outage; want none", n)
		}
	}
	t.Logf("%d webhooks over %d sessions acknowledged in %s (%d provider retries), all delivered after %s; "+
		"%d requests to the app (%d answered 500 on purpose), highest x-neru-attempt %d; %d duplicates",
		total, sessions, posted.Round(time.Millisecond), p.retries.Load(), drained.Round(time.Millisecond),
		requests, failed, maxAttempt, a.duplicates)
}
