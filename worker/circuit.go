package worker

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/neru-dev/neru/delivery"
)

// circuit is one instance's delivery circuit in this worker. It opens after
// CircuitThreshold consecutive attempts that got no answer: the app is down,
// which is one state of the instance, not a separate failure per session.
// While it is open, lanes of the instance wait on it instead of retrying
// each on its own backoff, and one lane at a time is let through as a probe,
// at most CircuitProbe apart; the first answer closes it and releases every
// waiting lane at once, each retrying its own head, so sessions resume
// oldest first within about a probe gap of the app's return.
type circuit struct {
	instance  string
	threshold int
	probeMax  time.Duration

	mu        sync.Mutex
	failures  int // consecutive attempts without an answer
	open      bool
	openSince time.Time
	lastErr   string
	probing   bool          // a probe is in flight
	nextProbe time.Time     // no probe before this
	gap       time.Duration // current probe gap, doubling up to probeMax
	changed   chan struct{} // closed (and replaced) when a waiter may proceed
	flipped   chan struct{} // closed (and replaced) when the circuit opens or closes
}

// CircuitState is what an instance's circuit looks like from one worker.
type CircuitState struct {
	Instance  string    `json:"instance"`
	Worker    string    `json:"worker"`
	Open      bool      `json:"open"`
	OpenSince time.Time `json:"openSince,omitzero"`
	LastError string    `json:"lastError,omitempty"`
	// Failures is the count of consecutive attempts without an answer.
	Failures int `json:"failures"`
	// Updated is when the worker last published this state (Status only).
	Updated time.Time `json:"updated,omitzero"`
}

func newCircuit(instance string, threshold int, probeMax time.Duration) *circuit {
	return &circuit{instance: instance, threshold: threshold, probeMax: probeMax,
		changed: make(chan struct{}), flipped: make(chan struct{})}
}

// admit waits until the caller may send: at once while the circuit is
// closed; while it is open, until the caller is given the probe or the
// circuit closes. It reports whether the attempt is a probe, and false for
// ok if ctx ended or deadline passed first. keepAlive runs every 10 s of
// waiting (the lane tells JetStream its message is still being worked on).
func (c *circuit) admit(ctx context.Context, deadline time.Time, keepAlive func()) (probe, ok bool) {
	alive := time.NewTicker(10 * time.Second)
	defer alive.Stop()
	for {
		c.mu.Lock()
		if !c.open {
			c.mu.Unlock()
			return false, true
		}
		now := time.Now()
		if !c.probing && !now.Before(c.nextProbe) {
			c.probing = true
			c.mu.Unlock()
			return true, true
		}
		changed := c.changed
		wait := time.Until(deadline)
		if !c.probing {
			wait = min(wait, c.nextProbe.Sub(now))
		}
		c.mu.Unlock()
		if time.Until(deadline) <= 0 {
			return false, false
		}
		t := time.NewTimer(wait)
		select {
		case <-changed:
		case <-t.C:
		case <-alive.C:
			keepAlive()
		case <-ctx.Done():
			t.Stop()
			return false, false
		}
		t.Stop()
	}
}

// outcome classifies an attempt for the circuit.
type outcome int

const (
	answered    outcome = iota // the app answered, whatever it said
	notAnswered                // no connection, a timeout, a 502/503/504
	unknown                    // the request never left (the instance lookup failed)
)

// classify says what an attempt's error tells about the app.
func classify(err error) outcome {
	var perm *PermanentError
	switch {
	case err == nil, errors.As(err, &perm):
		return answered
	case errors.Is(err, errLookup), errors.Is(err, context.Canceled):
		return unknown
	case delivery.NotAnswering(err):
		return notAnswered
	}
	return answered
}

