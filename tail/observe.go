package tail

import (
	"context"
	"slices"
	"time"

	"github.com/neru-dev/neru/delivery"
	"github.com/neru-dev/neru/internal/observe"
)

// The Publisher is an observe.Observer: the platform's hook points (the
// edge's webhooks, the worker's attempts) feed the stream, and nothing is
// built while nobody watches.
var _ observe.Observer = (*Publisher)(nil)

// Webhook implements observe.Observer.
func (p *Publisher) Webhook(_ context.Context, w observe.Webhook) {
	if !p.Watched() || w.Instance == "" { // an unknown application has no instance to file it under
		return
	}
	ev := Event{
		Type: Webhook, At: w.Start.UTC(), Instance: w.Instance, Kind: w.Kind, EventID: w.EventID,
		Listeners: len(w.Matched), Status: w.Status, LatencyMs: millis(w.Duration), Outcome: w.Outcome, Error: w.Err,
	}
	streamed := w.Matched
	if w.Outcome == observe.Answered || w.Outcome == observe.Fallback {
		// A synchronous webhook's answering listener is the last; it got
		// the event in the request, not through the stream.
		if n := len(streamed); n > 0 {
			streamed = streamed[:n-1]
		}
	}
	for _, t := range w.Matched {
		if !slices.Contains(ev.Sessions, t.Session) {
			ev.Sessions = append(ev.Sessions, t.Session)
		}
	}
	if len(ev.Sessions) == 1 {
		ev.Session, ev.Sessions = ev.Sessions[0], nil
	}
	for _, t := range streamed {
		ev.Deliveries = append(ev.Deliveries, delivery.ID(w.EventID, t.Listener))
	}
	p.Publish(ev)
}

// Attempt implements observe.Observer.
func (p *Publisher) Attempt(_ context.Context, a observe.Attempt) {
	if !p.Watched() {
		return
	}
	p.Publish(Event{
		Type: Attempt, At: a.Start.UTC(), Instance: a.Instance, Session: a.Session, Kind: a.Kind,
		DeliveryID: a.Delivery, Route: a.Path, Status: a.Status, LatencyMs: millis(a.Duration),
		Attempt: a.Attempt, Outcome: a.Outcome, Error: a.Err,
	})
}

func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
