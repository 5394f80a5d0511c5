package state

import (
	"net/http"

	"github.com/neru-dev/neru/internal/httpx"
)

// HTTPErrors are this package's errors as HTTP answers.
var HTTPErrors = []httpx.Rule{
	{Err: ErrUnknownOperation, Status: http.StatusBadRequest},
	{Err: ErrBadArgs, Status: http.StatusBadRequest},
	{Err: ErrWrongType, Status: http.StatusConflict, Code: "wrong_type"},
	{Err: ErrUnsupported, Status: http.StatusNotImplemented, Code: "not_implemented",
		Prefix: "full-text search (FT.CREATE, FT.SEARCH, FT.DROPINDEX) is not supported by this runtime"},
}
