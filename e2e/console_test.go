package e2e

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/neru-dev/neru/platform"
)

// With NERU_ADMIN_TOKEN set, the console's data calls and its event
// stream refuse a caller without the token (and with a wrong one) with a
// 401 JSON error; the page shell, which holds no data, is served so a
// browser can ask for the token; with the token the stream opens.
func TestConsoleAndStreamNeedTheAdminToken(t *testing.T) {
	h := start(t, func(c *platform.Config) { c.Gateway.AdminToken = "s3cret-token" })
	get := func(path, token string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, h.gateway.URL+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	for _, path := range []string{"/admin/v1/tail", "/admin/v1/tail?instance=e2e", "/admin/v1/instances",
		"/admin/v1/instances/e2e/sessions/x/state", "/admin/v1/instances/e2e/dlq"} {
		for _, token := range []string{"", "wrong"} {
			resp := get(path, token)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), `"code":"unauthorized"`) ||
				strings.Contains(string(body), "s3cret") {
				t.Fatalf("GET %s with token %q: %d %s, want 401 unauthorized", path, token, resp.StatusCode, body)
			}
		}
	}
	for _, path := range []string{"/console/", "/console/instances/e2e/sessions/a%2Fb"} {
		resp := get(path, "")
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !strings.Contains(string(body), "/console/assets/app.js") || strings.Contains(string(body), "s3cret") {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
		}
	}
	if resp := get("/console/assets/app.js", ""); resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "javascript") {
		t.Fatalf("app.js: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if resp := get("/admin/v1/tail?instance=nope", "s3cret-token"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("stream of an unknown instance: %d", resp.StatusCode)
	}
	resp := get("/admin/v1/tail?instance=e2e", "s3cret-token")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream with the token: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	r := bufio.NewReader(resp.Body)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended before it was ready: %v", err)
		}
		if line == "event: ready\n" {
			break
		}
	}
}