// report records an attempt's outcome: any answer from the app closes the
// circuit; enough attempts in a row without one open it.
func (c *circuit) report(probe bool, err error) (opened, closed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	wake := probe
	if probe {
		c.probing = false
	}
	switch classify(err) {
	case unknown:
	case answered:
		c.failures = 0
		if c.open {
			c.open, closed, wake = false, true, true
			c.flip()
		}
	case notAnswered:
		c.failures++
		c.lastErr = err.Error()
		now := time.Now()
		switch {
		case !c.open && c.failures >= c.threshold:
			c.open, opened = true, true
			c.flip()
			c.openSince, c.gap = now, min(100*time.Millisecond, c.probeMax)
			c.nextProbe = now.Add(c.gap)
		case c.open && probe:
			c.gap = min(c.gap*2, c.probeMax)
			c.nextProbe = now.Add(c.gap)
		}
	}
	if wake {
		close(c.changed)
		c.changed = make(chan struct{})
	}
	return opened, closed
}

func (c *circuit) flip() {
	close(c.flipped)
	c.flipped = make(chan struct{})
}

// flips is closed the next time the circuit opens or closes. A lane waiting
// out its own retry delay gives it up then: when the circuit opens, to wait
// on the circuit with the instance's other lanes (one of them probes); when
// it closes, to retry at once rather than a full delay after the app is back.
func (c *circuit) flips() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.flipped
}

func (c *circuit) isOpen() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.open
}

func (c *circuit) state(worker string) CircuitState {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := CircuitState{Instance: c.instance, Worker: worker, Open: c.open, Failures: c.failures, LastError: c.lastErr}
	if c.open {
		s.OpenSince = c.openSince
	}
	return s
}

// circuits holds one circuit per instance this worker has delivered to.
type circuits struct {
	threshold int
	probeMax  time.Duration
	mu        sync.Mutex
	m         map[string]*circuit
}

func (cs *circuits) get(instance string) *circuit {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c := cs.m[instance]
	if c == nil {
		c = newCircuit(instance, cs.threshold, cs.probeMax)
		cs.m[instance] = c
	}
	return c
}

// Circuits returns the state of every instance circuit this worker has,
// sorted by instance: the hook for metrics and the console. The admin API,
// which runs in other processes, reads what workers publish to Redis
// (Status.Circuits).
func (w *Worker) Circuits() []CircuitState {
	w.circuits.mu.Lock()
	list := make([]*circuit, 0, len(w.circuits.m))
	for _, c := range w.circuits.m {
		list = append(list, c)
	}
	w.circuits.mu.Unlock()
	out := make([]CircuitState, 0, len(list))
	for _, c := range list {
		out = append(out, c.state(w.cfg.ID))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Instance < out[j].Instance })
	return out
}

// circuitTTL is how long a published open circuit stays visible without a
// refresh: a worker that died leaves no open circuit behind for longer.
const circuitTTL = 10 * time.Second

func (w *Worker) circuitKey(instance string) string { return w.ks + "w:circuit:{" + instance + "}" }

// publishCircuits writes this worker's open circuits to Redis every
// interval, and removes those that closed, until ctx ends. Best effort:
// Redis being down (possibly the outage itself) costs only visibility.
func (w *Worker) publishCircuits(ctx context.Context, interval time.Duration) {
	published := map[string]bool{}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for _, s := range w.Circuits() {
			key := w.circuitKey(s.Instance)
			cctx, cancel := context.WithTimeout(ctx, time.Second)
			var err error
			switch {
			case s.Open:
				s.Updated = time.Now().UTC()
				raw, _ := json.Marshal(s)
				pipe := w.rdb.TxPipeline()
				pipe.HSet(cctx, key, w.cfg.ID, raw)
				pipe.Expire(cctx, key, circuitTTL)
				_, err = pipe.Exec(cctx)
				if err == nil {
					published[s.Instance] = true
				}
			case published[s.Instance]:
				if err = w.rdb.HDel(cctx, key, w.cfg.ID).Err(); err == nil {
					delete(published, s.Instance)
				}
			}
			cancel()
			if err != nil && ctx.Err() == nil {
				w.log.Debug("cannot publish circuit state", "key", key, "err", err)
			}
		}
	}
}
