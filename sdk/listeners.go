package sdk

import (
	"context"
	"fmt"
	"maps"

	"github.com/google/uuid"
)

// Filter narrows a listener to events whose JSON value at Path is one of Values.
type Filter struct {
	Path   string   `json:"path"`
	Op     string   `json:"op"`
	Values []string `json:"values"`
}

// callback is the wire's WrappedCallback.
type callback struct {
	Filters             []Filter `json:"filters"`
	ID                  string   `json:"id"`
	InstanceServiceName string   `json:"instanceServiceName,omitempty"`
	SessionID           string   `json:"sessionId"`
	InstanceID          string   `json:"instanceId"`
	Path                string   `json:"path"`
}

func (s *Session) callback(route string, filters []Filter) callback {
	if filters == nil {
		filters = []Filter{}
	}
	return callback{Filters: filters, ID: uuid.NewString(), InstanceServiceName: s.c.cfg.InstanceServiceName,
		SessionID: s.ID, InstanceID: s.c.cfg.InstanceID, Path: route}
}

// Subscription is one listener, built by a Session (MessageSubscription
// and the like) for Client.Subscribe, which registers many in one request.
// Its id is known before it is registered.
type Subscription struct {
	provider, action string
	payload          map[string]any
	cb               callback
}

// ID is the listener's id, for Unsubscribe.
func (sub Subscription) ID() string { return sub.cb.ID }

// SessionID is the session the listener belongs to.
func (sub Subscription) SessionID() string { return sub.cb.SessionID }

func (s *Session) subscription(provider, action string, payload map[string]any, route string, filters []Filter) Subscription {
	return Subscription{provider: provider, action: action, payload: payload, cb: s.callback(route, filters)}
}

// body is the action's payload, callback included.
func (sub Subscription) body() map[string]any {
	p := maps.Clone(sub.payload)
	p["callback"] = sub.cb
	return p
}

// subscribe registers a listener and returns its id (for Unsubscribe).
func (s *Session) subscribe(ctx context.Context, sub Subscription) (string, error) {
	if err := s.Command(ctx, sub.provider, sub.action, sub.body(), nil); err != nil {
		return "", err
	}
	return sub.ID(), nil
}

// MaxSubscriptions is how many listeners the platform registers in one
// subscribe-many request; Client.Subscribe sends chunks of that many.
const MaxSubscriptions = 1000

// Subscribe registers many listeners, each in its own session, with one
// subscribe-many request per provider and MaxSubscriptions listeners,
// instead of one request each: what an app registering many numbers at
// start wants. Each request is all or nothing. It returns the ids of the
// listeners registered, in the order of subs; when a request fails it stops
// there and returns the ids that earlier requests registered, with the
// error. Concurrent calls are fine: send several to keep more requests in
// flight.
func (c *Client) Subscribe(ctx context.Context, subs ...Subscription) ([]string, error) {
	var ids []string
	for start := 0; start < len(subs); {
		// A chunk is a run of one provider's subscriptions, so the ids come
		// back in the order given whatever the mix.
		end := start + 1
		for end < len(subs) && end-start < MaxSubscriptions && subs[end].provider == subs[start].provider {
			end++
		}
		items := make([]map[string]any, 0, end-start)
		for _, sub := range subs[start:end] {
			items = append(items, map[string]any{"action": sub.action, "payload": sub.body()})
		}
		var reply struct {
			IDs []string `json:"ids"`
		}
		// The request names the first listener's session, which the
		// platform ensures with the others.
		s := c.Session(subs[start].SessionID())
		if err := s.Command(ctx, subs[start].provider, "subscribe-many", map[string]any{"subscriptions": items}, &reply); err != nil {
			return ids, err
		}
		if len(reply.IDs) != end-start {
			return ids, fmt.Errorf("sdk: subscribe-many registered %d listeners of %d", len(reply.IDs), end-start)
		}
		ids = append(ids, reply.IDs...)
		start = end
	}
	return ids, nil
}

// Contact is a message endpoint. An empty Number matches any number.
type Contact struct {
	Type   string `json:"type"`
	Number string `json:"number,omitempty"`
}

// OnCall routes every inbound call of the application to route, which must
// answer with an NCCO. Apps usually call it at start; the newest wins.
func (s *Session) OnCall(ctx context.Context, route string) (string, error) {
	return s.subscribe(ctx, s.CallSubscription(route))
}

// CallSubscription is OnCall's listener, for Client.Subscribe.
func (s *Session) CallSubscription(route string) Subscription {
	return s.subscription("vonage-voice", "vapi-subscribe-inbound-call", map[string]any{}, route, nil)
}

