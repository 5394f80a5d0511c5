package session

import (
	"net/http"

	"github.com/neru-dev/neru/internal/httpx"
)

// HTTPErrors are this package's errors as HTTP answers. A refused new
// session is 429 too_many_sessions: the SDK call throws, visibly. A
// command in a session that has ended is 410 session_expired, with the
// message "session <id> expired at <RFC 3339 time>"; both SDKs reject with
// the AxiosError ("Request failed with status code 410"), whose
// response.data carries that code and message.
var HTTPErrors = []httpx.Rule{
	{Err: ErrExpired, Status: http.StatusGone, Code: "session_expired"},
	{Err: ErrNotFound, Status: http.StatusNotFound},
	{Err: ErrInvalidID, Status: http.StatusBadRequest},
	{Err: ErrBadCursor, Status: http.StatusBadRequest},
	{Err: ErrTooMany, Status: http.StatusTooManyRequests, Code: "too_many_sessions"},
}
