package assets

import (
	"net/http"

	"github.com/neru-dev/neru/internal/httpx"
)

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
