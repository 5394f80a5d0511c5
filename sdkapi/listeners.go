package sdkapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/neru-dev/neru/internal/httpx"
	"github.com/neru-dev/neru/listener"
	"github.com/neru-dev/neru/providers"
)

// ActionSubscribeMany registers many listeners of one provider in one
// command: {"subscriptions": [{"action": <a subscribe action of the
// provider>, "payload": <what that action takes>}, ...]}. No JS SDK sends
// it; it is for apps that register many numbers at start (the Go SDK's
// Client.Subscribe).
const ActionSubscribeMany = "subscribe-many"

// MaxSubscriptions is how many listeners one subscribe-many registers at
// most. A thousand payloads of a few hundred bytes stay well inside the
// default 1 MiB body, and the request's Redis pipelines a few hundred
// kilobytes, while one request per thousand listeners is already far
// from the per-request cost that made one by one slow.
const MaxSubscriptions = 1000

// listenerAdapter serves an event provider's subscribe and unsubscribe
// actions (vonage-voice, vonage-messaging), as its descriptor lists them,
// and subscribe-many over its subscribe actions.
func (a *API) listenerAdapter(p providers.Descriptor) adapter {
	acts := map[string]action{}
	for name, build := range p.Subscribe {
		acts[name] = func(ctx context.Context, c *call) (any, error) { return a.subscribe(ctx, c, build) }
	}
	if len(p.Subscribe) > 0 {
		acts[ActionSubscribeMany] = func(ctx context.Context, c *call) (any, error) { return a.subscribeMany(ctx, c, p.Subscribe) }
	}
	for _, name := range p.Unsubscribe {
		acts[name] = a.unsubscribe
	}
	return adapter{name: p.Name, actions: acts, errors: p.Errors}
}

func (a *API) subscribe(ctx context.Context, c *call, build providers.ListenerFunc) (any, error) {
	l, err := listenerOf(c, build, c.action, c.payload)
	if err != nil {
		return nil, err
	}
	if err := a.register(ctx, c, []*listener.Listener{l}); err != nil {
		return nil, err
	}
	return "OK", nil
}

// subscribeMany is subscribe for many listeners, all or nothing: every
// item is built and validated first (a bad one is a 400 naming its index),
// then they are registered together. It answers {"ids": [...]}, the
// listener ids in the order of the items.
func (a *API) subscribeMany(ctx context.Context, c *call, builds map[string]providers.ListenerFunc) (any, error) {
	var p struct {
		Subscriptions []struct {
			Action  string          `json:"action"`
			Payload json.RawMessage `json:"payload"`
		} `json:"subscriptions"`
	}
	if err := json.Unmarshal(c.payload, &p); err != nil {
		return nil, httpx.Errorf(http.StatusBadRequest, "bad_payload", `%s needs {"subscriptions": [{"action": ..., "payload": {...}}, ...]}: %v`, ActionSubscribeMany, err)
	}
	if n := len(p.Subscriptions); n == 0 || n > MaxSubscriptions {
		return nil, httpx.Errorf(http.StatusBadRequest, "bad_payload", "%s takes 1 to %d subscriptions, got %d", ActionSubscribeMany, MaxSubscriptions, n)
	}
	ls := make([]*listener.Listener, len(p.Subscriptions))
	index := make(map[string]int, len(ls)) // listener id → item
	for i, sub := range p.Subscriptions {
		build, ok := builds[sub.Action]
		if !ok {
			return nil, httpx.Errorf(http.StatusBadRequest, "bad_subscription", "subscriptions[%d]: provider %q has no subscribe action %q", i, c.provider, sub.Action)
		}
		l, err := listenerOf(c, build, sub.Action, sub.Payload)
		if err != nil {
			return nil, fmt.Errorf("subscriptions[%d]: %w", i, err)
		}
		if j, dup := index[l.ID]; dup {
			return nil, httpx.Errorf(http.StatusBadRequest, "bad_subscription", "subscriptions[%d]: callback id %q is subscriptions[%d]'s too", i, l.ID, j)
		}
		index[l.ID] = i
		ls[i] = l
	}
	if err := a.register(ctx, c, ls); err != nil {
		return nil, err
	}
	ids := make([]string, len(ls))
	for i, l := range ls {
		ids[i] = l.ID
	}
	return map[string][]string{"ids": ids}, nil
}

// listenerOf builds and validates the listener one subscribe action's
// payload asks for. Its session is the callback's, else the command's.
func listenerOf(c *call, build providers.ListenerFunc, action string, payload json.RawMessage) (*listener.Listener, error) {
	l, err := build(c.inst.ID, action, payload)
	if err != nil {
		return nil, err
	}
	if l.SessionID == "" {
		l.SessionID = c.session
	}
	if err := l.Validate(); err != nil {
		return nil, err
	}
	return l, nil
}

// register stores listeners of the command's instance: their sessions
// exist from now on (an ended one is 410, new ones past the cap 429,
// nothing written then), and the listeners are stored in the order given.
func (a *API) register(ctx context.Context, c *call, ls []*listener.Listener) error {
	sessions := make([]string, len(ls))
	for i, l := range ls {
		sessions[i] = l.SessionID
	}
	if err := a.d.Sessions.EnsureAll(ctx, c.inst.ID, sessions); err != nil {
		return err
	}
	return a.d.Listeners.AddMany(ctx, ls)
}

func (a *API) unsubscribe(ctx context.Context, c *call) (any, error) {
	var p struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(c.payload, &p); err != nil || p.ID == "" {
		return nil, httpx.Errorf(http.StatusBadRequest, "bad_payload", "unsubscribe-event needs {\"id\": \"<callback id>\"}")
	}
	if err := a.d.Listeners.Remove(ctx, c.inst.ID, p.ID); err != nil {
		return nil, err
	}
	return "OK", nil
}
