package edge

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/neru-dev/neru/internal/httpx"
)

// healthz says the process serves HTTP; it checks nothing else, so a
// restart is never triggered by a dependency's outage.
func (e *Edge) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz says whether this gateway can take webhooks now: every check
// answers within 2 s.
func (e *Edge) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	for _, ch := range e.d.Checks {
		if ch.Ready(ctx) != nil {
			return httpx.Errorf(http.StatusServiceUnavailable, ch.Code, "%s", ch.Message)
		}
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}
