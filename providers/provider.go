// Package providers describes an event provider to the platform: its name
// as the SDKs address it, the listener actions it serves on the SDK command
// endpoint, its webhook routes on the edge, and the HTTP answers of its
// errors. Each provider package (voice, messages) declares one Descriptor
// next to its parsers; the composition root lists them once, and the edge
// (webhook routes) and the SDK endpoint (actions) both read that list, so a
// new provider is one package and one line.
//
// It owns no Redis keys and no NATS subjects.
package providers

import (
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/neru-dev/neru/internal/httpx"
	"github.com/neru-dev/neru/listener"
	"github.com/neru-dev/neru/router"
)

// Mode says how the edge answers a webhook.
type Mode int

const (
	// Stream: every matching listener gets the event through the stream;
	// the provider gets 200 once JetStream stored every delivery.
	Stream Mode = iota
	// Answer: the provider waits for a reply (the call's NCCO), which the
	// newest matching listener gives synchronously (router.Answerer).
	Answer
	// Input: like Answer for the newest listener, and the others get the
	// event through the stream (router.RouteInput).
	Input
)

// Webhook is one webhook route, /webhooks/<application id>/<Path>.
type Webhook struct {
	Path string
	// Parse reads the body and says how to answer it; a malformed body is
	// an error the provider's Errors map (a 4xx).
	Parse func(body []byte) (*router.Event, Mode, error)
	// Query, when set, also serves the webhook as GET: it builds the body
	// Parse reads from the query parameters (Vonage's voice answer_method
	// and event_method may be GET). Nil: POST only.
	Query func(url.Values) ([]byte, error)
}

// Streamed adapts a parser of stream-only webhooks.
func Streamed(parse func([]byte) (*router.Event, error)) func([]byte) (*router.Event, Mode, error) {
	return func(b []byte) (*router.Event, Mode, error) {
		ev, err := parse(b)
		return ev, Stream, err
	}
}

// ListenerFunc builds the listener an SDK subscribe action asks for.
type ListenerFunc func(instanceID, action string, payload json.RawMessage) (*listener.Listener, error)

// Descriptor is everything the platform needs to know of one provider.
type Descriptor struct {
	Name string // as the SDKs address it, e.g. "vonage-voice"
	// Subscribe maps each subscribe action to the builder of its listener.
	Subscribe map[string]ListenerFunc
	// Unsubscribe lists the actions that remove a listener by its id.
	Unsubscribe []string
	Webhooks    []Webhook
	// Errors are the HTTP answers of the provider's own errors.
	Errors []httpx.Rule
}

// Validate refuses a list that cannot be served: an empty or repeated
// name, or a webhook path claimed twice. Call it at startup.
func Validate(ds []Descriptor) error {
	names, paths := map[string]bool{}, map[string]bool{}
	for _, d := range ds {
		if d.Name == "" || names[d.Name] {
			return fmt.Errorf("providers: empty or duplicate provider name %q", d.Name)
		}
		names[d.Name] = true
		for _, w := range d.Webhooks {
			if w.Path == "" || paths[w.Path] || w.Parse == nil {
				return fmt.Errorf("providers: %s: empty, duplicate or unparsed webhook path %q", d.Name, w.Path)
			}
			paths[w.Path] = true
		}
	}
	return nil
}
