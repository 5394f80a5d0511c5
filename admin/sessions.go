package admin

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/neru-dev/neru/internal/httpx"
	"github.com/neru-dev/neru/listener"
	"github.com/neru-dev/neru/session"
	"github.com/neru-dev/neru/state"
)

func (a *Admin) routeSessions(g *echo.Group) {
	g.GET("/instances/:id/sessions", a.listSessions)
	g.GET("/instances/:id/sessions/:sid", a.getSession)
	g.GET("/instances/:id/sessions/:sid/state", a.getSessionState)
	// The store is looked up per request, so a partial Deps (tests, a
	// process without sessions) registers without touching it.
	g.POST("/instances/:id/sessions/:sid/reset", a.sessionOp(func(ctx context.Context, inst, sid string) error {
		return a.d.Sessions.Reset(ctx, inst, sid)
	}))
	g.DELETE("/instances/:id/sessions/:sid", a.sessionOp(func(ctx context.Context, inst, sid string) error {
		return a.d.Sessions.Delete(ctx, inst, sid)
	}))
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

// sessionParam is the :sid of a route, unescaped: session ids are any
// string the SDK chose.
func sessionParam(c echo.Context) (string, error) {
	sid, err := url.PathUnescape(c.Param("sid"))
	if err != nil {
		return "", httpx.Errorf(http.StatusBadRequest, "bad_request", "session id is not a valid path segment")
	}
	return sid, session.ValidateID(sid)
}

func (a *Admin) listSessions(c echo.Context) error {
	in, err := a.instance(c)
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
	page, next, err := a.d.Sessions.List(ctx, in.ID, c.QueryParam("cursor"), limit)
	if err != nil {
		return err
	}
	total, err := a.d.Sessions.Count(ctx, in.ID)
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

func (a *Admin) getSession(c echo.Context) error {
	in, err := a.instance(c)
	if err != nil {
		return err
	}
	sid, err := sessionParam(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	s, err := a.d.Sessions.Get(ctx, in.ID, sid)
	if err != nil {
		return err
	}
	out := sessionDetail{sessionView: viewSession(s, time.Now())}
	if out.Listeners, err = a.d.Listeners.List(ctx, in.ID, sid); err != nil {
		return err
	}
	switch n, err := a.d.Sessions.StateKeys(ctx, in.ID, sid); {
	case err == nil:
		out.StateKeys = &n
	case !errors.Is(err, session.ErrNoState):
		return err
	}
	if out.Deliveries, err = a.d.Sessions.Recent(ctx, in.ID, sid); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// sessionOp serves an admin call that applies op to one session and
// answers 204: reset (clear state, keep listeners) and delete (listeners,
// state and record).
func (a *Admin) sessionOp(op func(ctx context.Context, instanceID, sessionID string) error) echo.HandlerFunc {
	return func(c echo.Context) error {
		in, err := a.instance(c)
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

// StateReader reads a session's state keys with their values
// (state.Store), at most max keys, and reports whether there were more.
type StateReader interface {
	SessionEntries(ctx context.Context, instanceID, sessionID string, max int) ([]state.Entry, bool, error)
}

// maxStateKeys bounds the keys one state call shows.
const maxStateKeys = 500

// getSessionState shows a session's state keys with their values, for the
// console's session page. It reads whatever is stored, so it answers for a
// session that has expired but whose keys are not yet swept, too.
func (a *Admin) getSessionState(c echo.Context) error {
	in, err := a.instance(c)
	if err != nil {
		return err
	}
	sid, err := sessionParam(c)
	if err != nil {
		return err
	}
	if a.d.State == nil {
		return httpx.Errorf(http.StatusServiceUnavailable, "unavailable", "this gateway has no state store")
	}
	entries, more, err := a.d.State.SessionEntries(c.Request().Context(), in.ID, sid, maxStateKeys)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"entries": entries, "truncated": more})
}