// OnCallEvent routes the events of one call leg to route.
func (s *Session) OnCallEvent(ctx context.Context, route, callUUID string) (string, error) {
	return s.subscribe(ctx, s.CallEventSubscription(route, callUUID))
}

// CallEventSubscription is OnCallEvent's listener, for Client.Subscribe.
func (s *Session) CallEventSubscription(route, callUUID string) Subscription {
	return s.subscription("vonage-voice", "vapi-subscribe-event", map[string]any{"vapiID": callUUID}, route, nil)
}

// OnConversationEvent routes the call events of one conversation to route.
func (s *Session) OnConversationEvent(ctx context.Context, route, conversationUUID string) (string, error) {
	return s.subscribe(ctx, s.ConversationEventSubscription(route, conversationUUID))
}

// ConversationEventSubscription is OnConversationEvent's listener, for
// Client.Subscribe.
func (s *Session) ConversationEventSubscription(route, conversationUUID string) Subscription {
	return s.subscription("vonage-voice", "vapi-subscribe-event", map[string]any{"conversationID": conversationUUID}, route, nil)
}

// OnMessage routes inbound messages from `from` (the customer) to `to`
// (your number) to route.
func (s *Session) OnMessage(ctx context.Context, route string, from, to Contact) (string, error) {
	return s.subscribe(ctx, s.MessageSubscription(route, from, to))
}

// MessageSubscription is OnMessage's listener, for Client.Subscribe.
func (s *Session) MessageSubscription(route string, from, to Contact) Subscription {
	return s.subscription("vonage-messaging", "subscribe-inbound-messages", map[string]any{"from": from, "to": to}, route, nil)
}

// OnMessageEvents routes status updates of messages sent from `from` (your
// number) to `to` to route.
func (s *Session) OnMessageEvents(ctx context.Context, route string, from, to Contact) (string, error) {
	return s.subscribe(ctx, s.MessageEventsSubscription(route, from, to))
}

// MessageEventsSubscription is OnMessageEvents' listener, for
// Client.Subscribe.
func (s *Session) MessageEventsSubscription(route string, from, to Contact) Subscription {
	return s.subscription("vonage-messaging", "subscribe-inbound-events", map[string]any{"from": from, "to": to}, route, nil)
}

// Unsubscribe removes a listener of the given provider ("vonage-voice" or
// "vonage-messaging").
func (s *Session) Unsubscribe(ctx context.Context, provider, listenerID string) error {
	return s.Command(ctx, provider, "unsubscribe-event", map[string]string{"id": listenerID}, nil)
}

// OnInboundCall routes Conversation API app:knocking events, inbound calls
// to `to` (and from `from`, if not nil), to route (neru's
// voice.onInboundCall). The app accepts a call through the Conversation API
// (POST /v0.3/conversations/<id>/members via VonageAPI). Contact types
// default to "phone".
func (s *Session) OnInboundCall(ctx context.Context, route string, to Contact, from *Contact) (string, error) {
	return s.subscribe(ctx, s.InboundCallSubscription(route, to, from))
}

// InboundCallSubscription is OnInboundCall's listener, for Client.Subscribe.
func (s *Session) InboundCallSubscription(route string, to Contact, from *Contact) Subscription {
	phone := func(c Contact) Contact {
		if c.Type == "" {
			c.Type = "phone"
		}
		return c
	}
	payload := map[string]any{"to": phone(to)}
	if from != nil {
		payload["from"] = phone(*from)
	}
	return s.subscription("vonage-voice", "conversation-subscribe-inbound-call", payload, route, nil)
}

// ListenForEvents routes Conversation API events to route: the events of
// one conversation, or with conversationID "" every event of the
// application. Filters narrow them, e.g. TypeFilter("audio:dtmf").
func (s *Session) ListenForEvents(ctx context.Context, route, conversationID string, filters ...Filter) (string, error) {
	return s.subscribe(ctx, s.EventsSubscription(route, conversationID, filters...))
}

// EventsSubscription is ListenForEvents' listener, for Client.Subscribe.
func (s *Session) EventsSubscription(route, conversationID string, filters ...Filter) Subscription {
	payload := map[string]any{}
	if conversationID != "" {
		payload["conversationId"] = conversationID
	}
	return s.subscription("vonage-voice", "conversation-subscribe-event", payload, route, filters)
}

// TypeFilter matches Conversation API events of the given types.
func TypeFilter(types ...string) Filter { return Filter{Path: "type", Op: "contains", Values: types} }
