package admin

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/neru-dev/neru/internal/httpx"
	"github.com/neru-dev/neru/worker"
)

// Deliveries is what workers keep in Redis about an instance's deliveries
// (worker.Status): sessions held behind a dead delivery (onDead "hold") and
// open circuits (the app does not answer).
type Deliveries interface {
	Held(ctx context.Context, instanceID string) ([]worker.Hold, error)
	ReleaseDead(ctx context.Context, instanceID, sessionID string, dlqSeq uint64) (bool, error)
	Circuits(ctx context.Context, instanceID string) ([]worker.CircuitState, error)
}

// The delivery state endpoints: held sessions, the instance's circuit, and
// discarding a dead delivery for good (which releases a session it held).
func (a *Admin) routeDeliveries(g *echo.Group) {
	g.GET("/instances/:id/held", a.listHeld)
	g.GET("/instances/:id/circuit", a.showCircuit)
	g.POST("/instances/:id/dlq/:seq/discard", a.discardDead)
}

func (a *Admin) deliveries() (Deliveries, error) {
	if a.d.Deliveries == nil {
		return nil, httpx.Errorf(http.StatusServiceUnavailable, "unavailable", "this gateway does not read delivery state")
	}
	return a.d.Deliveries, nil
}

// listHeld is GET /instances/:id/held: sessions waiting behind a dead
// delivery, oldest hold first.
func (a *Admin) listHeld(c echo.Context) error {
	in, err := a.instance(c)
	if err != nil {
		return err
	}
	ds, err := a.deliveries()
	if err != nil {
		return err
	}
	held, err := ds.Held(c.Request().Context(), in.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"sessions": held})
}

// showCircuit is GET /instances/:id/circuit: open is true while any worker
// finds the app not answering; workers lists each one's state (open since,
// last error).
func (a *Admin) showCircuit(c echo.Context) error {
	in, err := a.instance(c)
	if err != nil {
		return err
	}
	ds, err := a.deliveries()
	if err != nil {
		return err
	}
	states, err := ds.Circuits(c.Request().Context(), in.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"open": len(states) > 0, "workers": states})
}

// discardDead is POST /instances/:id/dlq/:seq/discard: the dead delivery is
// deleted for good; if it held its session (onDead hold), the session's
// later deliveries flow again.
func (a *Admin) discardDead(c echo.Context) error {
	in, seq, q, err := a.deadEntry(c)
	if err != nil {
		return err
	}
	ds, err := a.deliveries()
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	d, err := q.Discard(ctx, in.ID, seq)
	if err != nil {
		return err
	}
	released, err := ds.ReleaseDead(ctx, in.ID, d.SessionID, seq)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"discarded": 1, "sessionId": d.SessionID, "released": released})
}
