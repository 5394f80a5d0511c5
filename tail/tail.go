package tail

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// Event types.
const (
	Webhook = "webhook" // a provider webhook was received and matched
	Attempt = "attempt" // one delivery attempt finished
)

// Event is one line of the stream.
type Event struct {
	Type     string    `json:"type"`
	At       time.Time `json:"at"`
	Instance string    `json:"instance"`
	Session  string    `json:"session,omitempty"`
	// Sessions lists every session a webhook matched when there are
	// several (Session is then empty): each session's filter shows it.
	Sessions []string `json:"sessions,omitempty"`
	// Kind is the event kind, e.g. messages.inbound or voice.answer.
	Kind    string `json:"kind,omitempty"`
	EventID string `json:"eventId,omitempty"`
	// Listeners is how many listeners a webhook matched, and Deliveries
	// the ids of the deliveries made for them (attempts carry the same
	// DeliveryID), so a watcher can follow one webhook to its attempts.
	Listeners  int      `json:"listeners"`
	Deliveries []string `json:"deliveries,omitempty"`
	DeliveryID string   `json:"deliveryId,omitempty"`
	Route      string   `json:"route,omitempty"`
	// Status is the app's HTTP status; 0 when it gave none (timeout,
	// connection refused).
	Status    int     `json:"status,omitempty"`
	LatencyMs float64 `json:"latencyMs"`
	Attempt   int     `json:"attempt,omitempty"`
	// Outcome is one of package observe's webhook or attempt outcomes
	// (routed, unmatched, answered, fallback, …; delivered, retried, dead,
	// refused).
	Outcome string `json:"outcome"`
	Error   string `json:"error,omitempty"`
}

const (
	eventsPrefix = "neru.tail.ev."
	watchSubject = "neru.tail.watch"
	// WatchEvery is how often a watcher announces itself; WatchFor is how
	// long a publisher keeps publishing after the last announcement.
	WatchEvery = 10 * time.Second
	WatchFor   = 3 * WatchEvery
	maxError   = 300
)

// Subject is the subject of an instance's events.
func Subject(instanceID string) string { return eventsPrefix + instanceID }

// Publisher sends events while somebody watches. It is safe for concurrent
// use; Publish never blocks on the network and drops what cannot be sent.
type Publisher struct {
	nc    *nats.Conn
	sub   *nats.Subscription
	until atomic.Int64 // unix nanoseconds up to which somebody watches
	log   *slog.Logger
}

// NewPublisher listens for watchers on nc.
func NewPublisher(nc *nats.Conn, log *slog.Logger) (*Publisher, error) {
	p := &Publisher{nc: nc, log: log}
	sub, err := nc.Subscribe(watchSubject, func(m *nats.Msg) {
		p.until.Store(time.Now().Add(WatchFor).UnixNano())
		if m.Reply != "" {
			_ = m.Respond(nil)
		}
	})
	if err != nil {
		return nil, err
	}
	p.sub = sub
	// Until the server has the subscription, a watcher's announcement
	// passes this publisher by and it stays silent for WatchEvery: a worker
	// started just before `neru simulate` would not show the delivery.
	// Best effort: while disconnected, the subscription is sent on connect.
	_ = nc.FlushTimeout(2 * time.Second)
	return p, nil
}

// Watched reports whether somebody watches the stream; callers may skip
// building an event when not.
func (p *Publisher) Watched() bool {
	return p != nil && time.Now().UnixNano() < p.until.Load()
}

// Publish sends ev if somebody watches. A nil Publisher does nothing.
func (p *Publisher) Publish(ev Event) {
	if !p.Watched() {
		return
	}
	if ev.At.IsZero() {
		ev.At = time.Now().UTC()
	}
	if len(ev.Error) > maxError {
		ev.Error = ev.Error[:maxError]
	}
	b, err := json.Marshal(&ev)
	if err != nil {
		return
	}
	if err := p.nc.Publish(Subject(ev.Instance), b); err != nil && p.log != nil {
		p.log.Debug("tail: publish failed", "err", err)
	}
}

// Close stops listening for watchers.
func (p *Publisher) Close() {
	if p != nil && p.sub != nil {
		_ = p.sub.Unsubscribe()
	}
}

// Filter selects events; empty fields match everything.
type Filter struct {
	Instance string
	Session  string
}

func (f Filter) match(ev *Event) bool {
	return (f.Instance == "" || ev.Instance == f.Instance) &&
		(f.Session == "" || ev.Session == f.Session || slices.Contains(ev.Sessions, f.Session))
}

// Watcher receives the stream.
type Watcher struct{ nc *nats.Conn }

// NewWatcher watches the stream on nc.
func NewWatcher(nc *nats.Conn) *Watcher { return &Watcher{nc: nc} }

// buffered is how many events a watcher holds before it drops new ones.
const buffered = 1024

// Watch delivers the events f selects to fn until ctx ends. It calls ready
// (if not nil) once it is subscribed and at least one publisher has heard
// of it (or after 5 s without an answer), so events from then on
// reach it. fn runs on one goroutine; while it is slow, events beyond a
// buffer are dropped rather than held.
func (w *Watcher) Watch(ctx context.Context, f Filter, ready func(), fn func(Event)) error {
	subject := eventsPrefix + "*"
	if f.Instance != "" {
		subject = Subject(f.Instance)
	}
	ch := make(chan *nats.Msg, buffered)
	sub, err := w.nc.ChanSubscribe(subject, ch)
	if err != nil {
		return err
	}
	defer func() { _ = sub.Unsubscribe() }()
	_ = sub.SetPendingLimits(buffered, 64<<20)
	// The first announcement is a request: its first answer says a
	// publisher now sends; the others hear it at the same time. With no
	// publisher at all the server says so at once (no responders), so the
	// timeout only runs out on a publisher too busy to answer: waiting for
	// it, rather than saying ready early, keeps the next events visible.
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	_, err = w.nc.RequestWithContext(rctx, watchSubject, nil)
	cancel()
	if err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, nats.ErrNoResponders) {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	if ready != nil {
		ready()
	}
	tick := time.NewTicker(WatchEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			_ = w.nc.Publish(watchSubject, nil)
		case m := <-ch:
			var ev Event
			if json.Unmarshal(m.Data, &ev) != nil || !f.match(&ev) {
				continue
			}
			fn(ev)
		}
	}
}
