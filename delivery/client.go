package delivery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/neru-dev/neru/instance"
	"github.com/neru-dev/neru/internal/httpx"
	"github.com/neru-dev/neru/internal/telemetry"
	"github.com/neru-dev/neru/listener"
)

// Client POSTs deliveries to app routes. It is shared by the workers, the
// queue dispatchers and the edge's synchronous answer path, so all send the
// same headers and signatures and obey the same network guard.
//
// Requests go straight to the transport, not through an http.Client: a
// delivery is one POST to the route the app registered, so a redirect is
// the app's answer (a non-2xx, retried), never followed; and the client's
// per-request header copy and timeout timer were a measurable share of a
// worker's CPU per event.
type Client struct {
	transport http.RoundTripper
	timeout   time.Duration // 0: none
	signer    *Signer
}

// NewClient returns a Client whose requests give up after timeout. It dials
// public addresses and the appNetworks the operator allowed
// (NERU_APP_NETWORKS) only, checked on the resolved IP at dial time so DNS
// tricks do not get around it; a refusal is an *httpx.RefusedError naming
// the setting.
// signer, if not nil, signs every request (see Signer).
func NewClient(timeout time.Duration, appNetworks []netip.Prefix, signer *Signer) *Client {
	dialer := httpx.AppGuard(appNetworks).Dialer()
	tr := &http.Transport{
		DialContext:         dialer.DialContext,
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
	}
	return &Client{transport: tr, timeout: timeout, signer: signer}
}

// StatusError is a non-2xx answer from the app.
type StatusError struct{ Code int }

func (e *StatusError) Error() string { return fmt.Sprintf("app answered %d", e.Code) }

// Permanent reports whether retrying cannot help: the app refused the event
// with a 4xx other than the "try again" ones.
func (e *StatusError) Permanent() bool {
	switch e.Code {
	case http.StatusRequestTimeout, http.StatusConflict, http.StatusTooEarly, http.StatusTooManyRequests:
		return false
	}
	return e.Code >= 400 && e.Code < 500
}

// ErrUnsendable wraps a request that can never be sent, however often it is
// tried: a URL that does not parse, a header value HTTP cannot carry.
var ErrUnsendable = errors.New("request cannot be sent")

// Permanent reports whether an error from Post is one that retrying cannot
// fix: the app refused the event (see StatusError.Permanent), the request
// can never be sent, or the egress rule refuses the app's address (until
// the operator changes NERU_APP_NETWORKS).
func Permanent(err error) bool {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Permanent()
	}
	var refused *httpx.RefusedError
	return errors.Is(err, ErrUnsendable) || errors.As(err, &refused)
}

// NotAnswering reports whether an error from Post means the app did not
// answer at all — no connection, a timeout, or a proxy in front of it saying
// it is gone (502, 503, 504) — as opposed to the app answering with an
// error. Only these open an instance's circuit: an app that answers 500 to
// one route is up.
func NotAnswering(err error) bool {
	if err == nil || errors.Is(err, ErrUnsendable) || errors.Is(err, context.Canceled) {
		return false
	}
	var se *StatusError
	if errors.As(err, &se) {
		switch se.Code {
		case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		return false
	}
	return true // transport: refused, reset, timed out, DNS
}

// Post sends d to in's base URL + d.Path once, signed, and returns the
// app's body (at most maxBody bytes) on a 2xx, or a *StatusError.
func (c *Client) Post(ctx context.Context, in *instance.Instance, d *Delivery, attempt int, maxBody int64) ([]byte, error) {
	_, body, err := c.Send(ctx, in, d, attempt, maxBody)
	return body, err
}

// Send is Post that also returns the app's HTTP status (0 when it gave
// none: timeout, connection refused), for callers that report it. The
// request carries the traceparent (and tracestate) of ctx's span, if any.
func (c *Client) Send(ctx context.Context, in *instance.Instance, d *Delivery, attempt int, maxBody int64) (int, []byte, error) {
	if c.timeout > 0 {
		// Bounds the whole exchange, the app's body included.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, listener.JoinPath(in.BaseURL, d.Path), bytes.NewReader(d.Body))
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %v", ErrUnsendable, err)
	}
	for k, v := range d.Headers {
		if !httpguts.ValidHeaderFieldName(k) || !httpguts.ValidHeaderFieldValue(v) {
			return 0, nil, fmt.Errorf("%w: header %q has an invalid name or value", ErrUnsendable, k)
		}
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderSession, d.SessionID)
	req.Header.Set(HeaderDelivery, d.ID)
	req.Header.Set(HeaderAttempt, strconv.Itoa(attempt))
	// The app continues the trace of ctx's span: a worker's delivery
	// attempt, or the webhook a synchronous answer relays.
	telemetry.InjectHTTP(ctx, req.Header)
	if c.signer != nil {
		c.signer.Sign(ctx, in, req.Header, d.ID, d.Body)
	}
	resp, err := c.transport.RoundTrip(req)
	if err != nil {
		return 0, nil, &url.Error{Op: "Post", URL: req.URL.String(), Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // keep the connection reusable
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, nil, &StatusError{Code: resp.StatusCode}
	}
	return resp.StatusCode, body, err
}
