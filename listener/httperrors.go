package listener

import (
	"net/http"

	"github.com/neru-dev/neru/internal/httpx"
)

// HTTPErrors are this package's errors as HTTP answers.
var HTTPErrors = []httpx.Rule{
	{Err: ErrNotFound, Status: http.StatusNotFound},
	{Err: ErrInvalid, Status: http.StatusBadRequest},
}
