package edge

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/neru-dev/neru/instance"
	"github.com/neru-dev/neru/internal/httpx"
)

// The app's public URL: <NERU_PUBLIC_URL>/apps/<instance id>/<path> is
// reverse-proxied to <base URL>/<path>, so what the app serves (pages,
// NCCO eventUrls, WebSockets) is reachable where the platform is, as Cloud
// Runtime gives every instance a public URL (VCR_INSTANCE_PUBLIC_URL).
//
// The proxy dials through the same egress rule as deliveries
// (httpx.AppGuard with NERU_APP_NETWORKS), checked on the resolved address:
// an instance whose base URL points inside the network without the
// operator's leave is refused, not proxied. Requests and answers stream
// through unbuffered; WebSocket upgrades are passed on (ReverseProxy does
// that itself when the response writer can be hijacked, as echo's can).

// appsPrefix is where the public URLs of apps live on the public listener.
const appsPrefix = "/apps/"

type proxyTarget struct{}

// newAppProxy builds the one reverse proxy of every app's public URL; the
// target of each request travels in its context (proxyTarget).
func newAppProxy(appNetworks []netip.Prefix, log *slog.Logger) *httputil.ReverseProxy {
	dialer := httpx.AppGuard(appNetworks).Dialer()
	return &httputil.ReverseProxy{
		Transport: &http.Transport{
			DialContext:           dialer.DialContext,
			MaxIdleConns:          256,
			MaxIdleConnsPerHost:   64,
			IdleConnTimeout:       90 * time.Second,
			ResponseHeaderTimeout: 60 * time.Second,
		},
		Rewrite: func(pr *httputil.ProxyRequest) {
			t := pr.In.Context().Value(proxyTarget{}).(*target)
			pr.Out.URL.Path, pr.Out.URL.RawPath = t.path, t.rawPath
			pr.SetURL(t.base)
			// SetURL keeps the client's Host; the app sees its own, and
			// the one the client asked for in X-Forwarded-Host.
			pr.SetXForwarded()
		},
		// Flush at once: server-sent events and long polls must not wait
		// for a buffer to fill.
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			status, code, msg := http.StatusBadGateway, "app_unreachable", "the app did not answer"
			var refused *httpx.RefusedError
			switch {
			case errors.As(err, &refused):
				code = "app_refused"
				msg = "the app's base URL resolves to a non-public address that is not in " + httpx.AppNetworksSetting
			case errors.Is(err, context.Canceled):
				return // the client went away
			}
			log.Warn("app public URL: proxy failed", "path", r.URL.Path, "err", err)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(map[string]string{"code": code, "message": msg})
		},
	}
}

type target struct {
	base          *url.URL
	path, rawPath string
}

// routeAppURLs serves /apps/<instance id>/... for every method.
func (e *Edge) routeAppURLs(s *echo.Echo) {
	s.Any(appsPrefix+":instance", e.appURL)
	s.Any(appsPrefix+":instance/*", e.appURL)
}

func (e *Edge) appURL(c echo.Context) error {
	r := c.Request()
	id := c.Param("instance")
	in, err := e.d.Instances.Get(r.Context(), id)
	if err != nil {
		if errors.Is(err, instance.ErrNotFound) {
			return httpx.Errorf(http.StatusNotFound, "unknown_instance", "no instance %q", id)
		}
		return err
	}
	base, err := url.Parse(in.BaseURL)
	if err != nil || base.Host == "" {
		return httpx.Errorf(http.StatusBadGateway, "app_unreachable", "instance %q has no usable base URL", id)
	}
	// The rest of the path after /apps/<id>, raw form kept so escapes
	// (%2F) reach the app as the client sent them.
	prefix := appsPrefix + id
	t := &target{base: base, path: strings.TrimPrefix(r.URL.Path, prefix)}
	if r.URL.RawPath != "" {
		t.rawPath = strings.TrimPrefix(r.URL.RawPath, appsPrefix+url.PathEscape(id))
	}
	if t.path == "" {
		t.path = "/"
	}
	ctx := context.WithValue(r.Context(), proxyTarget{}, t)
	e.proxy.ServeHTTP(c.Response(), r.WithContext(ctx))
	return nil
}
