package admin

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/neru-dev/neru/queue"
)

// routeQueues is the admin API of queues (`neru queues`):
//
//	GET  /instances/:id/queues                          {queues: [details]}
//	GET  /instances/:id/queues/:name                    details (queueDetails, stats)
//	POST /instances/:id/queues/:name/pause|resume       the details after the change
//	GET  /instances/:id/queues/:name/deadletter         {items: [JSON text]}, oldest first
//	POST /instances/:id/queues/:name/deadletter/pop?count=n  {items: [...]} removed
func (a *Admin) routeQueues(g *echo.Group) {
	g.GET("/instances/:id/queues", a.adminListQueues)
	g.GET("/instances/:id/queues/:name", a.adminQueue)
	g.POST("/instances/:id/queues/:name/pause", a.adminSetQueueActive(false))
	g.POST("/instances/:id/queues/:name/resume", a.adminSetQueueActive(true))
	g.GET("/instances/:id/queues/:name/deadletter", a.adminDeadLetters)
	g.POST("/instances/:id/queues/:name/deadletter/pop", a.adminPopDeadLetters)
}

func (a *Admin) adminListQueues(c echo.Context) error {
	inst, err := a.instanceID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	st := a.d.Queues
	names, err := st.List(ctx, inst)
	if err != nil {
		return err
	}
	out := make([]*queue.Details, 0, len(names))
	for _, n := range names {
		d, err := st.Details(ctx, inst, n)
		if err != nil {
			continue // deleted meanwhile
		}
		out = append(out, d)
	}
	return c.JSON(http.StatusOK, map[string]any{"queues": out})
}

func (a *Admin) adminQueue(c echo.Context) error {
	inst, err := a.instanceID(c)
	if err != nil {
		return err
	}
	d, err := a.d.Queues.Details(c.Request().Context(), inst, param(c, "name"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

func (a *Admin) adminSetQueueActive(on bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		inst, err := a.instanceID(c)
		if err != nil {
			return err
		}
		ctx, name := c.Request().Context(), param(c, "name")
		if err := a.d.Queues.SetActive(ctx, inst, name, on); err != nil {
			return err
		}
		return a.adminQueue(c)
	}
}

func (a *Admin) adminDeadLetters(c echo.Context) error {
	inst, err := a.instanceID(c)
	if err != nil {
		return err
	}
	items, err := a.d.Queues.DeadLetters(c.Request().Context(), inst, param(c, "name"), queue.MaxDeadLetters)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items})
}

func (a *Admin) adminPopDeadLetters(c echo.Context) error {
	inst, err := a.instanceID(c)
	if err != nil {
		return err
	}
	count, err := queue.ParseCount(c.QueryParam("count"))
	if err != nil {
		return err
	}
	items, err := a.d.Queues.PopDeadLetters(c.Request().Context(), inst, param(c, "name"), count)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items})
}
