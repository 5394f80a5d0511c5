package admin

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/labstack/echo/v4"
)

// The web console: static files embedded in the binary (nothing is fetched
// from elsewhere), one page application under /console/ whose every page
// has its own URL. Each data call it makes is an /admin/v1 call.
//
// Auth: the console sends the admin token as an Authorization header from
// fetch, the token kept in the tab's sessionStorage after the login page
// asked for it. A cookie was the alternative; it was not chosen because a
// browser sends a cookie on its own, so every state-changing call (replay,
// reset) would need CSRF protection, and because the admin API already
// takes exactly this header: one auth path, no second credential. The
// price is that a browser cannot put the header on a navigation, so the
// page shell (HTML, JS, CSS: the same for everyone, no data in it) is
// served without the token when one is configured; without a token it is
// served to loopback clients in dev mode only, like the admin API.
//
//go:embed console
var consoleFiles embed.FS

func (a *Admin) routeConsole(s *echo.Echo) {
	files, _ := fs.Sub(consoleFiles, "console")
	assets := http.StripPrefix("/console/", http.FileServerFS(files))
	index, _ := fs.ReadFile(files, "index.html")
	serve := func(c echo.Context) error {
		if err := a.open(c.Request()); err != nil {
			return err
		}
		h := c.Response().Header()
		// Data only from this origin, no framing (clickjacking of the
		// replay button), and no Referer: console URLs carry session ids.
		h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Content-Type-Options", "nosniff")
		p := c.Request().URL.Path
		if rest, ok := strings.CutPrefix(p, "/console/assets/"); ok && rest != "" && path.Clean("/"+rest) == "/"+rest {
			assets.ServeHTTP(c.Response(), c.Request())
			return nil
		}
		// Every other path is a page of the application: the shell reads
		// the URL and draws it.
		h.Set(echo.HeaderCacheControl, "no-cache")
		return c.HTMLBlob(http.StatusOK, index)
	}
	s.GET("/console", func(c echo.Context) error { return c.Redirect(http.StatusFound, "/console/") })
	s.GET("/console/*", serve)
}
