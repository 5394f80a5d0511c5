package session

import (
	"net/http"

	"github.com/neru-dev/neru/internal/httpx"
)

// HTTPErrors are this package's errors as HTTP answers. A refused new
// session is 429 too_many_sessions: the SDK call throws, visibly.
var HTTPErrors = []httpx.Rule{
	{Err: ErrNotFound, Status: http.StatusNotFound},
	{Err: ErrInvalidID, Status: http.StatusBadRequest},
	{Err: ErrBadCursor, Status: http.StatusBadRequest},
	{Err: ErrTooMany, Status: http.StatusTooManyRequests, Code: "too_many_sessions"},
}
