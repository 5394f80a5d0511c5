// Package httpx is the HTTP plumbing shared by every server here: one JSON
// error shape, one echo error handler, a body reader with a hard size cap,
// and the dial guard of every outbound client (DialGuard: public addresses
// from a maintained special-purpose list, plus the operator's
// NERU_APP_NETWORKS for requests to apps).
package httpx

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// Error is an error with an HTTP status and a stable machine-readable code.
// Its message is shown to the client, so it must never carry internal detail.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf builds an *Error.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Mapper turns a domain error into an *Error, or returns nil if it does not
// know it. Each server lists its domain sentinels in one Mapper.
type Mapper func(error) *Error

// ErrorHandler is echo's HTTPErrorHandler for every server: known errors get
// their status and code, echo's own errors (404 route, 405) keep theirs, and
// anything else is a 500 whose text is logged, never sent.
func ErrorHandler(log *slog.Logger, mapErr Mapper) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		out := classify(err, mapErr)
		// A 503 built as an *Error is a deliberate refusal whose cause the
		// code returning it logs itself (once per outage, not per request).
		var deliberate *Error
		if out.Status >= 500 && !(errors.As(err, &deliberate) && deliberate.Status == http.StatusServiceUnavailable) {
			log.Error("request failed", "method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
		}
		_ = c.JSON(out.Status, out)
	}
}

// Status is the HTTP status ErrorHandler answers err with, for code that
// reports outcomes (metrics) without answering itself.
func Status(err error, mapErr Mapper) int { return classify(err, mapErr).Status }

func classify(err error, mapErr Mapper) *Error {
	var he *Error
	if errors.As(err, &he) {
		return he
	}
	if mapErr != nil {
		if m := mapErr(err); m != nil {
			return m
		}
	}
	var ee *echo.HTTPError
	if errors.As(err, &ee) && ee.Code < 500 {
		return &Error{Status: ee.Code, Code: CodeFor(ee.Code), Message: fmt.Sprint(ee.Message)}
	}
	return &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error"}
}

// CodeFor is the stable code of a 4xx status without a more specific one.
func CodeFor(status int) string {
	switch status {
	case http.StatusNotFound:
		return "not_found"
	case http.StatusConflict:
		return "conflict"
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusRequestEntityTooLarge:
		return "too_large"
	case http.StatusUnauthorized:
		return "unauthorized"
	default:
		return "bad_request"
	}
}

// ReadBody reads the request body, failing with 413 past limit bytes.
func ReadBody(r *http.Request, limit int64) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, Errorf(http.StatusBadRequest, "bad_body", "could not read request body")
	}
	if int64(len(body)) > limit {
		return nil, Errorf(http.StatusRequestEntityTooLarge, "too_large", "request body is over %d bytes", limit)
	}
	return body, nil
}

// Rule maps every error that errors.Is Err to one HTTP answer. Domain
// packages declare the rules of their own sentinels next to them, so an
// HTTP server composes its table from the packages it serves instead of
// listing other packages' errors.
type Rule struct {
	Err    error
	Status int
	// Code is the stable code; empty: CodeFor(Status).
	Code string
	// Message, if set, is the whole message, for errors whose text names
	// internals (a broker's error); otherwise the error's own text is sent.
	Message string
	// Prefix, if set, goes before the error's text ("<Prefix>: <err>").
	Prefix string
}

// Table is an ordered list of rules; the first match wins.
type Table []Rule

// Compose joins the rules of several packages into one table. Servers that
// share a listener list the same package more than once; a sentinel keeps
// its first rule.
func Compose(lists ...[]Rule) Table {
	var t Table
	seen := map[error]bool{}
	for _, l := range lists {
		for _, r := range l {
			if !seen[r.Err] {
				seen[r.Err] = true
				t = append(t, r)
			}
		}
	}
	return t
}

// Map is the table as a Mapper. A domain error's own text is its message:
// sentinels are written for the client (they name the bad field or the
// missing thing), and anything not in the table stays a 500 whose text is
// only logged.
func (t Table) Map(err error) *Error {
	for _, r := range t {
		if !errors.Is(err, r.Err) {
			continue
		}
		code := r.Code
		if code == "" {
			code = CodeFor(r.Status)
		}
		msg := err.Error()
		switch {
		case r.Message != "":
			msg = r.Message
		case r.Prefix != "":
			msg = r.Prefix + ": " + msg
		}
		return &Error{Status: r.Status, Code: code, Message: msg}
	}
	return nil
}

// NewEcho returns an echo server with the platform's settings: errors
// through table (default 500), no banner, and timeouts that suit the SDKs.
func NewEcho(log *slog.Logger, table Table) *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = ErrorHandler(log, table.Map)
	// The SDKs pool keep-alive sockets for 30 s; idle longer than that, so a
	// reused socket is never closed under a request.
	e.Server.IdleTimeout = 75 * time.Second
	e.Server.ReadHeaderTimeout = 10 * time.Second
	return e
}

// IsLoopback reports whether a request's RemoteAddr is a loopback address.
func IsLoopback(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
