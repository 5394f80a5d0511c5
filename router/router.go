package router

import (
	"context"
	"encoding/json"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"

	"github.com/neru-dev/neru/delivery"
	"github.com/neru-dev/neru/listener"
	"github.com/neru-dev/neru/session"
)

// ErrUnavailable means JetStream did not confirm a publish: the caller must
// not acknowledge the webhook, so the provider retries it. It is
// delivery.ErrUnavailable, the publisher's one error.
var ErrUnavailable = delivery.ErrUnavailable

// tracer delegates to otel's global tracer provider: a no-op unless the
// composition root set one up (telemetry.StartTracing).
var tracer = otel.Tracer("github.com/neru-dev/neru/router")

// Event is a provider webhook, parsed just enough to route it.
type Event struct {
	Kind string   // e.g. "messages.inbound"; see the providers
	ID   string   // the provider's identity of this webhook: equal for a retry
	Keys []string // listener index keys that could match, wildcards included
	Body []byte   // the webhook as received; this is what the app gets
	// Matched is set by Match: the listeners that accepted the event,
	// oldest first, so the edge can report them without matching again.
	Matched []*listener.Listener

	doc     any
	decoded bool
}

// Doc is the body decoded as JSON, for filter evaluation. It is decoded at
// most once, and only if a candidate has filters.
func (e *Event) Doc() any {
	if !e.decoded {
		_ = json.Unmarshal(e.Body, &e.doc)
		e.decoded = true
	}
	return e.doc
}

// Router matches events and publishes deliveries. Safe for concurrent use.
type Router struct {
	listeners *listener.Store
	sessions  *session.Store
	pub       *delivery.Publisher
}

// New returns a Router publishing through pub.
func New(ls *listener.Store, ss *session.Store, pub *delivery.Publisher) *Router {
	return &Router{listeners: ls, sessions: ss, pub: pub}
}

// Match returns the listeners of an instance that accept ev, oldest first.
// It is a span of the webhook's trace ("match").
func (r *Router) Match(ctx context.Context, instanceID string, ev *Event) ([]*listener.Listener, error) {
	ctx, span := tracer.Start(ctx, "match")
	defer span.End()
	out, cands, err := r.match(ctx, instanceID, ev)
	if span.IsRecording() {
		span.SetAttributes(
			attribute.String("neru.instance.id", instanceID),
			attribute.String("neru.event.kind", ev.Kind),
			attribute.Int("neru.match.keys", len(ev.Keys)),
			attribute.Int("neru.match.candidates", cands),
			attribute.Int("neru.listeners.matched", len(out)),
		)
		if err != nil {
			span.SetStatus(codes.Error, err.Error())
		}
	}
	return out, err
}

// match is Match without the span; it also returns how many candidates
// the index gave, before the filters.
func (r *Router) match(ctx context.Context, instanceID string, ev *Event) ([]*listener.Listener, int, error) {
	// Candidates whose session record exists, checked in the index lookup's
	// round trip: listeners of expired sessions never match.
	cands, err := r.listeners.LiveCandidates(ctx, instanceID, ev.Keys, r.sessions.Key)
	if err != nil || len(cands) == 0 {
		return nil, 0, err
	}
	n := len(cands)
	out := cands[:0]
	for _, l := range cands {
		if len(l.Filters) == 0 || listener.MatchAll(l.Filters, ev.Doc()) {
			out = append(out, l)
		}
	}
	ev.Matched = out
	return out, n, nil
}

// Deliveries builds one delivery of ev per listener.
func Deliveries(instanceID string, ev *Event, ls []*listener.Listener, accepted time.Time) []*delivery.Delivery {
	out := make([]*delivery.Delivery, len(ls))
	for i, l := range ls {
		out[i] = &delivery.Delivery{
			ID:         delivery.ID(ev.ID, l.ID),
			InstanceID: instanceID,
			SessionID:  l.SessionID,
			ListenerID: l.ID,
			Path:       l.Path,
			Kind:       ev.Kind,
			AcceptedAt: accepted,
			Body:       ev.Body,
		}
	}
	return out
}

// Publish stores every delivery in JetStream and returns once all are
// acknowledged, or ErrUnavailable (wrapped) if any is not.
func (r *Router) Publish(ctx context.Context, ds []*delivery.Delivery) error {
	return r.pub.Publish(ctx, ds)
}

// Route matches ev and publishes its deliveries. It returns how many
// deliveries were stored.
func (r *Router) Route(ctx context.Context, instanceID string, ev *Event) (int, error) {
	ls, err := r.Match(ctx, instanceID, ev)
	if err != nil {
		return 0, err
	}
	if len(ls) == 0 {
		return 0, nil
	}
	return len(ls), r.Publish(ctx, Deliveries(instanceID, ev, ls, time.Now()))
}

// Answerer returns the listener that answers ev synchronously (a call's
// NCCO): the newest that matches, or nil. Apps register an answer listener
// at every start, each in a new session, so the newest is the running app;
// the older ones get nothing.
func (r *Router) Answerer(ctx context.Context, instanceID string, ev *Event) (*listener.Listener, error) {
	ls, err := r.Match(ctx, instanceID, ev)
	if err != nil || len(ls) == 0 {
		return nil, err
	}
	return ls[len(ls)-1], nil
}

// RouteInput serves an input result (speech, DTMF) that the call waits on:
// every matching listener but the newest gets ev through the stream, and
// the newest is returned, to answer it synchronously (nil: none matched).
// If that listener does not answer in time, the caller hands ev to it
// through the stream with Handoff.
func (r *Router) RouteInput(ctx context.Context, instanceID string, ev *Event) (*listener.Listener, error) {
	ls, err := r.Match(ctx, instanceID, ev)
	if err != nil || len(ls) == 0 {
		return nil, err
	}
	head, rest := ls[len(ls)-1], ls[:len(ls)-1]
	if len(rest) > 0 {
		if err := r.Publish(ctx, Deliveries(instanceID, ev, rest, time.Now())); err != nil {
			return nil, err
		}
	}
	return head, nil
}

// Handoff delivers ev to one listener through the stream: the synchronous
// answer it was asked for did not come in time, and the event must still
// reach the app.
func (r *Router) Handoff(ctx context.Context, instanceID string, ev *Event, l *listener.Listener) error {
	return r.Publish(ctx, Deliveries(instanceID, ev, []*listener.Listener{l}, time.Now()))
}
