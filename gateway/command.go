package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/neru-dev/neru/assets"
	"github.com/neru-dev/neru/instance"
	"github.com/neru-dev/neru/internal/httpx"
	"github.com/neru-dev/neru/listener"
	"github.com/neru-dev/neru/providers/messages"
	"github.com/neru-dev/neru/providers/voice"
	"github.com/neru-dev/neru/queue"
	"github.com/neru-dev/neru/scheduler"
)

// call is one SDK request, whichever way it was addressed and framed.
type call struct {
	inst     *instance.Instance
	provider string
	action   string
	session  string // X-Neru-SessionId
	payload  json.RawMessage
	header   http.Header // the HTTP request's (vcr's invoke puts the app's extra headers here)
	// success and failure are neru's successCallback and errorCallback of
	// the action (only invoke uses them).
	success, failure *listener.Callback
}

// action handles one provider action and returns the JSON reply.
type action func(ctx context.Context, c *call) (any, error)

func (g *Gateway) actions() map[string]action {
	subscribe := func(build func(inst, action string, p json.RawMessage) (*listener.Listener, error)) action {
		return func(ctx context.Context, c *call) (any, error) { return g.subscribe(ctx, c, build) }
	}
	return map[string]action{
		voice.Provider + "/" + voice.ActionAnswer:            subscribe(voice.Listener),
		voice.Provider + "/" + voice.ActionEvent:             subscribe(voice.Listener),
		voice.Provider + "/" + voice.ActionUnsubscribe:       g.unsubscribe,
		messages.Provider + "/" + messages.ActionInbound:     subscribe(messages.Listener),
		messages.Provider + "/" + messages.ActionEvents:      subscribe(messages.Listener),
		messages.Provider + "/" + messages.ActionUnsubscribe: g.unsubscribe,
		voice.Provider + "/" + voice.ActionConvInbound:       subscribe(voice.ConversationListener),
		voice.Provider + "/" + voice.ActionConvEvent:         subscribe(voice.ConversationListener),
		vonageAPIProvider + "/" + actionInvoke:               g.invoke,
	}
}

// provider serves every request addressed to one provider, once the caller
// is authenticated. Providers with Command-envelope or /<action> framing use
// byAction; the others (state, queues, assets) parse their own requests.
type provider func(c echo.Context, inst *instance.Instance) error

func (g *Gateway) providers() map[string]provider {
	byAction := g.byAction(g.actions())
	return map[string]provider{
		voice.Provider:    byAction,
		messages.Provider: byAction,
		statePersistence:  g.serveState,
		vonageAPIProvider: byAction,
		assets.Provider:   g.serveAssets,

		scheduler.Provider: g.byAction(g.schedulerActions()),
		queue.Provider:     g.serveQueue,
	}
}

func (g *Gateway) routeCommand(e *echo.Echo) {
	providers := g.providers()
	e.Any("/*", func(c echo.Context) error {
		r := c.Request()
		name := providerOf(r)
		// Telemetry must always succeed: the SDKs send it without a catch,
		// and a non-2xx reply kills the app process (protocol §8.1).
		switch name {
		case "events-submission":
			g.submitEvent(r)
			return c.JSON(http.StatusOK, "OK")
		case "logs-submission":
			g.submitLog(r)
			return c.JSON(http.StatusOK, "OK")
		}
		serve, ok := providers[name]
		if !ok {
			return httpx.Errorf(http.StatusNotFound, "unknown_provider", "no provider %q (addressed by ?func= or the Host header)", name)
		}
		inst, err := g.authenticate(r)
		if err != nil {
			return err
		}
		if err := g.touchSession(r.Context(), inst, r.Header.Get("X-Neru-SessionId")); err != nil {
			return err
		}
		return serve(c, inst)
	})
}

// byAction serves a provider whose requests name an action.
func (g *Gateway) byAction(acts map[string]action) provider {
	return func(c echo.Context, inst *instance.Instance) error {
		r := c.Request()
		cl, err := g.readCall(r, inst, providerOf(r))
		if err != nil {
			return err
		}
		act, ok := acts[cl.provider+"/"+cl.action]
		if !ok {
			return httpx.Errorf(http.StatusNotFound, "unknown_action", "provider %q has no action %q", cl.provider, cl.action)
		}
		reply, err := act(r.Context(), cl)
		if err != nil {
			return err
		}
		if raw, ok := reply.(*rawReply); ok {
			return c.Blob(raw.status, raw.contentType, raw.body)
		}
		return c.JSON(http.StatusOK, reply)
	}
}

// providerOf finds the provider the SDK addressed: the first label of the
// func query parameter (debug style), else of the absolute-form request
// URI's host (proxy style: Go puts it in r.URL), else of the Host header
// (DNS style).
func providerOf(r *http.Request) string {
	name := r.URL.Query().Get("func")
	if name == "" {
		name = r.Host
		if r.URL.Host != "" {
			name = r.URL.Host
		}
		if h, _, err := net.SplitHostPort(name); err == nil {
			name = h
		}
		name = strings.ToLower(name) // host names are case-insensitive
	}
	provider, _, _ := strings.Cut(name, ".")
	return provider
}

