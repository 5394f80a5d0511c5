package queue

import (
	"net/http"
	"strconv"

	"github.com/neru-dev/neru/internal/httpx"
)

// HTTPErrors are this package's errors as HTTP answers.
var HTTPErrors = []httpx.Rule{
	{Err: ErrNotFound, Status: http.StatusNotFound},
	{Err: ErrInvalid, Status: http.StatusBadRequest},
	{Err: ErrTooLarge, Status: http.StatusRequestEntityTooLarge, Code: "too_large"},
	{Err: ErrFull, Status: http.StatusTooManyRequests, Code: "limit_exceeded"},
}

// MaxDeadLetters bounds a dead-letter list reply and a pop.
const MaxDeadLetters = 1000

// ParseCount reads deadLetterDequeue's count (the SDK sends
// JSON.stringify(n); the admin API a query parameter): 1 if empty, at most
// MaxDeadLetters.
func ParseCount(v string) (int, error) {
	if v == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, httpx.Errorf(http.StatusBadRequest, "bad_count", "count must be a positive integer, got %q", v)
	}
	return min(n, MaxDeadLetters), nil
}
