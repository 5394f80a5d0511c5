package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/neru-dev/neru/delivery"
	"github.com/neru-dev/neru/internal/observe"
	"github.com/neru-dev/neru/internal/telemetry"
	"github.com/neru-dev/neru/session"
)

// partition consumes one partition and runs its session lanes.
type partition struct {
	n   int
	w   *Worker
	log *slog.Logger
	// stopCtx ends fetching and new attempts; abortCtx also cancels the
	// requests in flight. A graceful stop cancels abortCtx only after the
	// drain time, fencing cancels both at once.
	stopCtx  context.Context
	stop     context.CancelFunc
	abortCtx context.Context
	abort    context.CancelFunc
	done     chan struct{} // closed when every lane has returned

	mu    sync.Mutex
	lanes map[string]*lane // per session (laneKey)
	held  map[uint64]bool  // stream sequences we hold, to drop redeliveries
	holds map[string]*Hold // held sessions (onDead hold), by laneKey
	tries map[uint64]int   // failed attempts recorded by earlier owners, by stream sequence
	// consumed is the consumer sequence of the last message enqueue saw:
	// JetStream numbers every delivery, so a jump means a delivery was lost
	// on its way here (see enqueue).
	consumed uint64
	wg       sync.WaitGroup
}

// lane is a session's queue; its head is in flight.
type lane struct {
	q    []*pending
	wake chan struct{} // signalled by enqueue; a held lane waits on it
}

// pending is a message as enqueue decoded it, so a lane never decodes the
// headers or the ack metadata again.
type pending struct {
	msg         jetstream.Msg
	d           *delivery.Delivery
	meta        *jetstream.MsgMetadata
	attempt     int  // the number of its next attempt
	triesStored bool // a failed attempt count is in Redis (triesKey)
}

func consumerName(n int) string { return "part-" + strconv.Itoa(n) }

// loadPartitionState reads partition n's held sessions and recorded attempt
// counts. It must succeed before the partition starts: a hold not known
// would let the session's later events past its dead head.
func (w *Worker) loadPartitionState(ctx context.Context, n int) (map[string]*Hold, map[uint64]int, error) {
	var hc, tc *redis.MapStringStringCmd
	if _, err := w.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		hc = p.HGetAll(ctx, holdKey(w.ks, n))
		tc = p.HGetAll(ctx, w.triesKey(n))
		return nil
	}); err != nil {
		return nil, nil, fmt.Errorf("worker: partition %d state: %w", n, err)
	}
	holds := map[string]*Hold{}
	for k, raw := range hc.Val() {
		h := new(Hold)
		if json.Unmarshal([]byte(raw), h) == nil {
			holds[k] = h
		}
	}
	tries := map[uint64]int{}
	for k, v := range tc.Val() {
		seq, err1 := strconv.ParseUint(k, 10, 64)
		n, err2 := strconv.Atoi(v)
		if err1 == nil && err2 == nil {
			tries[seq] = n
		}
	}
	return holds, tries, nil
}

