package edge

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/neru-dev/neru/delivery"
	"github.com/neru-dev/neru/instance"
	"github.com/neru-dev/neru/internal/httpx"
	"github.com/neru-dev/neru/internal/observe"
	"github.com/neru-dev/neru/listener"
	"github.com/neru-dev/neru/providers"
	"github.com/neru-dev/neru/router"
)

// routeWebhooks serves every provider's webhooks under
// /webhooks/<application id>/. An instance with signature secrets gets only
// webhooks Vonage signed (signature.go); the check runs on the raw body,
// after the instance is known and before anything is parsed or published.
func (e *Edge) routeWebhooks(g *echo.Group) {
	for _, p := range e.d.Providers {
		for _, w := range p.Webhooks {
			g.POST("/"+w.Path, e.outage.wrap(e.errors, e.webhook(http.MethodPost, w.Path, nil, w.Parse)))
			if w.Query != nil {
				g.GET("/"+w.Path, e.outage.wrap(e.errors, e.webhook(http.MethodGet, w.Path, w.Query, w.Parse)))
			}
		}
	}
}

// webhook reads, resolves and parses one webhook and answers it the way
// its parser says, then reports what it did to the observer.
// query, when not nil, builds the body from the query parameters of a GET.
//
// Each webhook is a server span, the root of the event's trace: it
// continues the traceparent the provider sent, if any, and the match,
// publish and delivery attempt spans descend from it (see tracing.go).
func (e *Edge) webhook(method, route string, query func(url.Values) ([]byte, error), parse func([]byte) (*router.Event, providers.Mode, error)) echo.HandlerFunc {
	spanName := method + " " + webhookPrefix + route // built once: span names are a bounded set
	return func(c echo.Context) error {
		ob := observe.Webhook{Route: route, Start: time.Now()}
		span := startWebhookSpan(c, spanName)
		defer span.End()
		err := e.handleWebhook(c, query, parse, &ob)
		e.observed(c, &ob, err)
		endWebhookSpan(span, method, &ob, err)
		return err
	}
}

func (e *Edge) handleWebhook(c echo.Context, query func(url.Values) ([]byte, error), parse func([]byte) (*router.Event, providers.Mode, error), ob *observe.Webhook) error {
	body, err := httpx.ReadBody(c.Request(), e.cfg.MaxBody)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	in, err := e.d.Instances.ByApplication(ctx, c.Param("app"))
	if err != nil {
		if errors.Is(err, instance.ErrNotFound) {
			return httpx.Errorf(http.StatusNotFound, "unknown_application", "no instance serves application %q", c.Param("app"))
		}
		return err
	}
	ob.Instance = in.ID
	// The signature covers the raw body: a signed GET has none, so its
	// token carries no payload_hash, or the hash of the empty body.
	if err := e.verifySignature(c.Request(), in, body, time.Now()); err != nil {
		return err
	}
	if query != nil {
		if body, err = query(c.QueryParams()); err != nil {
			return err
		}
	}
	ev, mode, err := parse(body)
	if err != nil {
		return err
	}
	ob.Kind, ob.EventID = ev.Kind, ev.ID
	switch mode {
	case providers.Answer:
		return e.answer(c, in, ev, ob)
	case providers.Input:
		return e.input(c, in, ev, ob)
	}
	return e.route(c, in, ev, ob)
}

// observed completes ob from the handler's result and hands it to the
// observer. The outcome of a handler that answered itself (err nil) was set
// by it; an error is classified the way the error handler will answer it.
func (e *Edge) observed(c echo.Context, ob *observe.Webhook, err error) {
	ob.Duration = time.Since(ob.Start)
	ob.Status = c.Response().Status
	if err != nil {
		ob.Status = httpx.Status(err, e.errors.Map)
		var he *httpx.Error
		switch {
		case errors.Is(err, router.ErrUnavailable) || ob.Status == http.StatusServiceUnavailable:
			ob.Outcome = observe.Unavailable
		case errors.As(err, &he) && he.Code == "unknown_application":
			ob.Outcome = observe.Unknown
		case ob.Status < 500:
			ob.Outcome = observe.Rejected
		default:
			ob.Outcome = observe.Failed
		}
	}
	e.d.Observer.Webhook(c.Request().Context(), *ob)
}

// targets lists the listeners a webhook matched, for its observation.
func targets(ls []*listener.Listener) []observe.Target {
	if len(ls) == 0 {
		return nil
	}
	out := make([]observe.Target, len(ls))
	for i, l := range ls {
		out[i] = observe.Target{Session: l.SessionID, Listener: l.ID, Path: l.Path}
	}
	return out
}