// readCall frames a request as a call: a neru Command envelope posted to the
// provider root, or a vcr bare payload posted to /<action>.
func (g *Gateway) readCall(r *http.Request, inst *instance.Instance, provider string) (*call, error) {
	body, err := httpx.ReadBody(r, g.cfg.MaxBody)
	if err != nil {
		return nil, err
	}
	c := &call{inst: inst, provider: provider, session: r.Header.Get("X-Neru-SessionId"), header: r.Header}
	if path := strings.Trim(r.URL.Path, "/"); path != "" {
		c.action, c.payload = path, body
		return c, nil
	}
	var env struct {
		Actions []struct {
			Provider        string             `json:"provider"`
			Action          string             `json:"action"`
			Payload         json.RawMessage    `json:"payload"`
			SuccessCallback *listener.Callback `json:"successCallback"`
			ErrorCallback   *listener.Callback `json:"errorCallback"`
		} `json:"actions"`
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, httpx.Errorf(http.StatusBadRequest, "bad_command", "empty body: a command envelope {header, actions:[{provider, action, payload}]} is required at the provider root")
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, httpx.Errorf(http.StatusBadRequest, "bad_json", "invalid command envelope: %v", err)
	}
	if len(env.Actions) != 1 {
		return nil, httpx.Errorf(http.StatusBadRequest, "bad_command", "a command carries exactly one action, got %d", len(env.Actions))
	}
	a := env.Actions[0]
	if a.Provider != "" && a.Provider != provider {
		return nil, httpx.Errorf(http.StatusBadRequest, "bad_command", "action provider %q does not match the addressed provider %q", a.Provider, provider)
	}
	c.action, c.payload = a.Action, a.Payload
	c.success, c.failure = a.SuccessCallback, a.ErrorCallback
	return c, nil
}

func (g *Gateway) subscribe(ctx context.Context, c *call, build func(string, string, json.RawMessage) (*listener.Listener, error)) (any, error) {
	l, err := build(c.inst.ID, c.action, c.payload)
	if err != nil {
		return nil, err
	}
	if l.SessionID == "" {
		l.SessionID = c.session
	}
	if _, err := g.d.Sessions.Ensure(ctx, c.inst.ID, l.SessionID); err != nil {
		return nil, err
	}
	if err := g.d.Listeners.Add(ctx, l); err != nil {
		return nil, err
	}
	return "OK", nil
}

func (g *Gateway) unsubscribe(ctx context.Context, c *call) (any, error) {
	var p struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(c.payload, &p); err != nil || p.ID == "" {
		return nil, httpx.Errorf(http.StatusBadRequest, "bad_payload", "unsubscribe-event needs {\"id\": \"<callback id>\"}")
	}
	if err := g.d.Listeners.Remove(ctx, c.inst.ID, p.ID); err != nil {
		return nil, err
	}
	return "OK", nil
}

// submitEvent applies session_created (creating the session with its TTL).
// Failures are logged, never returned: see routeCommand.
func (g *Gateway) submitEvent(r *http.Request) {
	inst, err := g.authenticate(r)
	if err != nil {
		g.log.Warn("events-submission: unauthenticated event ignored")
		return
	}
	body, err := httpx.ReadBody(r, g.cfg.MaxBody)
	if err != nil {
		return
	}
	var ev struct {
		EventType string `json:"event_type"`
		SessionID string `json:"session_id"`
		Details   struct {
			ExpiresAt time.Time `json:"expiresAt"`
		} `json:"details"`
	}
	if json.Unmarshal(body, &ev) != nil || ev.EventType != "session_created" {
		return
	}
	ttl := time.Until(ev.Details.ExpiresAt)
	if ttl < time.Second {
		ttl = time.Second // expiresAt is rounded down to the minute by the SDK
	}
	if _, err := g.d.Sessions.Create(r.Context(), inst.ID, ev.SessionID, ttl); err != nil {
		g.log.Warn("events-submission: session not created", "instance", inst.ID, "err", err)
	}
}

// submitLog keeps the app's log line in a capped per-instance list
// (admin_logs.go), read by GET /admin/v1/instances/:id/logs and `neru logs`.
// Log bodies may carry PII, so they are stored, never written to our logs.
func (g *Gateway) submitLog(r *http.Request) {
	inst, err := g.authenticate(r)
	if err != nil {
		return
	}
	body, err := httpx.ReadBody(r, 64<<10)
	if err != nil || !json.Valid(body) {
		return
	}
	var compact bytes.Buffer
	if json.Compact(&compact, body) != nil {
		return
	}
	if err := g.appendLog(r.Context(), inst.ID, compact.Bytes()); err != nil {
		g.log.Warn("logs-submission: not stored", "instance", inst.ID, "err", err)
	}
}