// startPartition recreates the partition's consumer, so that everything a
// previous owner left unacknowledged is redelivered from the oldest on, and
// starts consuming.
func (w *Worker) startPartition(ctx context.Context, n int) (*partition, error) {
	name := consumerName(n)
	if err := w.js.DeleteConsumer(ctx, delivery.EventsStream, name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil, fmt.Errorf("worker: reset consumer %s: %w", name, err)
	}
	cons, err := w.js.CreateOrUpdateConsumer(ctx, delivery.EventsStream, jetstream.ConsumerConfig{
		Durable:       name,
		FilterSubject: delivery.PartitionFilter(n),
		AckPolicy:     jetstream.AckExplicitPolicy,
		// Long: a lane keeps its head alive with InProgress, and a takeover
		// recreates the consumer, which redelivers at once; AckWait only
		// matters for an ack lost on the wire.
		AckWait:       5 * time.Minute,
		MaxAckPending: w.cfg.MaxPending,
		MaxDeliver:    -1, // retries are counted by the lane, not the server
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("worker: create consumer %s: %w", name, err)
	}
	holds, tries, err := w.loadPartitionState(ctx, n)
	if err != nil {
		return nil, err
	}
	p := &partition{
		n: n, w: w, log: w.log.With("partition", n), done: make(chan struct{}),
		lanes: map[string]*lane{}, held: map[uint64]bool{}, holds: holds, tries: tries,
	}
	p.abortCtx, p.abort = context.WithCancel(context.Background())
	p.stopCtx, p.stop = context.WithCancel(p.abortCtx)
	cc, err := cons.Consume(p.enqueue, jetstream.PullMaxMessages(min(w.cfg.MaxPending, 512)))
	if err != nil {
		p.abort()
		return nil, fmt.Errorf("worker: consume %s: %w", name, err)
	}
	go func() {
		<-p.stopCtx.Done()
		cc.Stop()
		// enqueue starts lanes (wg.Add) under p.mu and only while not
		// stopping. Passing through p.mu once after the stop makes every
		// lane that will ever start visible to Wait; without it a lane
		// started by an enqueue racing the stop could outlive Wait, so the
		// partition would count as finished, its lease would pass to another
		// worker, and two workers would deliver the same session at once.
		p.mu.Lock()
		p.mu.Unlock() //nolint:staticcheck // an empty critical section is the point
		p.wg.Wait()
		p.abort()
		close(p.done)
	}()
	return p, nil
}

func (p *partition) draining() bool { return p.stopCtx.Err() != nil }

func (p *partition) finished() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// shutdown stops the partition: no new attempts; requests in flight get
// grace to finish (0: cancel them now). It returns when every lane is done.
func (p *partition) shutdown(grace time.Duration) {
	p.stop()
	if grace <= 0 {
		p.abort()
	}
	select {
	case <-p.done:
	case <-time.After(grace):
		p.abort()
		<-p.done
	}
}

// laneKey names a session's lane: session ids are unique per instance only
// (the global session is the same in every instance).
func laneKey(d *delivery.Delivery) string { return holdField(d.InstanceID, d.SessionID) }

// enqueue appends a message to its session's lane, starting the lane if it
// was idle. It never blocks: the consumer's MaxAckPending bounds the queue.
func (p *partition) enqueue(msg jetstream.Msg) {
	meta, err := msg.Metadata()
	if err != nil {
		p.term(msg, "no metadata", err)
		return
	}
	d, derr := delivery.FromMsg(msg.Headers(), msg.Data())
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopCtx.Err() != nil {
		return // stopping: the message stays unacked for the next owner
	}
	// A delivery lost on its way (the consumer's leader died with it in
	// flight, a reconnect dropped it) counts as delivered on the server,
	// which sends it again only after AckWait (minutes): meanwhile the
	// session's later events would overtake it. Its consumer sequence is
	// missing from what arrives. Stop at the first message past the gap,
	// before it is enqueued; the partition starts again (the next
	// rebalance) with a new consumer, which redelivers everything unacked,
	// the lost one first. A sequence going back (a new leader redelivering)
	// is no gap.
	if cs := meta.Sequence.Consumer; cs > p.consumed+1 {
		p.log.Warn("deliveries lost on the way from JetStream; restarting the partition so they come first",
			"expected", p.consumed+1, "got", cs, "seq", meta.Sequence.Stream)
		p.w.metrics.gaps.Add(1)
		p.stop()
		return
	}
	p.consumed = meta.Sequence.Consumer
	if derr != nil {
		p.term(msg, "undecodable", derr, "seq", meta.Sequence.Stream) // Term only publishes: no wait under p.mu
		return
	}
	if p.held[meta.Sequence.Stream] {
		return // an ack-wait redelivery of a message a lane already holds
	}
	p.held[meta.Sequence.Stream] = true
	m := &pending{msg: msg, d: d, meta: meta, attempt: max(int(meta.NumDelivered), 1)}
	// A previous owner's (or run's) attempts count: the app and the retry
	// schedule see the real number after a restart or a takeover, which
	// recreates the consumer and so restarts NumDelivered at 1.
	if n := p.tries[meta.Sequence.Stream]; n > 0 {
		m.attempt, m.triesStored = max(m.attempt, n+1), true
	}
	key := laneKey(d)
	l := p.lanes[key]
	if l != nil {
		l.q = append(l.q, m)
		select {
		case l.wake <- struct{}{}:
		default:
		}
		return
	}
	p.lanes[key] = &lane{q: []*pending{m}, wake: make(chan struct{}, 1)}
	p.wg.Add(1)
	p.w.lanes.Add(1)
	go p.runLane(key)
}

// term drops a message that can never be delivered. A Term that fails is
// logged: the message comes back after AckWait and is dropped then.
func (p *partition) term(msg jetstream.Msg, why string, err error, attrs ...any) {
	p.log.Error("dropping "+why+" message", append(attrs, "err", err)...)
	if err := msg.Term(); err != nil {
		p.log.Warn("cannot drop message; it is redelivered after the ack wait", append(attrs, "err", err)...)
	}
}

// runLane delivers a session's messages one at a time, in order. A held
// session (onDead hold) delivers nothing until its dead delivery comes back
// (a replay, which then goes first) or the hold is released.
func (p *partition) runLane(key string) {
	defer p.wg.Done()
	defer p.w.lanes.Add(-1)
	for {
		p.mu.Lock()
		l := p.lanes[key]
		if len(l.q) == 0 || p.stopCtx.Err() != nil {
			delete(p.lanes, key)
			p.mu.Unlock()
			return
		}
		h := p.holds[key]
		if h != nil {
			i := slices.IndexFunc(l.q, func(m *pending) bool { return m.d.ID == h.DeliveryID })
			if i < 0 {
				p.mu.Unlock()
				if !p.waitHeld(key, l, h) {
					p.mu.Lock()
					delete(p.lanes, key)
					p.mu.Unlock()
					return
				}
				continue
			}
			// The replay of the dead head: it goes before everything that
			// waited behind it.
			m := l.q[i]
			copy(l.q[1:i+1], l.q[:i])
			l.q[0] = m
		}
		head := l.q[0]
		p.mu.Unlock()

		settled := p.deliver(head)

		p.mu.Lock()
		delete(p.held, head.meta.Sequence.Stream)
		if !settled {
			// Stopped mid-retry (deliver gives up only then): leave the
			// whole lane unacked, in order, for whoever owns the partition
			// next.
			delete(p.lanes, key)
			p.mu.Unlock()
			return
		}
		l.q = l.q[1:]
		released := h != nil && p.holds[key] == h // not held again by a second death
		p.mu.Unlock()
		if released && !p.release(key, h) {
			p.mu.Lock()
			delete(p.lanes, key)
			p.mu.Unlock()
			return
		}
	}
}

// waitHeld waits while the lane's session is held: until a message arrives
// (it may be the replay), the hold is gone from Redis (discarded), or the
// partition stops, which it reports as false.
func (p *partition) waitHeld(key string, l *lane, h *Hold) bool {
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case <-l.wake:
		return true
	case <-p.stopCtx.Done():
		return false
	case <-t.C:
	}
	ctx, cancel := context.WithTimeout(p.stopCtx, 2*time.Second)
	defer cancel()
	n, err := p.w.rdb.HExists(ctx, holdKey(p.w.ks, p.n), key).Result()
	if err == nil && !n {
		p.mu.Lock()
		if p.holds[key] == h {
			delete(p.holds, key)
		}
		p.mu.Unlock()
		p.log.Info("held session released by an operator", "instance", h.Instance, "session", h.Session)
	}
	return true
}

