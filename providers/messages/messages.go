package messages

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/neru-dev/neru/listener"
	"github.com/neru-dev/neru/router"
)

// Provider is the provider name the SDKs use.
const Provider = "vonage-messaging"

// SDK actions.
const (
	ActionInbound     = "subscribe-inbound-messages"
	ActionEvents      = "subscribe-inbound-events"
	ActionUnsubscribe = "unsubscribe-event"
)

// Event kinds.
const (
	KindInbound = "messages.inbound"
	KindStatus  = "messages.status"
)

// ErrBadWebhook wraps every reason a webhook body is rejected.
var ErrBadWebhook = errors.New("bad messages webhook")

// webhook holds the fields routing needs. Messages API v1 sends to/from as
// strings; the older v0.1 shape sends {type, number|id} objects. Both parse.
type webhook struct {
	MessageUUID string  `json:"message_uuid"`
	Channel     string  `json:"channel"`
	To          contact `json:"to"`
	From        contact `json:"from"`
	Status      string  `json:"status"`
	Timestamp   string  `json:"timestamp"`
}

type contact struct{ value, typ string }

func (c *contact) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		c.value = s
		return nil
	}
	var o struct{ Type, Number, ID string }
	if err := json.Unmarshal(b, &o); err != nil {
		return errors.New("to/from must be a string or a {type, number} object")
	}
	c.typ, c.value = o.Type, o.Number
	if c.value == "" {
		c.value = o.ID
	}
	return nil
}

// ParseInbound parses an inbound message webhook.
func ParseInbound(body []byte) (*router.Event, error) {
	w, err := parse(body)
	if err != nil {
		return nil, err
	}
	return &router.Event{
		Kind: KindInbound,
		ID:   "msg-in:" + w.MessageUUID,
		Keys: keys("msg-in", w.Channel, Number(w.To.value), Number(w.From.value)),
		Body: body,
	}, nil
}

// ParseStatus parses a message status webhook. One message has several
// statuses, so the event id includes the status and its timestamp.
func ParseStatus(body []byte) (*router.Event, error) {
	w, err := parse(body)
	if err != nil {
		return nil, err
	}
	if w.Status == "" {
		return nil, fmt.Errorf("%w: status is required", ErrBadWebhook)
	}
	return &router.Event{
		Kind: KindStatus,
		ID:   "msg-ev:" + w.MessageUUID + ":" + w.Status + ":" + w.Timestamp,
		Keys: keys("msg-ev", w.Channel, Number(w.From.value), Number(w.To.value)),
		Body: body,
	}, nil
}

func parse(body []byte) (*webhook, error) {
	var w webhook
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadWebhook, err)
	}
	if w.Channel == "" && w.To.typ != "" {
		w.Channel = w.To.typ
	}
	w.Channel = channel(w.Channel)
	switch {
	case w.MessageUUID == "":
		return nil, fmt.Errorf("%w: message_uuid is required", ErrBadWebhook)
	case w.Channel == "":
		return nil, fmt.Errorf("%w: channel is required", ErrBadWebhook)
	case w.To.value == "" || w.From.value == "":
		return nil, fmt.Errorf("%w: to and from are required", ErrBadWebhook)
	case strings.Contains(w.Channel+w.To.value+w.From.value, "|"):
		return nil, fmt.Errorf("%w: channel, to and from may not contain |", ErrBadWebhook)
	}
	return &w, nil
}

// keys lists every index key an event could be registered under: the exact
// values and the wildcard in each of the three positions. A value that is
// itself "*" would repeat a key, and a repeated key makes the store return
// the same listener twice, so repeats are dropped.
func keys(kind, channel, a, b string) []string {
	out := make([]string, 0, 8)
	for _, c := range []string{channel, listener.Any} {
		for _, x := range []string{a, listener.Any} {
			for _, y := range []string{b, listener.Any} {
				if k := listener.Key(kind, c, x, y); !slices.Contains(out, k) {
					out = append(out, k)
				}
			}
		}
	}
	return out
}

// channel normalises a channel name for matching, on both sides: Vonage and
// the SDKs spell channels in lower case, and the v0.1 webhooks name Viber
// "viber_service_msg" where v1 and the SDK's MessageContact say "viber_service".
func channel(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "viber_service_msg" {
		return "viber_service"
	}
	return s
}

// Number normalises a phone number or channel id for matching: surrounding
// space and a leading "+" are dropped, so "+447700900001" matches "447700900001".
func Number(s string) string {
	return strings.TrimPrefix(strings.TrimSpace(s), "+")
}

// Contact is the SDK's MessageContact. A null or missing number matches any.
type Contact struct {
	Type   string  `json:"type"`
	Number *string `json:"number"`
	ID     *string `json:"id,omitempty"`
}

func (c *Contact) key() string {
	if c == nil {
		return listener.Any
	}
	// Normalise before testing for empty: "+" or " " is no number at all,
	// and must not become an empty key part that no event ever yields.
	if c.Number != nil {
		if n := Number(*c.Number); n != "" {
			return n
		}
	}
	if c.ID != nil {
		if id := Number(*c.ID); id != "" {
			return id
		}
	}
	return listener.Any
}

// Subscription is the payload of both subscribe actions.
type Subscription struct {
	From     *Contact          `json:"from"`
	To       *Contact          `json:"to"`
	Callback listener.Callback `json:"callback"`
}

// Listener builds the listener for a subscribe action of an authenticated
// instance.
func Listener(instanceID, action string, payload json.RawMessage) (*listener.Listener, error) {
	var s Subscription
	if err := json.Unmarshal(payload, &s); err != nil {
		return nil, fmt.Errorf("%w: %s payload: %v", listener.ErrInvalid, action, err)
	}
	ch := listener.Any
	for _, c := range []*Contact{s.To, s.From} {
		if c != nil && channel(c.Type) != "" {
			ch = channel(c.Type)
			break
		}
	}
	var key string
	switch action {
	case ActionInbound:
		key = listener.Key("msg-in", ch, s.To.key(), s.From.key())
	case ActionEvents:
		key = listener.Key("msg-ev", ch, s.From.key(), s.To.key())
	default:
		return nil, fmt.Errorf("%w: unknown %s action %q", listener.ErrInvalid, Provider, action)
	}
	if strings.Count(key, "|") != 3 {
		return nil, fmt.Errorf("%w: channel and numbers may not contain |", listener.ErrInvalid)
	}
	return listener.New(instanceID, Provider, action, key, s.Callback), nil
}
