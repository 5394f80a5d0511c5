package admin

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/neru-dev/neru/instance"
	"github.com/neru-dev/neru/internal/httpx"
)

func (a *Admin) routeInstances(g *echo.Group) {
	g.POST("/instances", a.createInstance)
	g.GET("/instances", a.listInstances)
	g.GET("/instances/:id", a.getInstance)
	g.PATCH("/instances/:id", a.updateInstance)
	g.DELETE("/instances/:id", a.deleteInstance)
}

func (a *Admin) createInstance(c echo.Context) error {
	body, err := httpx.ReadBody(c.Request(), a.cfg.MaxBody)
	if err != nil {
		return err
	}
	var in instance.Instance
	if err := decodeStrict(body, &in); err != nil {
		return err
	}
	in.CreatedAt = time.Time{} // the store sets it; a client cannot
	if err := a.d.Instances.Create(c.Request().Context(), &in); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, &in)
}

func (a *Admin) listInstances(c echo.Context) error {
	list, err := a.d.Instances.List(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"instances": list})
}

func (a *Admin) getInstance(c echo.Context) error {
	in, err := a.instance(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, in)
}

// updateInstance is PATCH /instances/:id {sessionIdle, maxSessions, onDead}.
func (a *Admin) updateInstance(c echo.Context) error {
	body, err := httpx.ReadBody(c.Request(), a.cfg.MaxBody)
	if err != nil {
		return err
	}
	var set instance.Settings
	if err := decodeStrict(body, &set); err != nil {
		return err
	}
	in, err := a.d.Instances.Update(c.Request().Context(), c.Param("id"), set)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, in)
}

func (a *Admin) deleteInstance(c echo.Context) error {
	if err := a.d.Instances.Delete(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