// release ends a hold whose dead delivery was just delivered, retrying
// until Redis confirms: a hold left behind would stop the session again at
// the next takeover, waiting for a replay that already happened.
func (p *partition) release(key string, h *Hold) bool {
	delay := 50 * time.Millisecond
	for {
		ctx, cancel := context.WithTimeout(p.stopCtx, 2*time.Second)
		err := p.w.rdb.HDel(ctx, holdKey(p.w.ks, p.n), key).Err()
		cancel()
		if err == nil {
			p.mu.Lock()
			if p.holds[key] == h {
				delete(p.holds, key)
			}
			p.mu.Unlock()
			p.log.Info("held session flows again: its dead delivery was replayed", "instance", h.Instance,
				"session", h.Session, "delivery", h.DeliveryID)
			return true
		}
		p.log.Warn("cannot release a held session; retrying", "key", holdKey(p.w.ks, p.n), "err", err)
		if !sleep(p.stopCtx, delay) {
			return false
		}
		delay = min(delay*2, 2*time.Second)
	}
}

// deliver sends msg until it succeeds, is dead, or the partition stops.
// It reports whether the message was settled (acked); it returns false only
// when the partition is stopping. Attempts wait on the instance's circuit
// while the app is down (one probe at a time), and retry delays end early
// when the circuit closes.
func (p *partition) deliver(m *pending) bool {
	w, msg, d := p.w, m.msg, m.d
	c := w.circuits.get(d.InstanceID)
	deadline := d.AcceptedAt.Add(w.cfg.MaxAge)
	// The trace the message carries (its publish span): each attempt is a
	// child of it.
	traced := telemetry.ExtractMsg(p.abortCtx, msg.Headers())
	for attempt := m.attempt; ; attempt++ {
		probe, admitted := c.admit(p.stopCtx, deadline, func() { _ = msg.InProgress() })
		if p.stopCtx.Err() != nil {
			return false
		}
		if !admitted {
			reason := fmt.Sprintf("older than %s while its app did not answer: %s", w.cfg.MaxAge, c.state("").LastError)
			if !p.buryRetrying(m, attempt-1, reason) {
				return false
			}
			w.observe(d, attempt-1, 0, observe.Dead, reason, time.Now(), 0)
			return true
		}
		start := time.Now()
		actx, span := startAttemptSpan(traced, d, attempt)
		status, err := w.sendOnce(actx, d, attempt)
		took := time.Since(start)
		if opened, closed := c.report(probe, err); opened {
			p.log.Warn("app not answering; circuit open, probing", "instance", d.InstanceID, "err", err)
		} else if closed {
			p.log.Info("app answers again; circuit closed", "instance", d.InstanceID)
		}
		if err == nil {
			endAttemptSpan(span, status, observe.Delivered, nil)
			w.metrics.delivered.Add(1)
			w.record(d, session.StatusDelivered, attempt, status, took, nil)
			w.observe(d, attempt, status, observe.Delivered, "", start, took)
			p.forgetTries(m)
			return p.ack(m)
		}
		if p.stopCtx.Err() != nil {
			// Stopping mid-attempt: the app may have seen this attempt, so
			// count it, or the next owner would send the same number again.
			endAttemptSpan(span, status, attemptStopped, err)
			p.storeTries(m, attempt)
			return false
		}
		if reason := w.deadReason(err, attempt, time.Since(d.AcceptedAt)); reason != "" {
			outcome := observe.Dead
			if perm := (*PermanentError)(nil); errors.As(err, &perm) {
				outcome = observe.Refused
			}
			// Ended before the DLQ move: the attempt is over, and the span
			// must not last while a DLQ that does not answer is retried.
			endAttemptSpan(span, status, outcome, err)
			if !p.buryRetrying(m, attempt, reason) {
				return false
			}
			w.observe(d, attempt, status, outcome, err.Error(), start, took)
			return true
		}
		endAttemptSpan(span, status, observe.Retried, err)
		w.metrics.retried.Add(1)
		w.record(d, session.StatusFailed, attempt, status, took, err)
		w.observe(d, attempt, status, observe.Retried, err.Error(), start, took)
		p.storeTries(m, attempt)
		p.log.Debug("delivery failed, will retry", "delivery", d.ID, "attempt", attempt, "err", err)
		if c.isOpen() {
			continue // the circuit paces the retries now: wait on it with the instance's other lanes
		}
		if !p.wait(msg, w.retryDelay(attempt, time.Since(d.AcceptedAt)), c.flips()) {
			return false
		}
	}
}

