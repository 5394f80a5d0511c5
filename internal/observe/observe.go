package observe

import (
	"context"
	"sync/atomic"
	"time"
)

// Webhook outcomes: how the edge answered a provider webhook. The set is
// closed, so it can be a metric label.
const (
	Routed      = "routed"      // stream webhook: every matching delivery stored (200)
	Unmatched   = "unmatched"   // no listener matched (200, nothing published)
	Answered    = "answered"    // synchronous webhook answered with the app's NCCO
	Fallback    = "fallback"    // synchronous webhook answered with the fallback NCCO
	Unknown     = "unknown_app" // no instance serves the application id (404)
	Rejected    = "rejected"    // malformed or oversized body (4xx)
	Unavailable = "unavailable" // the event bus did not store the deliveries (503)
	Failed      = "error"       // anything else (5xx)
)

// Attempt outcomes: what became of one delivery attempt. Closed set.
const (
	Delivered = "delivered" // the app answered 2xx
	Retried   = "retried"   // failed; it is tried again after a backoff
	Dead      = "dead"      // failed and out of attempts or age: moved to the DLQ
	Refused   = "refused"   // the app refused it (a permanent 4xx) or its instance is gone: moved to the DLQ at once
)

// Target is one listener a webhook matched.
type Target struct {
	Session  string
	Listener string
	Path     string // the app route the delivery goes to
}

// Webhook is one provider webhook as the edge answered it.
type Webhook struct {
	Instance string // "" when the application is unknown
	Route    string // the webhook route, e.g. "messages/inbound"; a bounded set
	Kind     string // the event kind once parsed, e.g. "messages.inbound"; "" before
	EventID  string // the provider's identity of the webhook; "" before parsing
	Outcome  string // one of the webhook outcomes above
	Status   int    // HTTP status answered to the provider
	// Matched are the listeners that accepted it, oldest first. For a
	// synchronous webhook the answering listener is the last.
	Matched []Target
	// Err says why a call got the fallback NCCO or the webhook failed;
	// "" otherwise.
	Err      string
	Start    time.Time
	Duration time.Duration
}

// Attempt is one delivery attempt of an event to an app route.
type Attempt struct {
	Instance string
	Session  string
	Delivery string // stable delivery id (x-neru-delivery-id)
	Listener string
	Path     string
	Kind     string
	Attempt  int    // 1 for the first
	Status   int    // the app's HTTP status; 0 when it gave none (timeout, refused connection)
	Outcome  string // one of the attempt outcomes above
	Err      string // why it failed; "" when delivered
	// Accepted is when the gateway accepted the event: Delivered attempts
	// measure the end-to-end latency from it.
	Accepted time.Time
	Start    time.Time
	Duration time.Duration
}

// Observer receives the platform's events. Both methods are called on the
// hot path, from many goroutines: they must be safe for concurrent use,
// cheap and never block. ctx carries the request's trace span, if any.
type Observer interface {
	Webhook(ctx context.Context, w Webhook)
	Attempt(ctx context.Context, a Attempt)
}

// Fanout passes every event to each of its observers, in the order they
// were added. Observers may be added at any time (the console adds its
// stream after the platform is built); the zero value has none and is
// ready to use. A nil *Fanout drops every event.
type Fanout struct {
	obs atomic.Pointer[[]Observer]
}

// Add appends o.
func (f *Fanout) Add(o Observer) {
	for {
		old := f.obs.Load()
		var next []Observer
		if old != nil {
			next = append(next, *old...)
		}
		next = append(next, o)
		if f.obs.CompareAndSwap(old, &next) {
			return
		}
	}
}

// Webhook implements Observer.
func (f *Fanout) Webhook(ctx context.Context, w Webhook) {
	if f == nil {
		return
	}
	if obs := f.obs.Load(); obs != nil {
		for _, o := range *obs {
			o.Webhook(ctx, w)
		}
	}
}

// Attempt implements Observer.
func (f *Fanout) Attempt(ctx context.Context, a Attempt) {
	if f == nil {
		return
	}
	if obs := f.obs.Load(); obs != nil {
		for _, o := range *obs {
			o.Attempt(ctx, a)
		}
	}
}

// Discard drops every event: the observer of a component nobody watches.
var Discard Observer = discard{}

type discard struct{}

func (discard) Webhook(context.Context, Webhook) {}
func (discard) Attempt(context.Context, Attempt) {}
