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
	Filters    []Filter `json:"filters"`
	ID         string   `json:"id"`
	SessionID  string   `json:"sessionId"`
	InstanceID string   `json:"instanceId"`
	Path       string   `json:"path"`
}

func (s *Session) callback(route string, filters []Filter) callback {
	if filters == nil {
		filters = []Filter{}
	}
	return callback{Filters: filters, ID: uuid.NewString(), SessionID: s.ID, InstanceID: s.c.cfg.InstanceID, Path: route}
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