// deadReason says why a failed attempt is the last, or "" to retry.
func (w *Worker) deadReason(err error, attempt int, age time.Duration) string {
	var perm *PermanentError
	switch {
	case errors.As(err, &perm):
		return perm.Reason
	case w.cfg.MaxAttempts > 0 && attempt >= w.cfg.MaxAttempts:
		return fmt.Sprintf("gave up after %d attempts: %v", attempt, err)
	case age >= w.cfg.MaxAge:
		return fmt.Sprintf("older than %s after %d attempts: %v", w.cfg.MaxAge, attempt, err)
	}
	return ""
}

// buryRetrying moves a dead delivery to the DLQ. A DLQ that does not store
// it keeps it at the head of its lane, retried until it does: giving up on
// the lane instead would strand the messages queued behind it (still
// "held", their redeliveries would be dropped) and let the session's later
// events overtake them. It returns false if the partition stopped first.
func (p *partition) buryRetrying(m *pending, attempts int, reason string) bool {
	for try := 1; !p.bury(m, attempts, reason); try++ {
		if !p.wait(m.msg, p.w.backoff(try), nil) {
			return false
		}
	}
	p.forgetTries(m)
	return true
}

// bury moves a delivery to the DLQ and acks it. If the DLQ publish fails the
// message is left unacked, so it is not lost, and bury reports false. When
// the instance holds sessions behind dead deliveries, the hold is stored
// before the ack, so no crash can let the session's later events past it.
func (p *partition) bury(m *pending, attempts int, reason string) bool {
	d, seq := m.d, m.meta.Sequence.Stream
	d.Attempts, d.DeadReason = attempts, reason
	ctx, cancel := context.WithTimeout(p.abortCtx, 5*time.Second)
	defer cancel()
	ack, err := p.w.js.PublishMsg(ctx, d.DeadMsg(seq))
	if err != nil {
		p.log.Error("cannot publish to the DLQ; leaving the delivery unacked", "delivery", d.ID, "err", err)
		return false
	}
	if in, err := p.w.instances.Get(ctx, d.InstanceID); err == nil && in.Holds() {
		h := &Hold{Instance: d.InstanceID, Session: d.SessionID, DeliveryID: d.ID, DLQSeq: ack.Sequence,
			Reason: reason, Since: time.Now().UTC()}
		raw, _ := json.Marshal(h)
		if err := p.w.rdb.HSet(ctx, holdKey(p.w.ks, p.n), laneKey(d), raw).Err(); err != nil {
			p.log.Error("cannot hold the session behind its dead delivery; leaving it unacked", "delivery", d.ID,
				"key", holdKey(p.w.ks, p.n), "err", err)
			return false
		}
		p.mu.Lock()
		p.holds[laneKey(d)] = h
		p.mu.Unlock()
	}
	if !p.ack(m) {
		return false // aborted: the next owner buries it again, stored once (same Nats-Msg-Id)
	}
	p.w.metrics.dead.Add(1)
	p.w.record(d, session.StatusDead, attempts, 0, 0, errors.New(reason))
	p.log.Warn("delivery moved to the DLQ", "delivery", d.ID, "session", d.SessionID, "reason", reason)
	return true
}

