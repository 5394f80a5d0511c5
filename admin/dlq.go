package admin

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/neru-dev/neru/delivery"
	"github.com/neru-dev/neru/instance"
	"github.com/neru-dev/neru/internal/httpx"
)

// The dead-letter endpoints: an instance's deliveries that ran out of
// attempts (NERU_DLQ), listed, shown, and replayed one by one, per session
// or all at once.
func (a *Admin) routeDLQ(g *echo.Group) {
	g.GET("/instances/:id/dlq", a.listDead)
	g.POST("/instances/:id/dlq/replay", a.replayDead)
	g.GET("/instances/:id/dlq/:seq", a.showDead)
	g.POST("/instances/:id/dlq/:seq/replay", a.replayOneDead)
}

func (a *Admin) dlq() (DeadLetters, error) {
	if a.d.DLQ == nil {
		return nil, httpx.Errorf(http.StatusServiceUnavailable, "unavailable", "this gateway has no JetStream access for the DLQ")
	}
	return a.d.DLQ, nil
}

// deadView is a dead delivery as the admin API shows it; Body only on show.
type deadView struct {
	Seq        uint64            `json:"seq"`
	Died       time.Time         `json:"died"`
	ID         string            `json:"id"`
	SessionID  string            `json:"sessionId"`
	ListenerID string            `json:"listenerId"`
	Path       string            `json:"path"`
	Kind       string            `json:"kind"`
	AcceptedAt time.Time         `json:"acceptedAt"`
	Attempts   int               `json:"attempts"`
	Reason     string            `json:"reason"`
	Headers    map[string]string `json:"headers,omitempty"`
	Body       any               `json:"body,omitempty"`
}

func viewDead(d *delivery.Dead, withBody bool) deadView {
	v := deadView{
		Seq: d.Seq, Died: d.Died, ID: d.ID, SessionID: d.SessionID, ListenerID: d.ListenerID, Path: d.Path,
		Kind: d.Kind, AcceptedAt: d.AcceptedAt, Attempts: d.Attempts, Reason: d.DeadReason, Headers: d.Headers,
	}
	if withBody {
		if json.Valid(d.Body) {
			v.Body = json.RawMessage(d.Body)
		} else {
			v.Body = string(d.Body)
		}
	}
	return v
}

// deadEntry is what every route on one dead delivery starts with: its
// instance (404 if unknown), its sequence (400 if malformed), the DLQ (503
// without JetStream access), checked in that order.
func (a *Admin) deadEntry(c echo.Context) (*instance.Instance, uint64, DeadLetters, error) {
	in, err := a.instance(c)
	if err != nil {
		return nil, 0, nil, err
	}
	seq, err := seqParam(c)
	if err != nil {
		return nil, 0, nil, err
	}
	q, err := a.dlq()
	if err != nil {
		return nil, 0, nil, err
	}
	return in, seq, q, nil
}

func seqParam(c echo.Context) (uint64, error) {
	seq, err := strconv.ParseUint(c.Param("seq"), 10, 64)
	if err != nil || seq == 0 {
		return 0, httpx.Errorf(http.StatusBadRequest, "bad_request", "a dead delivery is named by its DLQ sequence number")
	}
	return seq, nil
}

func (a *Admin) listDead(c echo.Context) error {
	in, err := a.instance(c)
	if err != nil {
		return err
	}
	q, err := a.dlq()
	if err != nil {
		return err
	}
	o := delivery.ListOptions{Session: c.QueryParam("session"), Limit: 100}
	if v := c.QueryParam("after"); v != "" {
		if o.After, err = strconv.ParseUint(v, 10, 64); err != nil {
			return httpx.Errorf(http.StatusBadRequest, "bad_request", "after must be a DLQ sequence number")
		}
	}
	if v := c.QueryParam("limit"); v != "" {
		if o.Limit, err = strconv.Atoi(v); err != nil || o.Limit < 1 || o.Limit > 1000 {
			return httpx.Errorf(http.StatusBadRequest, "bad_request", "limit must be 1-1000")
		}
	}
	page, next, err := q.List(c.Request().Context(), in.ID, o)
	if err != nil {
		return err
	}
	views := make([]deadView, len(page))
	for i, d := range page {
		views[i] = viewDead(d, false)
	}
	out := map[string]any{"deliveries": views}
	if next != 0 {
		out["next"] = next
	}
	return c.JSON(http.StatusOK, out)
}

func (a *Admin) showDead(c echo.Context) error {
	in, seq, q, err := a.deadEntry(c)
	if err != nil {
		return err
	}
	d, err := q.Get(c.Request().Context(), in.ID, seq)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, viewDead(d, true))
}

func (a *Admin) replayOneDead(c echo.Context) error {
	in, seq, q, err := a.deadEntry(c)
	if err != nil {
		return err
	}
	if err := q.Replay(c.Request().Context(), in.ID, seq); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]int{"replayed": 1})
}

// replayDead replays a session's dead deliveries (?session=<id>) or all of
// the instance's (?all=true); one of the two is required.
func (a *Admin) replayDead(c echo.Context) error {
	in, err := a.instance(c)
	if err != nil {
		return err
	}
	sess, all := c.QueryParam("session"), c.QueryParam("all") == "true"
	if (sess == "") == !all {
		return httpx.Errorf(http.StatusBadRequest, "bad_request", "replay needs either ?session=<id> or ?all=true")
	}
	q, err := a.dlq()
	if err != nil {
		return err
	}
	n, err := q.ReplayAll(c.Request().Context(), in.ID, sess)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]int{"replayed": n})
}
