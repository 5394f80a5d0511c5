package gateway

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/neru-dev/neru/instance"
	"github.com/neru-dev/neru/internal/httpx"
	"github.com/neru-dev/neru/listener"
	"github.com/neru-dev/neru/session"
)

// touchSession is the session hook of every authenticated SDK command: the
// session it names exists from now on (created with the default lifetime if
// it was unknown, refused past the instance's cap) and, under sliding
// expiry, lives on. Commands without a valid session id pass unchanged.
func (g *Gateway) touchSession(ctx context.Context, inst *instance.Instance, id string) error {
	if id == "" {
		return nil
	}
	if err := g.d.Sessions.Touch(ctx, inst.ID, id); err != nil {
		if errors.Is(err, session.ErrTooMany) {
			return err
		}
		// Not the command's fault: log it and let the command run.
		g.log.Warn("session touch failed", "instance", inst.ID, "err", err)
	}
	return nil
}

func (g *Gateway) routeSessions(a *echo.Group) {
	a.GET("/instances/:id/sessions", g.listSessions)
	a.GET("/instances/:id/sessions/:sid", g.getSession)
	a.POST("/instances/:id/sessions/:sid/reset", g.sessionOp(g.d.Sessions.Reset))
	a.DELETE("/instances/:id/sessions/:sid", g.sessionOp(g.d.Sessions.Delete))
}

func (g *Gateway) updateInstance(c echo.Context) error {
	body, err := httpx.ReadBody(c.Request(), g.cfg.MaxBody)
	if err != nil {
		return err
	}
	var set instance.Settings
	if err := decodeStrict(body, &set); err != nil {
		return err
	}
	in, err := g.d.Instances.Update(c.Request().Context(), c.Param("id"), set)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, in)
}

// sessionView is a session as the admin API shows it. ExpiresAt and
// TTLSeconds are null for a session that never expires.
type sessionView struct {
	ID         string     `json:"id"`
	CreatedAt  time.Time  `json:"createdAt"`
	ExpiresAt  *time.Time `json:"expiresAt"`
	TTLSeconds *float64   `json:"ttlSeconds"`
}

func viewSession(s *session.Session, now time.Time) sessionView {
	v := sessionView{ID: s.ID, CreatedAt: s.CreatedAt}
	if !s.ExpiresAt.IsZero() {
		at := s.ExpiresAt
		left := max(at.Sub(now), 0).Round(time.Millisecond).Seconds()
		v.ExpiresAt, v.TTLSeconds = &at, &left
	}
	return v
}

// sessionDetail is one session with what hangs off it.
type sessionDetail struct {
	sessionView
	Listeners []*listener.Listener `json:"listeners"`
	// StateKeys is null when this gateway has no state store.
	StateKeys *int64 `json:"stateKeys"`
	// Deliveries are the session's recent delivery outcomes, newest first.
	Deliveries []session.Outcome `json:"deliveries"`
}

// adminInstance resolves the :id of an admin route, or 404.
func (g *Gateway) adminInstance(c echo.Context) (*instance.Instance, error) {
	return g.d.Instances.Get(c.Request().Context(), c.Param("id"))
}

// sessionParam is the :sid of a route, unescaped: session ids are any
// string the SDK chose.
func sessionParam(c echo.Context) (string, error) {
	sid, err := url.PathUnescape(c.Param("sid"))
	if err != nil {
		return "", httpx.Errorf(http.StatusBadRequest, "bad_request", "session id is not a valid path segment")
	}
	return sid, session.ValidateID(sid)
}

func (g *Gateway) listSessions(c echo.Context) error {
	in, err := g.adminInstance(c)
	if err != nil {
		return err
	}
	limit := 100
	if v := c.QueryParam("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 1000 {
			return httpx.Errorf(http.StatusBadRequest, "bad_request", "limit must be 1-1000")
		}
	}
	ctx := c.Request().Context()
	page, next, err := g.d.Sessions.List(ctx, in.ID, c.QueryParam("cursor"), limit)
	if err != nil {
		return err
	}
	total, err := g.d.Sessions.Count(ctx, in.ID)
	if err != nil {
		return err
	}
	now := time.Now()
	views := make([]sessionView, len(page))
	for i, s := range page {
		views[i] = viewSession(s, now)
	}
	return c.JSON(http.StatusOK, map[string]any{"sessions": views, "next": next, "live": total})
}

func (g *Gateway) getSession(c echo.Context) error {
	in, err := g.adminInstance(c)
	if err != nil {
		return err
	}
	sid, err := sessionParam(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	s, err := g.d.Sessions.Get(ctx, in.ID, sid)
	if err != nil {
		return err
	}
	out := sessionDetail{sessionView: viewSession(s, time.Now())}
	if out.Listeners, err = g.d.Listeners.List(ctx, in.ID, sid); err != nil {
		return err
	}
	switch n, err := g.d.Sessions.StateKeys(ctx, in.ID, sid); {
	case err == nil:
		out.StateKeys = &n
	case !errors.Is(err, session.ErrNoState):
		return err
	}
	if out.Deliveries, err = g.d.Sessions.Recent(ctx, in.ID, sid); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// sessionOp serves an admin call that applies op to one session and
// answers 204: reset (clear state, keep listeners) and delete (listeners,
// state and record).
func (g *Gateway) sessionOp(op func(ctx context.Context, instanceID, sessionID string) error) echo.HandlerFunc {
	return func(c echo.Context) error {
		in, err := g.adminInstance(c)
		if err != nil {
			return err
		}
		sid, err := sessionParam(c)
		if err != nil {
			return err
		}
		if err := op(c.Request().Context(), in.ID, sid); err != nil {
			return err
		}
		return c.NoContent(http.StatusNoContent)
	}
}
