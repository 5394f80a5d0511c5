package admin

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/neru-dev/neru/internal/httpx"
)

// routeSchedules is the admin API of schedules (`neru schedules`):
//
//	GET    /instances/:id/schedules?cursor=&limit=   {schedules: [get views], next_cursor}
//	GET    /instances/:id/schedules/:sid              the get view, with next_at
//	DELETE /instances/:id/schedules/:sid              204; 404 if unknown
func (a *Admin) routeSchedules(g *echo.Group) {
	g.GET("/instances/:id/schedules", a.adminListSchedules)
	g.GET("/instances/:id/schedules/:sid", a.adminGetSchedule)
	g.DELETE("/instances/:id/schedules/:sid", a.adminCancelSchedule)
}

func (a *Admin) adminListSchedules(c echo.Context) error {
	inst, err := a.instanceID(c)
	if err != nil {
		return err
	}
	limit, cursor := 100, int64(0)
	if v := c.QueryParam("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 1000 {
			return httpx.Errorf(http.StatusBadRequest, "bad_limit", "limit must be 1-1000")
		}
	}
	if v := c.QueryParam("cursor"); v != "" {
		if cursor, err = strconv.ParseInt(v, 10, 64); err != nil || cursor < 0 {
			return httpx.Errorf(http.StatusBadRequest, "bad_cursor", "cursor must be a next_cursor this API returned")
		}
	}
	views, next, err := a.d.Schedules.Page(c.Request().Context(), inst, cursor, limit)
	if err != nil {
		return err
	}
	if views == nil {
		return c.JSON(http.StatusOK, map[string]any{"schedules": []any{}, "next_cursor": next})
	}
	return c.JSON(http.StatusOK, map[string]any{"schedules": views, "next_cursor": next})
}

func (a *Admin) adminGetSchedule(c echo.Context) error {
	inst, err := a.instanceID(c)
	if err != nil {
		return err
	}
	v, err := a.d.Schedules.Get(c.Request().Context(), inst, param(c, "sid"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (a *Admin) adminCancelSchedule(c echo.Context) error {
	inst, err := a.instanceID(c)
	if err != nil {
		return err
	}
	if err := a.d.Schedules.Cancel(c.Request().Context(), inst, param(c, "sid")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
