package router

import (
	"net/http"

	"github.com/neru-dev/neru/internal/httpx"
)

// HTTPErrors are this package's errors as HTTP answers. An unstored
// publish is 503 so the provider retries; the broker's own text stays in
// the log.
var HTTPErrors = []httpx.Rule{
	{Err: ErrUnavailable, Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "event bus unavailable, retry later"},
}
