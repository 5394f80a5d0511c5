package edge

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/neru-dev/neru/internal/httpx"
	"github.com/neru-dev/neru/router"
)

// Any backend failure of a webhook (Redis down answers a plain error, NATS
// down ErrUnavailable) is a 503 with Retry-After, logged once per outage
// with the count at the end; bad input keeps its 4xx.
func TestBackendOutageIs503LoggedOnce(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	o := &outage{log: log}
	var fail error
	h := o.wrap(httpx.Compose(router.HTTPErrors), func(c echo.Context) error {
		if fail != nil {
			return fail
		}
		return c.NoContent(http.StatusOK)
	})
	e := httpx.NewEcho(log, httpx.Compose(router.HTTPErrors))
	e.POST("/w", h)
	call := func() *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/w", nil))
		return rec
	}
	for i, err := range []error{errors.New("dial tcp 127.0.0.1:6379: connect: connection refused"), router.ErrUnavailable} {
		fail = err
		for range 50 {
			rec := call()
			if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" ||
				!strings.Contains(rec.Body.String(), `"unavailable"`) {
				t.Fatalf("outage %d: %d %q Retry-After %q, want 503 unavailable with Retry-After", i, rec.Code, rec.Body, rec.Header().Get("Retry-After"))
			}
		}
		fail = nil
		if rec := call(); rec.Code != http.StatusOK {
			t.Fatalf("after the outage: %d", rec.Code)
		}
	}
	if n := strings.Count(logs.String(), "level=ERROR"); n != 2 {
		t.Fatalf("%d ERROR lines for two outages of 50 webhooks each, want 2:\n%s", n, logs.String())
	}
	if n := strings.Count(logs.String(), "refused=50"); n != 2 {
		t.Fatalf("recoveries do not report the count:\n%s", logs.String())
	}
	fail = httpx.Errorf(http.StatusBadRequest, "bad_request", "nope")
	if rec := call(); rec.Code != http.StatusBadRequest {
		t.Fatalf("bad input during no outage: %d, want 400", rec.Code)
	}
}
