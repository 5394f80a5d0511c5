package voice

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/neru-dev/neru/listener"
	"github.com/neru-dev/neru/providers/messages"
	"github.com/neru-dev/neru/router"
)

// Conversation API (RTC) actions of vonage-voice.
const (
	// ActionConvInbound is neru's voice.onInboundCall(route, to, from?): the
	// app:knocking events of calls to a number (and from a number, if given).
	ActionConvInbound = "conversation-subscribe-inbound-call"
	// ActionConvEvent is neru's conversation.listenForEvents / on<X> (one
	// conversation, with filters) and vcr's onConversationEvent (every event
	// of the application, with at most a type filter).
	ActionConvEvent = "conversation-subscribe-event"
)

// KindRTC is the event kind of Conversation API webhooks.
const KindRTC = "voice.rtc"

// TypeKnocking is the Conversation API event of an inbound call that waits
// for the app to accept it (conversation.acceptInboundCall).
const TypeKnocking = "app:knocking"

// rtcWebhook holds the fields of a Conversation API event that routing needs.
type rtcWebhook struct {
	Type           string `json:"type"`
	ConversationID string `json:"conversation_id"`
	Body           struct {
		Channel struct {
			To   rtcEndpoint `json:"to"`
			From rtcEndpoint `json:"from"`
		} `json:"channel"`
	} `json:"body"`
}

// rtcEndpoint is a channel end: {type, number} for phones; other channel types
// (app, sip, websocket) carry no number and only match "any number".
type rtcEndpoint struct {
	Number string `json:"number"`
}

// ParseRTC parses a Conversation API event webhook (the RTC event URL of the
// Vonage application). Every event yields the application-wide key and, when
// it names a conversation, that conversation's key. app:knocking also yields
// the keys of inbound-call listeners, by called and calling number.
func ParseRTC(body []byte) (*router.Event, error) {
	var w rtcWebhook
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadWebhook, err)
	}
	switch {
	case w.Type == "":
		return nil, fmt.Errorf("%w: type is required", ErrBadWebhook)
	case strings.Contains(w.ConversationID, "|"):
		return nil, fmt.Errorf("%w: conversation_id may not contain |", ErrBadWebhook)
	}
	keys := []string{listener.Key("cs-ev", listener.Any)}
	if w.ConversationID != "" {
		keys = append(keys, listener.Key("cs-ev", "conv", w.ConversationID))
	}
	if w.Type == TypeKnocking {
		// A number that cannot be a key part (none, or a URI with "|") only
		// reaches the listeners that accept any number there.
		to, from := rtcNumber(w.Body.Channel.To.Number), rtcNumber(w.Body.Channel.From.Number)
		for _, t := range []string{to, listener.Any} {
			for _, f := range []string{from, listener.Any} {
				if k := listener.Key("cs-knock", t, f); !slices.Contains(keys, k) {
					keys = append(keys, k)
				}
			}
		}
	}
	// Conversation events carry ids, but knocking events do not name a
	// conversation; a provider retry repeats the same bytes, so the body hash
	// identifies every kind alike.
	sum := sha256.Sum256(body)
	return &router.Event{Kind: KindRTC, ID: "cs:" + hex.EncodeToString(sum[:16]), Keys: keys, Body: body}, nil
}

func rtcNumber(s string) string {
	n := messages.Number(s)
	if n == "" || strings.Contains(n, "|") {
		return listener.Any
	}
	return n
}

// convSubscription is the payload of both conversation actions. neru sends
// conversationId; conversationID is accepted too, as for the vapi actions.
type convSubscription struct {
	Callback       listener.Callback `json:"callback"`
	To             *convEndpoint     `json:"to"`
	From           *convEndpoint     `json:"from"`
	ConversationId string            `json:"conversationId"`
	ConversationID string            `json:"conversationID"`
}

// convEndpoint is neru's {number, type}; type is always "phone".
type convEndpoint struct {
	Number string `json:"number"`
	Type   string `json:"type"`
}

func (e *convEndpoint) key() string {
	if e == nil {
		return listener.Any
	}
	if n := messages.Number(e.Number); n != "" {
		return n
	}
	return listener.Any
}

// ConversationListener builds the listener for a Conversation API subscribe
// action of an authenticated instance:
//
//	conversation-subscribe-inbound-call {callback, to:{number}, from?:{number}}  → cs-knock|<to>|<from>
//	conversation-subscribe-event        {callback, conversationId?}              → cs-ev|conv|<id> or cs-ev|*
//
// The callback's filters are kept and evaluated on the candidates.
func ConversationListener(instanceID, action string, payload json.RawMessage) (*listener.Listener, error) {
	var s convSubscription
	if err := json.Unmarshal(payload, &s); err != nil {
		return nil, fmt.Errorf("%w: %s payload: %v", listener.ErrInvalid, action, err)
	}
	var key string
	var parts []string
	switch action {
	case ActionConvInbound:
		parts = []string{s.To.key(), s.From.key()}
		key = listener.Key("cs-knock", parts[0], parts[1])
	case ActionConvEvent:
		if id := or(s.ConversationId, s.ConversationID); id != "" {
			parts = []string{id}
			key = listener.Key("cs-ev", "conv", id)
		} else {
			key = listener.Key("cs-ev", listener.Any)
		}
	default:
		return nil, fmt.Errorf("%w: unknown %s conversation action %q", listener.ErrInvalid, Provider, action)
	}
	for _, p := range parts {
		if strings.Contains(p, "|") {
			return nil, fmt.Errorf("%w: numbers and conversation ids may not contain |", listener.ErrInvalid)
		}
	}
	return listener.New(instanceID, Provider, action, key, s.Callback), nil
}
