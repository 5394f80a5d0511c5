package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/neru-dev/neru/delivery"
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
	lanes map[string][]*pending // queued messages per session; head is in flight
	held  map[uint64]bool       // stream sequences we hold, to drop redeliveries
	wg    sync.WaitGroup
}

// pending is a message as enqueue decoded it, so a lane never decodes the
// headers or the ack metadata again.
type pending struct {
	msg  jetstream.Msg
	d    *delivery.Delivery
	meta *jetstream.MsgMetadata
}

func consumerName(n int) string { return "part-" + strconv.Itoa(n) }

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
	p := &partition{
		n: n, w: w, log: w.log.With("partition", n), done: make(chan struct{}),
		lanes: map[string][]*pending{}, held: map[uint64]bool{},
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

// enqueue appends a message to its session's lane, starting the lane if it
// was idle. It never blocks: the consumer's MaxAckPending bounds the queue.
func (p *partition) enqueue(msg jetstream.Msg) {
	meta, err := msg.Metadata()
	if err != nil {
		p.term(msg, "no metadata", err)
		return
	}
	d, err := delivery.FromMsg(msg.Headers(), msg.Data())
	if err != nil {
		p.term(msg, "undecodable", err, "seq", meta.Sequence.Stream)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopCtx.Err() != nil {
		return // stopping: the message stays unacked for the next owner
	}
	if p.held[meta.Sequence.Stream] {
		return // an ack-wait redelivery of a message a lane already holds
	}
	p.held[meta.Sequence.Stream] = true
	q, running := p.lanes[d.SessionID]
	p.lanes[d.SessionID] = append(q, &pending{msg: msg, d: d, meta: meta})
	if !running {
		p.wg.Add(1)
		go p.runLane(d.SessionID)
	}
}

// term drops a message that can never be delivered. A Term that fails is
// logged: the message comes back after AckWait and is dropped then.
func (p *partition) term(msg jetstream.Msg, why string, err error, attrs ...any) {
	p.log.Error("dropping "+why+" message", append(attrs, "err", err)...)
	if err := msg.Term(); err != nil {
		p.log.Warn("cannot drop message; it is redelivered after the ack wait", append(attrs, "err", err)...)
	}
}

// runLane delivers a session's messages one at a time, in order.
func (p *partition) runLane(session string) {
	defer p.wg.Done()
	for {
		p.mu.Lock()
		q := p.lanes[session]
		if len(q) == 0 || p.stopCtx.Err() != nil {
			delete(p.lanes, session)
			p.mu.Unlock()
			return
		}
		head := q[0]
		p.mu.Unlock()

		settled := p.deliver(head)

		p.mu.Lock()
		delete(p.held, head.meta.Sequence.Stream)
		if !settled {
			// Stopped mid-retry (deliver gives up only then): leave the
			// whole lane unacked, in order, for whoever owns the partition
			// next.
			delete(p.lanes, session)
			p.mu.Unlock()
			return
		}
		p.lanes[session] = p.lanes[session][1:]
		p.mu.Unlock()
	}
}

// deliver sends msg until it succeeds, is dead, or the partition stops.
// It reports whether the message was settled (acked); it returns false only
// when the partition is stopping.
func (p *partition) deliver(m *pending) bool {
	w, msg, d := p.w, m.msg, m.d
	attempt := int(m.meta.NumDelivered) // a redelivery has already been tried before
	for ; ; attempt++ {
		err := w.sendOnce(p.abortCtx, d, attempt)
		if err == nil {
			w.metrics.delivered.Add(1)
			w.record(d, session.StatusDelivered, attempt, nil)
			return p.ack(m)
		}
		if p.stopCtx.Err() != nil {
			return false
		}
		var perm *PermanentError
		reason := ""
		switch {
		case errors.As(err, &perm):
			reason = perm.Reason
		case attempt >= w.cfg.MaxAttempts:
			reason = fmt.Sprintf("gave up after %d attempts: %v", attempt, err)
		case time.Since(d.AcceptedAt) > w.cfg.MaxAge:
			reason = fmt.Sprintf("older than %s: %v", w.cfg.MaxAge, err)
		}
		if reason != "" {
			// A DLQ that does not store it keeps it at the head of its lane,
			// retried until it does. Giving up on the lane instead would
			// strand the messages queued behind it: still "held", their
			// redeliveries would be dropped, and the session's later events
			// would overtake them.
			for !p.bury(m, attempt, reason) {
				if !p.wait(msg, w.backoff(attempt)) {
					return false
				}
			}
			return true
		}
		w.metrics.retried.Add(1)
		w.record(d, session.StatusFailed, attempt, err)
		p.log.Debug("delivery failed, will retry", "delivery", d.ID, "attempt", attempt, "err", err)
		if !p.wait(msg, w.backoff(attempt)) {
			return false
		}
	}
}

// bury moves a delivery to the DLQ and acks it. If the DLQ publish fails the
// message is left unacked, so it is not lost, and bury reports false.
func (p *partition) bury(m *pending, attempts int, reason string) bool {
	d, seq := m.d, m.meta.Sequence.Stream
	d.Attempts, d.DeadReason = attempts, reason
	ctx, cancel := context.WithTimeout(p.abortCtx, 5*time.Second)
	defer cancel()
	if _, err := p.w.js.PublishMsg(ctx, d.DeadMsg(seq)); err != nil {
		p.log.Error("cannot publish to the DLQ; leaving the delivery unacked", "delivery", d.ID, "err", err)
		return false
	}
	if !p.ack(m) {
		return false // aborted: the next owner buries it again, stored once (same Nats-Msg-Id)
	}
	p.w.metrics.dead.Add(1)
	p.w.record(d, session.StatusDead, attempts, errors.New(reason))
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
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-p.abortCtx.Done():
			t.Stop()
			return false
		}
		delay = min(delay*2, 2*time.Second)
	}
}

// wait sleeps for a retry delay, telling JetStream the message is still
// being worked on so it is not redelivered meanwhile. It returns false if
// the partition stopped.
func (p *partition) wait(msg jetstream.Msg, delay time.Duration) bool {
	t := time.NewTimer(delay)
	defer t.Stop()
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-t.C:
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
