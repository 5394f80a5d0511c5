package admin_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/neru-dev/neru/admin"
	"github.com/neru-dev/neru/instance"
	"github.com/neru-dev/neru/internal/httpx"
)

// instances is a hand-written fake of admin.Instances holding one record.
type instances struct{ admin.Instances }

func (instances) List(context.Context) ([]*instance.Instance, error) {
	return []*instance.Instance{{ID: "shop"}}, nil
}

func (instances) Get(_ context.Context, id string) (*instance.Instance, error) {
	if id == "shop" {
		return &instance.Instance{ID: "shop"}, nil
	}
	return nil, instance.ErrNotFound
}

func serve(cfg admin.Config) http.Handler {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e := httpx.NewEcho(log, admin.Errors)
	admin.New(cfg, admin.Deps{Instances: instances{}, Log: log}).Register(e)
	return e
}

func TestAuth(t *testing.T) {
	tests := []struct {
		name                string
		cfg                 admin.Config
		remote, authz, path string
		status              int
	}{
		{"token: none sent", admin.Config{Token: "s3cret"}, "127.0.0.1:1", "", "", http.StatusUnauthorized},
		{"token: wrong", admin.Config{Token: "s3cret"}, "127.0.0.1:1", "Bearer nope", "", http.StatusUnauthorized},
		{"token: right, from anywhere", admin.Config{Token: "s3cret"}, "192.0.2.1:1", "Bearer s3cret", "", http.StatusOK},
		{"token: scheme in lower case", admin.Config{Token: "s3cret"}, "192.0.2.1:1", "bearer s3cret", "", http.StatusOK},
		{"token: scheme in upper case", admin.Config{Token: "s3cret"}, "192.0.2.1:1", "BEARER s3cret", "", http.StatusOK},
		{"token: another scheme", admin.Config{Token: "s3cret"}, "192.0.2.1:1", "Basic s3cret", "", http.StatusUnauthorized},
		{"token, dev loopback too: loopback still needs it", admin.Config{Token: "s3cret", DevLoopback: true}, "127.0.0.1:1", "", "", http.StatusUnauthorized},
		{"dev, no token: loopback", admin.Config{DevLoopback: true}, "127.0.0.1:1", "", "", http.StatusOK},
		{"dev, no token: remote", admin.Config{DevLoopback: true}, "192.0.2.1:1", "", "", http.StatusForbidden},
		{"no token, not dev: loopback refused", admin.Config{}, "127.0.0.1:1", "", "", http.StatusForbidden},
		{"no token, not dev: console refused", admin.Config{}, "127.0.0.1:1", "", "/console/", http.StatusForbidden},
		{"dev, no token: console on loopback", admin.Config{DevLoopback: true}, "127.0.0.1:1", "", "/console/", http.StatusOK},
	}
	for _, tt := range tests {
		path := tt.path
		if path == "" {
			path = "/admin/v1/instances"
		}
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.RemoteAddr = tt.remote
		if tt.authz != "" {
			r.Header.Set("Authorization", tt.authz)
		}
		rec := httptest.NewRecorder()
		serve(tt.cfg).ServeHTTP(rec, r)
		if rec.Code != tt.status {
			t.Errorf("%s: %d %s, want %d", tt.name, rec.Code, rec.Body, tt.status)
		}
	}
}

func TestUnknownInstanceIs404(t *testing.T) {
	for _, path := range []string{"/admin/v1/instances/nobody", "/admin/v1/instances/nobody/logs", "/admin/v1/instances/nobody/queues"} {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.RemoteAddr = "127.0.0.1:1"
		rec := httptest.NewRecorder()
		serve(admin.Config{DevLoopback: true}).ServeHTTP(rec, r)
		if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), `"code":"not_found"`) {
			t.Errorf("%s: %d %s, want 404 not_found", path, rec.Code, rec.Body)
		}
	}
}

// Without NERU_ASSETS_DIR the admin listing answers as the SDK endpoint
// does: 503 assets_disabled.
func TestAssetsDisabled(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/admin/v1/instances/shop/assets", nil)
	r.RemoteAddr = "127.0.0.1:1"
	rec := httptest.NewRecorder()
	serve(admin.Config{DevLoopback: true}).ServeHTTP(rec, r)
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), `"code":"assets_disabled"`) ||
		!strings.Contains(rec.Body.String(), "NERU_ASSETS_DIR") {
		t.Errorf("%d %s, want 503 assets_disabled naming NERU_ASSETS_DIR", rec.Code, rec.Body)
	}
}
