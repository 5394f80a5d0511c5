package httpx_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/neru-dev/neru/internal/httpx"
)

var (
	errMissing = errors.New("thing not found")
	errBusy    = errors.New("bus down")
)

func TestTableComposedAndInstalled(t *testing.T) {
	a := []httpx.Rule{{Err: errMissing, Status: http.StatusNotFound}}
	b := []httpx.Rule{
		{Err: errMissing, Status: http.StatusTeapot}, // listed again by a second package: the first rule stays
		{Err: errBusy, Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "retry later"},
	}
	e := httpx.NewEcho(slog.New(slog.NewTextHandler(io.Discard, nil)), httpx.Compose(a, b))
	e.GET("/missing", func(echo.Context) error { return fmt.Errorf("load x: %w", errMissing) })
	e.GET("/busy", func(echo.Context) error { return fmt.Errorf("%w: nats: secret-host:4222 refused", errBusy) })
	e.GET("/internal", func(echo.Context) error { return errors.New("redis: dial 10.0.0.7:6379: secret") })
	tests := []struct {
		path, code, message string
		status              int
	}{
		{"/missing", "not_found", "load x: thing not found", http.StatusNotFound},
		{"/busy", "unavailable", "retry later", http.StatusServiceUnavailable},
		{"/internal", "internal", "internal error", http.StatusInternalServerError},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.path, nil))
		var got struct{ Code, Message string }
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatalf("%s: %s is not JSON", tt.path, rec.Body)
		}
		if rec.Code != tt.status || got.Code != tt.code || got.Message != tt.message || strings.Contains(rec.Body.String(), "secret") {
			t.Errorf("%s: %d %s, want %d {%s, %s}", tt.path, rec.Code, rec.Body, tt.status, tt.code, tt.message)
		}
	}
}
