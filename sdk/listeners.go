package sdk

import (
	"context"

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

// subscribe registers a listener and returns its id (for Unsubscribe).
func (s *Session) subscribe(ctx context.Context, provider, action string, payload map[string]any, cb callback) (string, error) {
	payload["callback"] = cb
	if err := s.Command(ctx, provider, action, payload, nil); err != nil {
		return "", err
	}
	return cb.ID, nil
}

// Contact is a message endpoint. An empty Number matches any number.
type Contact struct {
	Type   string `json:"type"`
	Number string `json:"number,omitempty"`
}

// OnCall routes every inbound call of the application to route, which must
// answer with an NCCO. Apps usually call it at start; the newest wins.
func (s *Session) OnCall(ctx context.Context, route string) (string, error) {
	return s.subscribe(ctx, "vonage-voice", "vapi-subscribe-inbound-call", map[string]any{}, s.callback(route, nil))
}

// OnCallEvent routes the events of one call leg to route.
func (s *Session) OnCallEvent(ctx context.Context, route, callUUID string) (string, error) {
	return s.subscribe(ctx, "vonage-voice", "vapi-subscribe-event", map[string]any{"vapiID": callUUID}, s.callback(route, nil))
}

// OnConversationEvent routes the call events of one conversation to route.
func (s *Session) OnConversationEvent(ctx context.Context, route, conversationUUID string) (string, error) {
	return s.subscribe(ctx, "vonage-voice", "vapi-subscribe-event", map[string]any{"conversationID": conversationUUID}, s.callback(route, nil))
}

// OnMessage routes inbound messages from `from` (the customer) to `to`
// (your number) to route.
func (s *Session) OnMessage(ctx context.Context, route string, from, to Contact) (string, error) {
	return s.subscribe(ctx, "vonage-messaging", "subscribe-inbound-messages", map[string]any{"from": from, "to": to}, s.callback(route, nil))
}

// OnMessageEvents routes status updates of messages sent from `from` (your
// number) to `to` to route.
func (s *Session) OnMessageEvents(ctx context.Context, route string, from, to Contact) (string, error) {
	return s.subscribe(ctx, "vonage-messaging", "subscribe-inbound-events", map[string]any{"from": from, "to": to}, s.callback(route, nil))
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
	return s.subscribe(ctx, "vonage-voice", "conversation-subscribe-inbound-call", payload, s.callback(route, nil))
}

// ListenForEvents routes Conversation API events to route: the events of
// one conversation, or with conversationID "" every event of the
// application. Filters narrow them, e.g. TypeFilter("audio:dtmf").
func (s *Session) ListenForEvents(ctx context.Context, route, conversationID string, filters ...Filter) (string, error) {
	payload := map[string]any{}
	if conversationID != "" {
		payload["conversationId"] = conversationID
	}
	return s.subscribe(ctx, "vonage-voice", "conversation-subscribe-event", payload, s.callback(route, filters))
}

// TypeFilter matches Conversation API events of the given types.
func TypeFilter(types ...string) Filter { return Filter{Path: "type", Op: "contains", Values: types} }
