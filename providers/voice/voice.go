package voice

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/neru-dev/neru/listener"
	"github.com/neru-dev/neru/providers/messages"
	"github.com/neru-dev/neru/router"
)

// Provider is the provider name the SDKs use.
const Provider = "vonage-voice"

// SDK actions handled here.
const (
	ActionAnswer      = "vapi-subscribe-inbound-call"
	ActionEvent       = "vapi-subscribe-event"
	ActionUnsubscribe = "unsubscribe-event"
)

// Event kinds.
const (
	KindAnswer = "voice.answer"
	KindEvent  = "voice.event"
)

// ErrBadWebhook wraps every reason a webhook body is rejected.
var ErrBadWebhook = errors.New("bad voice webhook")

type webhook struct {
	UUID             string          `json:"uuid"`
	ConversationUUID string          `json:"conversation_uuid"`
	To               string          `json:"to"`
	From             string          `json:"from"`
	Speech           json.RawMessage `json:"speech"`
	DTMF             json.RawMessage `json:"dtmf"`
}

func parse(body []byte) (*webhook, error) {
	var w webhook
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadWebhook, err)
	}
	// Only the ids are key parts of every event. A "|" in "to" (a SIP or
	// websocket URI, never a number) must not fail the call: ParseAnswer
	// just leaves the number key out, and ParseEvent does not key on "to".
	if strings.Contains(w.UUID+w.ConversationUUID, "|") {
		return nil, fmt.Errorf("%w: uuid and conversation_uuid may not contain |", ErrBadWebhook)
	}
	return &w, nil
}

// ParseAnswer parses an answer webhook.
func ParseAnswer(body []byte) (*router.Event, error) {
	w, err := parse(body)
	if err != nil {
		return nil, err
	}
	if w.UUID == "" {
		return nil, fmt.Errorf("%w: uuid is required", ErrBadWebhook)
	}
	keys := []string{listener.Key("vapi-answer", listener.Any)}
	if to := messages.Number(w.To); to != "" && to != listener.Any && !strings.Contains(to, "|") {
		keys = append(keys, listener.Key("vapi-answer", to))
	}
	return &router.Event{Kind: KindAnswer, ID: "answer:" + w.UUID, Keys: keys, Body: body}, nil
}

// ParseEvent parses a call event webhook. input reports whether it carries
// speech or DTMF results, which the app may answer with an NCCO.
func ParseEvent(body []byte) (ev *router.Event, input bool, err error) {
	w, err := parse(body)
	if err != nil {
		return nil, false, err
	}
	if w.UUID == "" && w.ConversationUUID == "" {
		return nil, false, fmt.Errorf("%w: uuid or conversation_uuid is required", ErrBadWebhook)
	}
	keys := []string{listener.Key("vapi-ev", listener.Any)}
	if w.UUID != "" {
		keys = append(keys, listener.Key("vapi-ev", "uuid", w.UUID))
	}
	if w.ConversationUUID != "" {
		keys = append(keys, listener.Key("vapi-ev", "conv", w.ConversationUUID))
	}
	// One call sends many events with no id of their own; a retry repeats
	// the same bytes, so the body hash identifies it.
	sum := sha256.Sum256(body)
	input = present(w.Speech) || present(w.DTMF)
	return &router.Event{Kind: KindEvent, ID: "vev:" + hex.EncodeToString(sum[:16]), Keys: keys, Body: body}, input, nil
}

func present(raw json.RawMessage) bool {
	return len(raw) > 0 && !bytes.Equal(raw, []byte("null"))
}

// subscription is the payload of both vapi subscribe actions. The SDKs spell
// the ids two ways: neru vapiID/conversationID, vcr vapiId/conversationId.
type subscription struct {
	Callback       listener.Callback `json:"callback"`
	VapiID         string            `json:"vapiID"`
	VapiId         string            `json:"vapiId"`
	ConversationID string            `json:"conversationID"`
	ConversationId string            `json:"conversationId"`
	// To narrows an answer listener to one number (Go SDK; the JS SDKs never send it).
	To string `json:"to"`
}

// Listener builds the listener for a subscribe action of an authenticated
// instance.
func Listener(instanceID, action string, payload json.RawMessage) (*listener.Listener, error) {
	var s subscription
	if err := json.Unmarshal(payload, &s); err != nil {
		return nil, fmt.Errorf("%w: %s payload: %v", listener.ErrInvalid, action, err)
	}
	var key, value string
	switch action {
	case ActionAnswer:
		value = or(messages.Number(s.To), listener.Any)
		key = listener.Key("vapi-answer", value)
	case ActionEvent:
		switch {
		case or(s.VapiID, s.VapiId) != "":
			value = or(s.VapiID, s.VapiId)
			key = listener.Key("vapi-ev", "uuid", value)
		case or(s.ConversationID, s.ConversationId) != "":
			value = or(s.ConversationID, s.ConversationId)
			key = listener.Key("vapi-ev", "conv", value)
		default:
			key = listener.Key("vapi-ev", listener.Any)
		}
	default:
		return nil, fmt.Errorf("%w: unknown %s action %q", listener.ErrInvalid, Provider, action)
	}
	// Checked on the value, not by counting separators in the key: the
	// answer key has one part, so "to":"a|b" would pass a count of "> 2".
	if strings.Contains(value, "|") {
		return nil, fmt.Errorf("%w: ids and numbers may not contain |", listener.ErrInvalid)
	}
	return listener.New(instanceID, Provider, action, key, s.Callback), nil
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
