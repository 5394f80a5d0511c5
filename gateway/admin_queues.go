package gateway

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
func (g *Gateway) routeQueues(a *echo.Group) {
	a.GET("/instances/:id/queues", g.adminListQueues)
	a.GET("/instances/:id/queues/:name", g.adminQueue)
	a.POST("/instances/:id/queues/:name/pause", g.adminSetQueueActive(false))
	a.POST("/instances/:id/queues/:name/resume", g.adminSetQueueActive(true))
	a.GET("/instances/:id/queues/:name/deadletter", g.adminDeadLetters)
	a.POST("/instances/:id/queues/:name/deadletter/pop", g.adminPopDeadLetters)
}

func (g *Gateway) adminListQueues(c echo.Context) error {
	inst, err := g.adminInstanceID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	st := g.queues()
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

func (g *Gateway) adminQueue(c echo.Context) error {
	inst, err := g.adminInstanceID(c)
	if err != nil {
		return err
	}
	d, err := g.queues().Details(c.Request().Context(), inst, param(c, "name"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

func (g *Gateway) adminSetQueueActive(on bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		inst, err := g.adminInstanceID(c)
		if err != nil {
			return err
		}
		ctx, name := c.Request().Context(), param(c, "name")
		if err := g.queues().SetActive(ctx, inst, name, on); err != nil {
			return err
		}
		return g.adminQueue(c)
	}
}

func (g *Gateway) adminDeadLetters(c echo.Context) error {
	inst, err := g.adminInstanceID(c)
	if err != nil {
		return err
	}
	items, err := g.queues().DeadLetters(c.Request().Context(), inst, param(c, "name"), maxDeadLetters)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items})
}

func (g *Gateway) adminPopDeadLetters(c echo.Context) error {
	inst, err := g.adminInstanceID(c)
	if err != nil {
		return err
	}
	count, err := popCount(c.QueryParam("count"))
	if err != nil {
		return err
	}
	items, err := g.queues().PopDeadLetters(c.Request().Context(), inst, param(c, "name"), count)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items})
}
