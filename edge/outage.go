package edge

import (
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/neru-dev/neru/internal/httpx"
)

// retryAfter is what a webhook refused during a backend outage tells the
// provider to wait, in seconds.
const retryAfter = "5"

// outage turns every backend failure of a webhook (Redis or NATS down, a
// publish not stored) into 503 with Retry-After, so the provider retries
// rather than dropping the event on a 500, and logs it once per outage with
// a count instead of one ERROR line per refused webhook.
type outage struct {
	log *slog.Logger

	mu      sync.Mutex
	since   time.Time // zero: no outage
	refused int
	first   string
}

// wrap answers h's backend failures with 503; errors the table maps below
// 500 (bad input, unknown application) pass through unchanged.
func (o *outage) wrap(errs httpx.Table, h echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := h(c)
		if err == nil {
			if c.Response().Status < 500 {
				o.recovered()
			}
			return nil
		}
		var he *httpx.Error
		if errors.As(err, &he) && he.Status < 500 {
			return err
		}
		if m := errs.Map(err); m != nil && m.Status < 500 {
			return err
		}
		o.failed(err)
		c.Response().Header().Set("Retry-After", retryAfter)
		return httpx.Errorf(http.StatusServiceUnavailable, "unavailable", "a backend is unavailable, retry later")
	}
}

func (o *outage) failed(err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.refused++
	if o.since.IsZero() {
		o.since, o.first = time.Now(), err.Error()
		o.log.Error("backend unavailable: answering webhooks 503 with Retry-After until it recovers", "err", err)
	}
}

func (o *outage) recovered() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.since.IsZero() {
		return
	}
	o.log.Warn("backend recovered: webhooks accepted again", "refused", o.refused,
		"lasted", time.Since(o.since).Round(time.Millisecond).String(), "first_err", o.first)
	o.since, o.refused, o.first = time.Time{}, 0, ""
}
