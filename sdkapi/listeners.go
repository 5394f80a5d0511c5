package sdkapi

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/neru-dev/neru/internal/httpx"
	"github.com/neru-dev/neru/providers"
)

// listenerAdapter serves an event provider's subscribe and unsubscribe
// actions (vonage-voice, vonage-messaging), as its descriptor lists them.
func (a *API) listenerAdapter(p providers.Descriptor) adapter {
	acts := map[string]action{}
	for name, build := range p.Subscribe {
		acts[name] = func(ctx context.Context, c *call) (any, error) { return a.subscribe(ctx, c, build) }
	}
	for _, name := range p.Unsubscribe {
		acts[name] = a.unsubscribe
	}
	return adapter{name: p.Name, actions: acts, errors: p.Errors}
}

func (a *API) subscribe(ctx context.Context, c *call, build providers.ListenerFunc) (any, error) {
	l, err := build(c.inst.ID, c.action, c.payload)
	if err != nil {
		return nil, err
	}
	if l.SessionID == "" {
		l.SessionID = c.session
	}
	if _, err := a.d.Sessions.Ensure(ctx, c.inst.ID, l.SessionID); err != nil {
		return nil, err
	}
	if err := a.d.Listeners.Add(ctx, l); err != nil {
		return nil, err
	}
	return "OK", nil
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