// ack settles m and waits until JetStream confirms it, retrying until it
// does or the partition aborts, and reports whether it was confirmed. The
// lane must not move on before: an ack lost on the wire leaves the message
// to be redelivered after AckWait (minutes), behind the session's later
// events. If the partition aborts first, the message stays unacked and its
// next owner delivers it again, still ahead of what follows it.
func (p *partition) ack(m *pending) bool {
	delay := 20 * time.Millisecond
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(p.abortCtx, 5*time.Second)
		err := m.msg.DoubleAck(ctx)
		cancel()
		if err == nil || errors.Is(err, jetstream.ErrMsgAlreadyAckd) {
			return true
		}
		p.log.Warn("ack not confirmed; retrying before the session's next event", "delivery", m.d.ID,
			"seq", m.meta.Sequence.Stream, "attempt", attempt, "err", err)
		if !sleep(p.abortCtx, delay) {
			return false
		}
		delay = min(delay*2, 2*time.Second)
	}
}

// sleep waits d, or until ctx ends (false).
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// wait sleeps for a retry delay, telling JetStream the message is still
// being worked on so it is not redelivered meanwhile. It ends early when
// flips is closed (the instance's circuit opened or closed). It returns
// false if the partition stopped.
func (p *partition) wait(msg jetstream.Msg, delay time.Duration, flips <-chan struct{}) bool {
	t := time.NewTimer(delay)
	defer t.Stop()
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-t.C:
			return true
		case <-flips:
			return true
		case <-tick.C:
			_ = msg.InProgress()
		case <-p.stopCtx.Done():
			return false
		}
	}
}

