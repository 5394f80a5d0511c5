package admin

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/neru-dev/neru/assets"
	"github.com/neru-dev/neru/internal/httpx"
)

// adminAssetInfo is an entry of the admin listing: the SDK's AssetInfo
// plus the retention the app set.
type adminAssetInfo struct {
	assets.Info
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
}

// listAssets is GET /admin/v1/instances/:id/assets?prefix=&recursive=&limit=
// (`neru assets ls`): an instance's files, as its app's list() sees them.
func (a *Admin) listAssets(c echo.Context) error {
	if a.d.Files == nil {
		return assets.ErrDisabled
	}
	ctx := c.Request().Context()
	in, err := a.instance(c)
	if err != nil {
		return err
	}
	opt := assets.ListOptions{}
	if s := c.QueryParam("limit"); s != "" {
		if opt.Limit, err = strconv.Atoi(s); err != nil {
			return httpx.Errorf(http.StatusBadRequest, "bad_request", "limit must be an integer")
		}
	}
	if s := c.QueryParam("recursive"); s != "" {
		if opt.Recursive, err = strconv.ParseBool(s); err != nil {
			return httpx.Errorf(http.StatusBadRequest, "bad_request", "recursive must be true or false")
		}
	}
	objs, err := a.d.Files.List(ctx, in.ID, c.QueryParam("prefix"), opt)
	if err != nil {
		return err
	}
	res := make([]adminAssetInfo, len(objs))
	for i, o := range objs {
		res[i] = adminAssetInfo{Info: o.Info(), ExpiresAt: o.Expires.UTC()}
	}
	return c.JSON(http.StatusOK, map[string]any{"instance": in.ID, "res": res})
}
