package gateway

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/neru-dev/neru/internal/httpx"
)

// routeSchedules is the admin API of schedules (`neru schedules`):
//
//	GET    /instances/:id/schedules?cursor=&limit=   {schedules: [get views], next_cursor}
//	GET    /instances/:id/schedules/:sid              the get view, with next_at
//	DELETE /instances/:id/schedules/:sid              204; 404 if unknown
func (g *Gateway) routeSchedules(a *echo.Group) {
	a.GET("/instances/:id/schedules", g.adminListSchedules)
	a.GET("/instances/:id/schedules/:sid", g.adminGetSchedule)
	a.DELETE("/instances/:id/schedules/:sid", g.adminCancelSchedule)
}

// adminInstanceID is the :id of an admin route; an unknown instance is a
// 404 rather than an empty list.
func (g *Gateway) adminInstanceID(c echo.Context) (string, error) {
	in, err := g.d.Instances.Get(c.Request().Context(), c.Param("id"))
	if err != nil {
		return "", err
	}
	return in.ID, nil
}

// param is a path parameter, unescaped (echo leaves %xx in place when the
// request path needed escaping).
func param(c echo.Context, name string) string {
	v := c.Param(name)
	if u, err := url.PathUnescape(v); err == nil {
		return u
	}
	return v
}

func (g *Gateway) adminListSchedules(c echo.Context) error {
	inst, err := g.adminInstanceID(c)
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
	views, next, err := g.schedules().Page(c.Request().Context(), inst, cursor, limit)
	if err != nil {
		return err
	}
	if views == nil {
		return c.JSON(http.StatusOK, map[string]any{"schedules": []any{}, "next_cursor": next})
	}
	return c.JSON(http.StatusOK, map[string]any{"schedules": views, "next_cursor": next})
}

func (g *Gateway) adminGetSchedule(c echo.Context) error {
	inst, err := g.adminInstanceID(c)
	if err != nil {
		return err
	}
	v, err := g.schedules().Get(c.Request().Context(), inst, param(c, "sid"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (g *Gateway) adminCancelSchedule(c echo.Context) error {
	inst, err := g.adminInstanceID(c)
	if err != nil {
		return err
	}
	if err := g.schedules().Cancel(c.Request().Context(), inst, param(c, "sid")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
