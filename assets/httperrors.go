package assets

import (
	"net/http"

	"github.com/neru-dev/neru/internal/httpx"
)

// ErrDisabled is the answer of every vonage-assets route, SDK or admin, on
// a platform without NERU_ASSETS_DIR. It is an *httpx.Error rather than a
// sentinel with a rule in HTTPErrors because a 503 built that way is a
// deliberate refusal the error handler does not log per request: the
// platform said once at start that assets are off.
var ErrDisabled error = httpx.Errorf(http.StatusServiceUnavailable, "assets_disabled",
	"vonage-assets is not configured on this platform (set NERU_ASSETS_DIR)")

// HTTPErrors are this package's errors as HTTP answers. A forged or expired
// link is 403: the token is the only credential of a download.
var HTTPErrors = []httpx.Rule{
	{Err: ErrNotFound, Status: http.StatusNotFound},
	{Err: ErrInvalidPath, Status: http.StatusBadRequest},
	{Err: ErrInvalidRetention, Status: http.StatusBadRequest},
	{Err: ErrConflict, Status: http.StatusConflict},
	{Err: ErrLinkInvalid, Status: http.StatusForbidden, Code: "forbidden"},
	{Err: ErrLinkExpired, Status: http.StatusForbidden, Code: "forbidden"},
}
