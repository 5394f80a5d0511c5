package edge

import (
	"mime"
	"net/http"
	"path"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/neru-dev/neru/assets"
	"github.com/neru-dev/neru/internal/httpx"
)

// routeAssetLinks serves vonage-assets download links: /assets/<token>,
// optionally followed by /<file name>, which is ignored.
func (e *Edge) routeAssetLinks(s *echo.Echo) {
	for _, p := range []string{"/assets/:token", "/assets/:token/*"} {
		s.GET(p, e.downloadAsset)
		s.HEAD(p, e.downloadAsset)
	}
}

// downloadAsset serves the file a link grants. The token is the credential:
// forged or expired is 403, a file or instance gone since is 404.
func (e *Edge) downloadAsset(c echo.Context) error {
	if e.d.Files == nil {
		return httpx.Errorf(http.StatusNotFound, "not_found", "no such link")
	}
	tenant, name, err := e.d.Links.Verify(c.Param("token"), time.Now())
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if _, err := e.d.Instances.Get(ctx, tenant); err != nil {
		return err
	}
	rc, obj, err := e.d.Files.Get(ctx, tenant, name)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Content-Disposition", mime.FormatMediaType("inline", map[string]string{"filename": path.Base(obj.Name)}))
	h.Set("Cache-Control", "private, no-cache")
	return assets.Serve(c.Response(), c.Request(), rc, obj)
}
