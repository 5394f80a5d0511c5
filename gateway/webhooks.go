package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/neru-dev/neru/instance"
	"github.com/neru-dev/neru/internal/httpx"
	"github.com/neru-dev/neru/listener"
	"github.com/neru-dev/neru/providers/messages"
	"github.com/neru-dev/neru/providers/voice"
	"github.com/neru-dev/neru/router"
)

func (g *Gateway) routePublic(e *echo.Echo) {
	e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/readyz", g.ready)
	wh := e.Group("/webhooks/:app")
	wh.POST("/messages/inbound", g.routed(messages.ParseInbound))
	wh.POST("/messages/status", g.routed(messages.ParseStatus))
	wh.POST("/voice/answer", g.answer)
	wh.POST("/voice/event", g.voiceEvent)
	wh.POST("/voice/rtc", g.routed(voice.ParseRTC)) // Conversation API (RTC) events
	// vonage-assets download links: GET /assets/<token>
	g.routeAssetLinks(e)
	g.routeAdmin(e.Group("/admin/v1"))
}

func (g *Gateway) ready(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := g.d.Redis.Ping(ctx).Err(); err != nil {
		return httpx.Errorf(http.StatusServiceUnavailable, "redis_unavailable", "redis does not answer")
	}
	if !g.d.NATS.IsConnected() {
		return httpx.Errorf(http.StatusServiceUnavailable, "nats_unavailable", "not connected to NATS")
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}

// webhookIn reads and parses a webhook and resolves its instance.
func (g *Gateway) webhookIn(c echo.Context, parse func([]byte) (*router.Event, error)) (*instance.Instance, *router.Event, error) {
	body, err := httpx.ReadBody(c.Request(), g.cfg.MaxBody)
	if err != nil {
		return nil, nil, err
	}
	in, err := g.d.Instances.ByApplication(c.Request().Context(), c.Param("app"))
	if err != nil {
		if errors.Is(err, instance.ErrNotFound) {
			return nil, nil, httpx.Errorf(http.StatusNotFound, "unknown_application", "no instance serves application %q", c.Param("app"))
		}
		return nil, nil, err
	}
	ev, err := parse(body)
	if err != nil {
		return nil, nil, err
	}
	return in, ev, nil
}

// routed handles a webhook that is delivered through the stream.
func (g *Gateway) routed(parse func([]byte) (*router.Event, error)) echo.HandlerFunc {
	return func(c echo.Context) error {
		in, ev, err := g.webhookIn(c, parse)
		if err != nil {
			return err
		}
		return g.route(c, in, ev)
	}
}

// route publishes ev's deliveries and answers the provider. It fails fast
// with 503 while NATS is disconnected, rather than queueing publishes that
// may never be stored.
func (g *Gateway) route(c echo.Context, in *instance.Instance, ev *router.Event) error {
	if !g.d.NATS.IsConnected() {
		return router.ErrUnavailable
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), g.cfg.PublishTimeout)
	defer cancel()
	n, err := g.router.Route(ctx, in.ID, ev)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]int{"deliveries": n})
}

// answer relays the app's NCCO for an inbound call. The newest answer
// listener wins: apps register one at every start, each in a new session.
func (g *Gateway) answer(c echo.Context) error {
	in, ev, err := g.webhookIn(c, voice.ParseAnswer)
	if err != nil {
		return err
	}
	ls, err := g.router.Match(c.Request().Context(), in.ID, ev)
	if err != nil {
		g.log.Error("answer: match failed", "instance", in.ID, "err", err)
		return g.fallback(c)
	}
	if len(ls) == 0 {
		g.log.Warn("answer: no listener for inbound call", "instance", in.ID)
		return g.fallback(c)
	}
	ncco, err := g.syncCall(c.Request().Context(), in, ev, ls[len(ls)-1])
	if err != nil {
		g.log.Warn("answer: app did not return an NCCO; answering the fallback", "instance", in.ID, "err", err)
		return g.fallback(c)
	}
	return c.JSONBlob(http.StatusOK, ncco)
}

// voiceEvent routes call events through the stream, except input results
// (speech, DTMF), which the newest listener answers synchronously with an
// NCCO; any other listeners get them through the stream.
func (g *Gateway) voiceEvent(c echo.Context) error {
	var input bool
	in, ev, err := g.webhookIn(c, func(b []byte) (*router.Event, error) {
		ev, in, err := voice.ParseEvent(b)
		input = in
		return ev, err
	})
	if err != nil {
		return err
	}
	if !input {
		return g.route(c, in, ev)
	}
	ctx := c.Request().Context()
	ls, err := g.router.Match(ctx, in.ID, ev)
	if err != nil {
		return err
	}
	if len(ls) == 0 {
		return g.fallback(c)
	}
	now := time.Now()
	head, rest := ls[len(ls)-1], ls[:len(ls)-1]
	if err := g.router.Publish(ctx, router.Deliveries(in.ID, ev, rest, now)); err != nil {
		return err
	}
	ncco, err := g.syncCall(ctx, in, ev, head)
	if err == nil {
		return c.JSONBlob(http.StatusOK, ncco)
	}
	// Not answered in time: hand it to the stream so it is still delivered.
	g.log.Warn("voice input: app did not answer in time; queued for retry", "instance", in.ID, "err", err)
	if err := g.router.Publish(ctx, router.Deliveries(in.ID, ev, []*listener.Listener{head}, now)); err != nil {
		return err
	}
	return g.fallback(c)
}

// syncCall posts ev to one listener's route and returns the app's NCCO.
func (g *Gateway) syncCall(ctx context.Context, in *instance.Instance, ev *router.Event, l *listener.Listener) ([]byte, error) {
	d := router.Deliveries(in.ID, ev, []*listener.Listener{l}, time.Now())[0]
	ctx, cancel := context.WithTimeout(ctx, g.cfg.AnswerTimeout)
	defer cancel()
	body, err := g.client.Post(ctx, in.BaseURL, d, 1, g.cfg.MaxBody)
	if err != nil {
		return nil, err
	}
	var ncco []json.RawMessage
	if err := json.Unmarshal(body, &ncco); err != nil {
		return nil, errors.New("the app's answer is not a JSON NCCO array")
	}
	return body, nil
}

func (g *Gateway) fallback(c echo.Context) error {
	return c.JSONBlob(http.StatusOK, []byte(g.cfg.FallbackNCCO))
}
