package gateway

import (
	"crypto/subtle"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/neru-dev/neru/instance"
	"github.com/neru-dev/neru/internal/httpx"
)

func (g *Gateway) routeAdmin(a *echo.Group) {
	a.Use(g.adminAuth)
	a.POST("/instances", g.createInstance)
	a.GET("/instances", g.listInstances)
	a.GET("/instances/:id", g.getInstance)
	a.DELETE("/instances/:id", g.deleteInstance)
	g.routeSchedules(a)
	g.routeQueues(a)
	a.PATCH("/instances/:id", g.updateInstance)
	g.routeSessions(a)
	g.routeDLQ(a)
	a.GET("/instances/:id/logs", g.listLogs)
	a.GET("/instances/:id/assets", g.listInstanceAssets)
}

// adminAuth demands the admin bearer token, or, when none is configured (dev
// mode), a loopback client.
func (g *Gateway) adminAuth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if g.cfg.AdminToken == "" {
			if !isLoopback(c.Request().RemoteAddr) {
				return httpx.Errorf(http.StatusForbidden, "forbidden", "the admin API without a token answers loopback clients only")
			}
			return next(c)
		}
		got, ok := strings.CutPrefix(c.Request().Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(g.cfg.AdminToken)) != 1 {
			return httpx.Errorf(http.StatusUnauthorized, "unauthorized", "a valid admin bearer token is required")
		}
		return next(c)
	}
}

func isLoopback(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (g *Gateway) createInstance(c echo.Context) error {
	body, err := httpx.ReadBody(c.Request(), g.cfg.MaxBody)
	if err != nil {
		return err
	}
	var in instance.Instance
	if err := decodeStrict(body, &in); err != nil {
		return err
	}
	in.CreatedAt = time.Time{} // the store sets it; a client cannot
	if err := g.d.Instances.Create(c.Request().Context(), &in); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, &in)
}

func (g *Gateway) listInstances(c echo.Context) error {
	list, err := g.d.Instances.List(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"instances": list})
}

func (g *Gateway) getInstance(c echo.Context) error {
	in, err := g.d.Instances.Get(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, in)
}

func (g *Gateway) deleteInstance(c echo.Context) error {
	if err := g.d.Instances.Delete(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