// backoff is exponential with equal jitter: uniformly in [d/2, d], where d
// doubles per attempt up to BackoffMax. Equal, not full ([0, d]), jitter:
// the lower bound keeps the backoff growing, so a struggling app is not hit
// again almost at once by the unlucky draws, while the upper half still
// spreads retries of many sessions failing together.
func (w *Worker) backoff(attempt int) time.Duration {
	d := w.cfg.BackoffBase << min(attempt-1, 30)
	if d <= 0 || d > w.cfg.BackoffMax {
		d = w.cfg.BackoffMax
	}
	return d/2 + rand.N(d/2+1)
}

// retryDelay is how long to wait after failed attempt number attempt of a
// delivery that is age old: the backoff, cut short so that the last attempt
// is made at MaxAge rather than a whole delay before it.
func (w *Worker) retryDelay(attempt int, age time.Duration) time.Duration {
	return max(min(w.backoff(attempt), w.cfg.MaxAge-age), 0)
}

// triesKey is the hash of partition n's failed attempt counts, by stream
// sequence: a delivery retried across a restart or takeover carries its
// count on (JetStream's delivery count restarts with the consumer).
func (w *Worker) triesKey(n int) string { return w.ks + "w:tries:{" + strconv.Itoa(n) + "}" }

// storeTries records that attempt failed. Best effort, bounded: a lost
// count only makes x-neru-attempt restart lower after a takeover.
func (p *partition) storeTries(m *pending, attempt int) {
	// Not the partition's context: the count matters most when it stops.
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	key := p.w.triesKey(p.n)
	pipe := p.w.rdb.TxPipeline()
	pipe.HSet(ctx, key, strconv.FormatUint(m.meta.Sequence.Stream, 10), attempt)
	pipe.Expire(ctx, key, p.w.cfg.MaxAge+time.Hour)
	if _, err := pipe.Exec(ctx); err != nil {
		p.log.Debug("cannot record the attempt count", "key", key, "err", err)
		return
	}
	m.triesStored = true
}

// forgetTries drops the count of a settled delivery.
func (p *partition) forgetTries(m *pending) {
	if !m.triesStored {
		return
	}
	ctx, cancel := context.WithTimeout(p.abortCtx, 500*time.Millisecond)
	defer cancel()
	if err := p.w.rdb.HDel(ctx, p.w.triesKey(p.n), strconv.FormatUint(m.meta.Sequence.Stream, 10)).Err(); err != nil {
		p.log.Debug("cannot drop an attempt count; it expires", "key", p.w.triesKey(p.n), "err", err)
	}
}
