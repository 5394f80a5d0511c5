package admin

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// listLogs serves GET /admin/v1/instances/:id/logs?after=<seq>&limit=<n>:
// the instance's kept log submissions with seq > after, oldest first, at
// most limit (default 100, at most 1000). next is the seq to pass as after
// for the following page (or poll).
func (a *Admin) listLogs(c echo.Context) error {
	in, err := a.instance(c)
	if err != nil {
		return err
	}
	after, err := queryInt(c, "after", 0)
	if err != nil {
		return err
	}
	limit, err := queryInt(c, "limit", 100)
	if err != nil {
		return err
	}
	out, next, err := a.d.Logs.After(c.Request().Context(), in.ID, after, min(max(limit, 1), 1000))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"instance": in.ID, "logs": out, "next": next})
}