// route publishes ev's deliveries and answers the provider. It fails fast
// with 503 while the bus is disconnected, rather than queueing publishes
// that may never be stored.
func (e *Edge) route(c echo.Context, in *instance.Instance, ev *router.Event, ob *observe.Webhook) error {
	if !e.d.Bus.IsConnected() {
		return router.ErrUnavailable
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), e.cfg.PublishTimeout)
	defer cancel()
	n, err := e.d.Router.Route(ctx, in.ID, ev)
	ob.Matched = targets(ev.Matched)
	if err != nil {
		return err
	}
	ob.Outcome = observe.Routed
	if n == 0 {
		ob.Outcome = observe.Unmatched
	}
	return c.JSONBlob(http.StatusOK, deliveriesReply(n))
}

// deliveriesReply is the answer to a routed webhook, {"deliveries":n}, as
// echo's JSON encoder writes it, built without reflection: every webhook
// gets one.
func deliveriesReply(n int) []byte {
	b := append(make([]byte, 0, 24), `{"deliveries":`...)
	return append(strconv.AppendInt(b, int64(n), 10), "}\n"...)
}

// answer relays the answering listener's NCCO for an inbound call, or the
// fallback NCCO: a call is always answered.
func (e *Edge) answer(c echo.Context, in *instance.Instance, ev *router.Event, ob *observe.Webhook) error {
	ctx := c.Request().Context()
	l, err := e.d.Router.Answerer(ctx, in.ID, ev)
	ob.Matched = targets(ev.Matched)
	if err != nil {
		e.log.Error("answer: match failed", "instance", in.ID, "err", err)
		return e.fallback(c, ob, "matching failed")
	}
	if l == nil {
		e.log.Warn("answer: no listener for inbound call", "instance", in.ID)
		return e.fallback(c, ob, "no listener answers calls")
	}
	ncco, err := e.syncCall(ctx, in, ev, l)
	if err != nil {
		e.log.Warn("answer: app did not return an NCCO; answering the fallback", "instance", in.ID, "err", err)
		return e.fallback(c, ob, why(err))
	}
	ob.Outcome = observe.Answered
	return c.JSONBlob(http.StatusOK, ncco)
}

// input answers an input result (speech, DTMF) with the newest listener's
// NCCO; the router sends it to the other listeners through the stream.
//
// Only an app that gave no answer in time gets the event again through the
// stream. One that answered, even with a 4xx or something other than an
// NCCO, has seen the event: sending it again would deliver it twice.
func (e *Edge) input(c echo.Context, in *instance.Instance, ev *router.Event, ob *observe.Webhook) error {
	ctx := c.Request().Context()
	l, err := e.d.Router.RouteInput(ctx, in.ID, ev)
	ob.Matched = targets(ev.Matched)
	if err != nil {
		return err
	}
	if l == nil {
		return e.fallback(c, ob, "no listener answers it")
	}
	ncco, err := e.syncCall(ctx, in, ev, l)
	if err == nil {
		ob.Outcome = observe.Answered
		return c.JSONBlob(http.StatusOK, ncco)
	}
	if !unanswered(err) {
		e.log.Warn("voice input: app's answer is not an NCCO; answering the fallback", "instance", in.ID, "err", err)
		return e.fallback(c, ob, why(err))
	}
	e.log.Warn("voice input: app did not answer in time; queued for retry", "instance", in.ID, "err", err)
	if err := e.d.Router.Handoff(ctx, in.ID, ev, l); err != nil {
		return err
	}
	return e.fallback(c, ob, why(err)+"; queued for retry")
}

// errNotNCCO: the app answered 2xx with something other than an NCCO.
var errNotNCCO = errors.New("the app's answer is not a JSON NCCO array")

// unanswered reports whether a synchronous call got no answer from the app
// at all (timeout, connection refused or reset), as opposed to an answer
// that was not an NCCO.
func unanswered(err error) bool {
	var se *delivery.StatusError
	return !errors.As(err, &se) && !errors.Is(err, errNotNCCO)
}

// syncCall posts ev to one listener's route and returns the app's NCCO.
func (e *Edge) syncCall(ctx context.Context, in *instance.Instance, ev *router.Event, l *listener.Listener) ([]byte, error) {
	d := router.Deliveries(in.ID, ev, []*listener.Listener{l}, time.Now())[0]
	ctx, cancel := context.WithTimeout(ctx, e.cfg.AnswerTimeout)
	defer cancel()
	body, err := e.d.App.Post(ctx, in, d, 1, e.cfg.MaxBody)
	if err != nil {
		return nil, err
	}
	var ncco []json.RawMessage
	if err := json.Unmarshal(body, &ncco); err != nil {
		return nil, errNotNCCO
	}
	return body, nil
}

// why says, for the live stream, why a synchronous call got no NCCO.
func why(err error) string {
	if unanswered(err) {
		return "app unreachable (" + err.Error() + ")"
	}
	return err.Error()
}

func (e *Edge) fallback(c echo.Context, ob *observe.Webhook, reason string) error {
	ob.Outcome, ob.Err = observe.Fallback, reason
	return c.JSONBlob(http.StatusOK, []byte(e.cfg.FallbackNCCO))
}
