package sdkapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/neru-dev/neru/assets"
	sdkcaptures "github.com/neru-dev/neru/internal/captures"
	"github.com/neru-dev/neru/internal/testenv"
	"github.com/neru-dev/neru/platform"
)

type assetCapture struct {
	file    string
	SDKCall string `json:"sdkCall"`
	Outcome struct {
		Returned json.RawMessage `json:"returned"`
	} `json:"sdkCallOutcome"`
	Seq        int               `json:"seq"`
	Method     string            `json:"method"`
	URL        string            `json:"url"`
	RawHeaders [][2]string       `json:"rawHeaders"`
	Headers    map[string]string `json:"headers"`
	Body       json.RawMessage   `json:"body"`
	JWT        json.RawMessage   `json:"jwt"`
}

func loadAssetCaptures(t *testing.T, dir string) []assetCapture {
	t.Helper()
	entries, err := sdkcaptures.FS.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []assetCapture
	for _, e := range entries {
		if e.IsDir() || !strings.HasPrefix(e.Name(), "vonage-assets-") {
			continue
		}
		raw, err := sdkcaptures.FS.ReadFile(path.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		c := assetCapture{file: e.Name()}
		if err := json.Unmarshal(raw, &c); err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out
}

// request rebuilds the captured request against the env: same method,
// URL, headers and body (multipart bodies re-encoded with the captured
// boundary), a fresh JWT in place of the captured one. Absolute-form URLs
// (production mode) go through the command endpoint as an HTTP proxy, as
// they did through HTTP_PROXY.
func (e *assetsEnv) replay(c assetCapture, tenant string) reply {
	e.t.Helper()
	var body []byte
	var b struct {
		Multipart []struct {
			PartHeaders []string `json:"partHeaders"`
			Content     string   `json:"content"`
		} `json:"multipart"`
	}
	switch {
	case string(c.Body) == "null" || len(c.Body) == 0:
	case json.Unmarshal(c.Body, &b) == nil && b.Multipart != nil:
		_, bnd, ok := strings.Cut(c.Headers["content-type"], "boundary=")
		if !ok {
			e.t.Fatalf("%s: multipart without a boundary", c.file)
		}
		var buf bytes.Buffer
		for _, p := range b.Multipart {
			buf.WriteString("--" + bnd + "\r\n" + strings.Join(p.PartHeaders, "\r\n") + "\r\n\r\n" + p.Content + "\r\n")
		}
		buf.WriteString("--" + bnd + "--\r\n")
		body = buf.Bytes()
	default:
		body = c.Body
	}
	target, client := e.cmd.URL+c.URL, http.DefaultClient
	if strings.HasPrefix(c.URL, "http://") {
		proxy, _ := url.Parse(e.cmd.URL)
		target, client = c.URL, &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxy)}}
	}
	req, err := http.NewRequest(c.Method, target, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if body == nil {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	if c.Headers["transfer-encoding"] == "chunked" {
		req.ContentLength = -1 // uploadCallRecording streams its body
	}
	for _, h := range c.RawHeaders {
		switch strings.ToLower(h[0]) {
		case "host", "content-length", "connection", "transfer-encoding", "authorization":
		default:
			req.Header.Set(h[0], h[1])
		}
	}
	if string(c.JWT) != "null" && len(c.JWT) > 0 {
		req.Header.Set("Authorization", "Bearer "+e.jwt(tenant))
	}
	resp, err := client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	if _, err := out.ReadFrom(resp.Body); err != nil {
		e.t.Fatal(err)
	}
	return reply{resp.StatusCode, resp.Header, out.Bytes()}
}

// axiosData is what the SDK returns for a body: axios parses any body as
// JSON if it can, else keeps the text (protocol §2.5).
func axiosData(body []byte) any {
	var v any
	if json.Unmarshal(body, &v) == nil {
		return v
	}
	return string(body)
}

// sameShape reports whether got has want's JSON shape: the same keys, and
// values of the same JSON types, recursively (array elements against
// want's first element).
func sameShape(want, got any) bool {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for k, wv := range w {
			if gv, ok := g[k]; !ok || !sameShape(wv, gv) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(w) > 0 && len(g) == 0 {
			return false
		}
		for _, gv := range g {
			if !sameShape(w[0], gv) {
				return false
			}
		}
		return true
	}
	return reflect.TypeOf(want) == reflect.TypeOf(got)
}

// Every vonage-assets request of both SDKs, replayed in the order they sent
// them. Before each request the env holds what the capture server pretended
// to hold, dir1/file.txt. Each reply must be one the SDK accepts and that
// gives the app what it got in the capture: a 2xx; "OK" where the SDK
// returned "OK"; the file's bytes for getRemoteFile's stream; for
// generateLink and list, a body of the same shape, whose link downloads
// the file and whose listing names it.
func TestAssetsSDKCaptures(t *testing.T) {
	t.Parallel()
	const fixture = "captured content!" // 17 bytes, as the capture server sent
	for _, sdk := range []string{"neru-alpha-5.1.0", "vcr-sdk-1.3.0", "neru-alpha-5.1.0/prod-mode"} {
		t.Run(sdk, func(t *testing.T) {
			t.Parallel()
			// The capture environment: INSTANCE_ID=instance-id-0001,
			// API_APPLICATION_ID=vonage-app-0001. It is the dev instance too,
			// for neru in DEBUG mode, which sends no token.
			const inst = "instance-id-0001"
			e := newAssetsEnv(t, func(c *platform.GatewayConfig) { c.DevInstanceID = inst })
			e.addInstance(inst, "vonage-app-0001", true)
			caps := loadAssetCaptures(t, sdk)
			if len(caps) == 0 {
				t.Fatal("no captures")
			}
			for _, c := range caps {
				e.seed(inst, "dir1/file.txt", fixture)
				r := e.replay(c, inst)
				if r.status/100 != 2 {
					t.Fatalf("%s (%s %s): %d %s", c.file, c.Method, c.URL, r.status, r.body)
				}
				var want any
				if err := json.Unmarshal(c.Outcome.Returned, &want); err != nil {
					t.Fatalf("%s: outcome: %v", c.file, err)
				}
				got := axiosData(r.body)
				switch want {
				case "<undefined>": // the SDK drops the body
				case "<readable stream>":
					if string(r.body) != fixture {
						t.Fatalf("%s: stream %q, want %q", c.file, r.body, fixture)
					}
				default:
					if !sameShape(want, got) {
						t.Fatalf("%s: the SDK returned %s; our reply %s has another shape", c.file, c.Outcome.Returned, r.body)
					}
					if s, ok := want.(string); ok && got != s {
						t.Fatalf("%s: reply %q, want %q", c.file, got, s)
					}
				}
				switch c.SDKCall {
				case "assets.generateLink":
					link := got.(map[string]any)["url"].(string)
					if dl := e.get(http.MethodGet, link); dl.status != 200 || string(dl.body) != fixture {
						t.Fatalf("%s: download of %s: %d %q", c.file, link, dl.status, dl.body)
					}
				case "assets.list":
					a := got.(map[string]any)["res"].([]any)[0].(map[string]any)
					if a["name"] != "dir1/file.txt" || a["type"] != "file" || a["size"] != float64(len(fixture)) {
						t.Fatalf("%s: listing %s", c.file, r.body)
					}
					if _, err := time.Parse(time.RFC3339, a["lastModified"].(string)); err != nil {
						t.Fatalf("%s: lastModified: %v", c.file, err)
					}
				}
			}
			// What the uploads stored, with their retention.
			var stored []string
			objs, err := e.disk.List(context.Background(), inst, "", assets.ListOptions{Recursive: true})
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range objs {
				exp := "keep"
				if !o.Expires.IsZero() {
					exp = time.Until(o.Expires).Round(time.Hour).String()
				}
				stored = append(stored, o.Name+":"+exp)
			}
			want := map[string][]string{
				"neru-alpha-5.1.0":           {"dir1/file.txt:keep", "dir1/inline.txt:keep", "dir1/upload-sample.txt:24h0m0s", "recordings/call-1.mp3:keep"},
				"vcr-sdk-1.3.0":              {"dir1/file.txt:keep", "dir1/inline.txt:keep", "dir1/upload-sample.txt:168h0m0s", "recordings/call-1.mp3:keep"},
				"neru-alpha-5.1.0/prod-mode": {"d/x.txt:keep", "dir1/file.txt:keep"},
			}[sdk]
			if !slices.Equal(stored, want) {
				t.Fatalf("stored %q, want %q", stored, want)
			}
		})
	}
}

func TestAssetsLifecycle(t *testing.T) {
	t.Parallel()
	e := newAssetsEnv(t, nil)
	for _, tenant := range []string{tenantA, tenantB} { // no token (neru DEBUG) and JWT
		t.Run(tenant, func(t *testing.T) {
			wantOK(t, "mkdir", e.call(tenant, "mkdir", map[string]string{"directory": "docs/empty"}))
			png := "\x89PNG\r\n\x1a\nfake image"
			wantOK(t, "upload", e.upload(tenant, "dst=docs&",
				part{"a.txt", "text/plain", "hello"},
				part{"img.png", "image/png", png},
				part{"résumé (1).txt", "text/plain", "cv"}))
			if got := e.list(tenant, "", false); got != "docs/" {
				t.Fatalf("list /: %q", got)
			}
			if got := e.list(tenant, "docs", false); got != "docs/a.txt docs/empty/ docs/img.png docs/résumé (1).txt" {
				t.Fatalf("list docs: %q", got)
			}
			if got := e.list(tenant, "docs/", true); got != "docs/a.txt docs/img.png docs/résumé (1).txt" {
				t.Fatalf("list docs recursive: %q", got)
			}

			r := e.binary(tenant, url.QueryEscape("docs/a.txt"))
			if r.status != 200 || string(r.body) != "hello" || r.header.Get("Content-Type") != "text/plain; charset=utf-8" ||
				r.header.Get("X-Content-Type-Options") != "nosniff" {
				t.Fatalf("binary a.txt: %d %q %v", r.status, r.body, r.header)
			}
			if r := e.binary(tenant, url.QueryEscape("docs/img.png")); r.status != 200 || string(r.body) != png || r.header.Get("Content-Type") != "image/png" {
				t.Fatalf("binary img.png: %d %v", r.status, r.header)
			}
			req := e.newRequest(http.MethodGet, e.cmd.URL+"/binary"+debugSuffix+"&key=docs%2Fa.txt", "application/json", nil)
			req.Header.Set("Range", "bytes=1-3")
			if r := e.send(tenant, req); r.status != http.StatusPartialContent || string(r.body) != "ell" {
				t.Fatalf("range: %d %q", r.status, r.body)
			}

			r = e.call(tenant, "link", map[string]string{"path": "docs/img.png", "duration": "10m"})
			var link struct{ Token, URL string }
			if r.status != 200 || json.Unmarshal(r.body, &link) != nil || link.Token == "" ||
				link.URL != e.pub.URL+"/assets/"+link.Token+"/img.png" {
				t.Fatalf("link: %d %s", r.status, r.body)
			}
			dl := e.get(http.MethodGet, link.URL)
			if dl.status != 200 || string(dl.body) != png || dl.header.Get("Content-Type") != "image/png" ||
				dl.header.Get("Content-Disposition") != `inline; filename=img.png` || dl.header.Get("Content-Security-Policy") != "sandbox" {
				t.Fatalf("download: %d %v", dl.status, dl.header)
			}
			for _, u := range []string{e.pub.URL + "/assets/" + link.Token, e.pub.URL + "/assets/" + link.Token + "/any-name.bin"} {
				if dl := e.get(http.MethodGet, u); dl.status != 200 || string(dl.body) != png {
					t.Fatalf("download %s: %d", u, dl.status)
				}
			}
			if dl := e.get(http.MethodHead, link.URL); dl.status != 200 || len(dl.body) != 0 || dl.header.Get("Content-Length") != "18" {
				t.Fatalf("HEAD: %d %v", dl.status, dl.header)
			}
			// Links are served on the public listener only.
			wantError(t, "link on the command endpoint", e.get(http.MethodGet, e.cmd.URL+"/assets/"+link.Token), http.StatusNotFound, "")

			wantOK(t, "remove file", e.call(tenant, "remove", map[string]any{"prefix": "docs/a.txt", "recursive": false}))
			wantError(t, "binary of a removed file", e.binary(tenant, "docs%2Fa.txt"), http.StatusNotFound, "not_found")
			wantOK(t, "remove missing", e.call(tenant, "remove", map[string]any{"prefix": "docs/a.txt", "recursive": false}))
			wantError(t, "remove non-empty dir", e.call(tenant, "remove", map[string]any{"prefix": "docs", "recursive": false}), http.StatusConflict, "conflict")
			wantOK(t, "remove empty dir", e.call(tenant, "remove", map[string]any{"prefix": "docs/empty", "recursive": false}))
			wantOK(t, "remove recursive", e.call(tenant, "remove", map[string]any{"prefix": "docs", "recursive": true}))
			if got := e.list(tenant, "", true); got != "" {
				t.Fatalf("after removing docs: %q", got)
			}
			wantError(t, "download of a removed file", e.get(http.MethodGet, link.URL), http.StatusNotFound, "not_found")
		})
	}
}

func TestAssetsBadRequests(t *testing.T) {
	t.Parallel()
	e := newAssetsEnv(t, nil)
	e.seed(tenantA, "f.txt", "x")
	e.seed(tenantA, "dir/g.txt", "x")
	wantError(t, "unknown route", e.call(tenantA, "rename", map[string]string{}), http.StatusNotFound, "unknown_action")
	wantError(t, "bad JSON", e.send(tenantA, e.newRequest(http.MethodPost, e.cmd.URL+"/list"+debugSuffix, "application/json", strings.NewReader("{"))), http.StatusBadRequest, "bad_json")
	wantError(t, "empty body", e.send(tenantA, e.newRequest(http.MethodPost, e.cmd.URL+"/mkdir"+debugSuffix, "application/json", nil)), http.StatusBadRequest, "bad_json")
	wantError(t, "mkdir over a file", e.call(tenantA, "mkdir", map[string]string{"directory": "f.txt"}), http.StatusConflict, "conflict")
	wantError(t, "upload over a directory", e.upload(tenantA, "dst=&", part{"dir", "", "x"}), http.StatusConflict, "conflict")
	wantError(t, "upload, not multipart", e.send(tenantA, e.newRequest(http.MethodPost, e.cmd.URL+"/copy"+debugSuffix+"&dst=d&", "application/json", strings.NewReader("{}"))), http.StatusBadRequest, "bad_multipart")
	wantError(t, "upload without files", e.upload(tenantA, "dst=d&"), http.StatusBadRequest, "bad_multipart")
	wantError(t, "part without filename", e.upload(tenantA, "dst=d&", part{"", "", "data"}), http.StatusBadRequest, "bad_multipart")
	wantError(t, "truncated multipart", e.send(tenantA, e.newRequest(http.MethodPost, e.cmd.URL+"/copy"+debugSuffix+"&dst=d&",
		"multipart/form-data; boundary="+boundary, bytes.NewReader(formData(boundary, []part{{"t.txt", "", strings.Repeat("z", 5000)}})[:3000]))),
		http.StatusBadRequest, "bad_multipart")
	if got := e.list(tenantA, "d", true); got != "" {
		t.Fatalf("a failed upload stored %q", got)
	}
	wantError(t, "binary of a directory", e.binary(tenantA, "dir"), http.StatusNotFound, "not_found")
	wantError(t, "link of a missing file", e.call(tenantA, "link", map[string]string{"path": "nope", "duration": "5m"}), http.StatusNotFound, "not_found")
	wantError(t, "link of a directory", e.call(tenantA, "link", map[string]string{"path": "dir", "duration": "5m"}), http.StatusNotFound, "not_found")
	for _, d := range []any{"0s", "-5m", "8d", "abc", "5 minutes", true, 1e9, map[string]int{}} {
		wantError(t, "link duration "+jsonText(d), e.call(tenantA, "link", map[string]any{"path": "f.txt", "duration": d}), http.StatusBadRequest, "bad_duration")
	}
	for _, d := range []any{"2d", "1h30m", 300, nil} {
		if r := e.call(tenantA, "link", map[string]any{"path": "f.txt", "duration": d}); r.status != 200 {
			t.Fatalf("link duration %s: %d %s", jsonText(d), r.status, r.body)
		}
	}
	// Without a token, only loopback callers act as the dev instance; a bad token is refused.
	req := e.newRequest(http.MethodPost, e.cmd.URL+"/list"+debugSuffix, "application/json", strings.NewReader(`{"prefix":""}`))
	req.Header.Set("Authorization", "Bearer not.a.token")
	wantError(t, "bad token", e.send("", req), http.StatusUnauthorized, "unauthorized")
}

func jsonText(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestAssetLinksRejected(t *testing.T) {
	t.Parallel()
	e := newAssetsEnv(t, nil)
	e.seed(tenantA, "f.txt", "content")
	r := e.call(tenantA, "link", map[string]string{"path": "f.txt", "duration": "5m"})
	var link struct{ Token, URL string }
	if r.status != 200 || json.Unmarshal(r.body, &link) != nil {
		t.Fatalf("link: %d %s", r.status, r.body)
	}
	p64, mac, _ := strings.Cut(link.Token, ".")
	other, _ := assets.NewLinker([]byte("some other secret, long enough"))
	for name, token := range map[string]string{
		"garbage":           "xyz",
		"flipped signature": p64 + "." + flip(mac),
		"flipped payload":   flip(p64) + "." + mac,
		"other path":        e.links.Sign(tenantA, "g.txt", time.Now().Add(time.Hour))[:len(p64)] + "." + mac,
		"other secret":      other.Sign(tenantA, "f.txt", time.Now().Add(time.Hour)),
		"expired":           e.links.Sign(tenantA, "f.txt", time.Now().Add(-time.Second)),
	} {
		wantError(t, name, e.get(http.MethodGet, e.pub.URL+"/assets/"+token+"/f.txt"), http.StatusForbidden, "forbidden")
	}
	// Signed by us, but the instance or the file is gone.
	wantError(t, "unknown instance", e.get(http.MethodGet, e.pub.URL+"/assets/"+e.links.Sign("ghost", "f.txt", time.Now().Add(time.Hour))), http.StatusNotFound, "not_found")
	wantError(t, "missing file", e.get(http.MethodGet, e.pub.URL+"/assets/"+e.links.Sign(tenantA, "nope.txt", time.Now().Add(time.Hour))), http.StatusNotFound, "not_found")
	// A signed path is still checked: nothing outside the tenant's root.
	wantError(t, "signed traversal", e.get(http.MethodGet, e.pub.URL+"/assets/"+e.links.Sign(tenantA, "../tenant-b/files/x", time.Now().Add(time.Hour))), http.StatusBadRequest, "bad_request")
	if dl := e.get(http.MethodGet, link.URL); dl.status != 200 || string(dl.body) != "content" {
		t.Fatalf("the genuine link: %d %s", dl.status, dl.body)
	}
}

// flip changes the first character of a base64url string.
func flip(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}

func TestAssetsRetention(t *testing.T) {
	t.Parallel()
	e := newAssetsEnv(t, nil)
	ctx := context.Background()
	wantOK(t, "upload one_day", e.upload(tenantA, "dst=rec&retention=one_day", part{"day.mp3", "audio/mpeg", "d"}))
	wantOK(t, "upload one_year", e.upload(tenantA, "dst=rec&retention=one_year", part{"year.mp3", "audio/mpeg", "y"}))
	wantOK(t, "upload kept", e.upload(tenantA, "dst=rec&", part{"kept.mp3", "audio/mpeg", "k"}))
	wantError(t, "unknown retention", e.upload(tenantA, "dst=rec&retention=forever", part{"x.mp3", "", "x"}), http.StatusBadRequest, "bad_request")

	// The admin listing shows the expiries.
	r := e.get(http.MethodGet, e.pub.URL+"/admin/v1/instances/"+tenantA+"/assets?prefix=rec&recursive=true")
	var adm struct {
		Res []struct {
			Name      string
			ExpiresAt *time.Time
		}
	}
	if r.status != 200 || json.Unmarshal(r.body, &adm) != nil || len(adm.Res) != 3 {
		t.Fatalf("admin list: %d %s", r.status, r.body)
	}
	for _, a := range adm.Res {
		want := map[string]time.Duration{"rec/day.mp3": 24 * time.Hour, "rec/year.mp3": 365 * 24 * time.Hour}[a.Name]
		switch {
		case want == 0 && a.ExpiresAt != nil, want != 0 && (a.ExpiresAt == nil || (time.Until(*a.ExpiresAt)-want).Abs() > time.Minute):
			t.Fatalf("%s expires at %v, want in %v", a.Name, a.ExpiresAt, want)
		}
	}

	n, err := e.disk.Sweep(ctx, time.Now().Add(25*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("sweep a day later: %d %v", n, err)
	}
	wantError(t, "binary of an expired file", e.binary(tenantA, "rec%2Fday.mp3"), http.StatusNotFound, "not_found")
	if _, err := os.Stat(filepath.Join(e.dir, tenantA, "files", "rec", "day.mp3")); !os.IsNotExist(err) {
		t.Fatalf("expired file still on disk: %v", err)
	}
	if got := e.list(tenantA, "rec", false); got != "rec/kept.mp3 rec/year.mp3" {
		t.Fatalf("after the sweep: %q", got)
	}
}

// The gateway itself sweeps, every SweepInterval, while it runs.
func TestAssetsSweepRuns(t *testing.T) {
	t.Parallel()
	e := newAssetsEnv(t, func(c *platform.GatewayConfig) {
		c.Addr, c.CommandAddr = "127.0.0.1:0", "-"
		c.Assets.SweepInterval = 20 * time.Millisecond
	})
	if _, err := e.disk.Put(context.Background(), tenantA, "old.txt", strings.NewReader("x"), assets.PutOptions{Expires: time.Now().Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.g.Run(ctx) }()
	file := filepath.Join(e.dir, tenantA, "files", "old.txt")
	testenv.Eventually(t, 20*time.Second, func() bool { _, err := os.Stat(file); return os.IsNotExist(err) }, "the running gateway never swept old.txt")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// badPaths are the traversal attempts of the brief, and more, as the app
// would send them (JSON strings are already decoded; the query is encoded
// once, as the SDK does, so %25 reaches us as %).
var badPaths = []string{
	"../x", "/etc/passwd", "a/../../b", "%2e%2e/x", "%2E%2E/x", "a%2fb", "a%5cb", `..\x`, `a\b`,
	"..", ".", "./x", "a//b", "a\x00b", "../../secret.txt", "../tenant-b/files/b.txt",
}

func TestAssetsPathTraversal(t *testing.T) {
	t.Parallel()
	e := newAssetsEnv(t, nil)
	if err := os.WriteFile(filepath.Join(e.parent, "secret.txt"), []byte("top secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.seed(tenantA, "ok/ok.txt", "ok")
	e.seed(tenantB, "b.txt", "b's")
	before := snapshot(t, e.parent)
	for _, p := range badPaths {
		q := url.QueryEscape(p)
		for what, r := range map[string]reply{
			"mkdir":           e.call(tenantA, "mkdir", map[string]string{"directory": p}),
			"list":            e.call(tenantA, "list", map[string]any{"prefix": p, "limit": 10, "recursive": true}),
			"remove":          e.call(tenantA, "remove", map[string]any{"prefix": p, "recursive": true}),
			"link":            e.call(tenantA, "link", map[string]string{"path": p, "duration": "5m"}),
			"binary":          e.binary(tenantA, q),
			"copy dst":        e.upload(tenantA, "dst="+q+"&", part{"x.txt", "text/plain", "pwned"}),
			"copy dst+retain": e.upload(tenantA, "dst="+q+"&retention=one_day", part{"x.txt", "text/plain", "pwned"}),
		} {
			wantError(t, what+" "+quote(p), r, http.StatusBadRequest, "bad_request")
			if bytes.Contains(r.body, []byte("top secret")) || bytes.Contains(r.body, []byte("b's")) {
				t.Fatalf("%s %q leaked a file", what, p)
			}
		}
		if !strings.ContainsRune(p, 0) { // a NUL cannot be put in a multipart header
			wantError(t, "copy filename "+quote(p), e.upload(tenantA, "dst=ok&", part{p, "text/plain", "pwned"}), http.StatusBadRequest, "bad_request")
		}
	}
	// Raw query forms: the value decodes to a traversal, or to a second encoding.
	for _, raw := range []string{"%2e%2e/x", "..%2Fx", "..%5Cx", "%2Fetc%2Fpasswd", "a%252fb", "%252e%252e%252fx", "ok/..%2F..%2F..%2Fsecret.txt"} {
		wantError(t, "binary key="+raw, e.binary(tenantA, raw), http.StatusBadRequest, "bad_request")
		wantError(t, "copy dst="+raw, e.upload(tenantA, "dst="+raw+"&", part{"x.txt", "", "pwned"}), http.StatusBadRequest, "bad_request")
	}
	// A filename the form-data package would send with a path is refused, not trimmed.
	wantError(t, "filename with a directory", e.upload(tenantA, "dst=ok&", part{"sub/x.txt", "", "x"}), http.StatusBadRequest, "bad_request")

	if after := snapshot(t, e.parent); !reflect.DeepEqual(before, after) {
		t.Fatalf("the attempts changed the file tree:\nbefore %v\nafter  %v", before, after)
	}
	if got := e.list(tenantA, "", true); got != "ok/ok.txt" {
		t.Fatalf("tenant-a holds %q", got)
	}
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }

// snapshot maps every path below dir (uploads in progress excluded) to its content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if strings.Contains(filepath.ToSlash(rel), "/tmp/") {
			return nil
		}
		out[rel] = "dir"
		if de.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[rel] = string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestAssetsTenantIsolation(t *testing.T) {
	t.Parallel()
	e := newAssetsEnv(t, nil)
	wantOK(t, "a uploads", e.upload(tenantA, "dst=private&", part{"secret.txt", "text/plain", "a's secret"}))
	// B authenticates with its JWT and claims to be A in every header and field it controls.
	asA := func(req *http.Request) *http.Request {
		req.Header.Set("X-Neru-InstanceId", tenantA)
		req.Header.Set("X-Neru-ApiApplicationId", "app-a")
		return req
	}
	r := e.send(tenantB, asA(e.newRequest(http.MethodGet, e.cmd.URL+"/binary"+debugSuffix+"&key=private%2Fsecret.txt", "application/json", nil)))
	wantError(t, "b reads a's file", r, http.StatusNotFound, "not_found")
	if got := e.list(tenantB, "", true); got != "" {
		t.Fatalf("b lists %q", got)
	}
	wantError(t, "b links a's file", e.call(tenantB, "link", map[string]string{"path": "private/secret.txt"}), http.StatusNotFound, "not_found")
	wantOK(t, "b removes a's dir", e.call(tenantB, "remove", map[string]any{"prefix": "private", "recursive": true}))
	if r := e.binary(tenantA, "private%2Fsecret.txt"); r.status != 200 || string(r.body) != "a's secret" {
		t.Fatalf("a's file after b's remove: %d %q", r.status, r.body)
	}
	// Same name, own file: B's link serves B's bytes.
	wantOK(t, "b uploads", e.upload(tenantB, "dst=private&", part{"secret.txt", "text/plain", "b's own"}))
	r = e.call(tenantB, "link", map[string]string{"path": "private/secret.txt"})
	var link struct{ URL string }
	if r.status != 200 || json.Unmarshal(r.body, &link) != nil {
		t.Fatalf("b's link: %d %s", r.status, r.body)
	}
	if dl := e.get(http.MethodGet, link.URL); string(dl.body) != "b's own" {
		t.Fatalf("b's link served %q", dl.body)
	}
	if got := e.list(tenantA, "", true); got != "private/secret.txt" {
		t.Fatalf("a lists %q", got)
	}
}

func TestAssetsUploadLimit(t *testing.T) {
	t.Parallel()
	e := newAssetsEnv(t, func(c *platform.GatewayConfig) { c.Assets.MaxUpload = 1024 })
	wantOK(t, "small upload", e.upload(tenantA, "dst=d&", part{"small.txt", "", strings.Repeat("s", 500)}))
	big := formData(boundary, []part{{"ok.txt", "", "fine"}, {"big.bin", "", strings.Repeat("b", 2000)}})
	for _, chunked := range []bool{false, true} {
		req := e.newRequest(http.MethodPost, e.cmd.URL+"/copy"+debugSuffix+"&dst=d&", "multipart/form-data; boundary="+boundary, bytes.NewReader(big))
		if chunked {
			req.ContentLength = -1 // no Content-Length: the limit bites while reading
			req.Body = io.NopCloser(struct{ io.Reader }{bytes.NewReader(big)})
		}
		wantError(t, "oversized upload", e.send(tenantA, req), http.StatusRequestEntityTooLarge, "too_large")
	}
	if got := e.list(tenantA, "d", true); got != "d/ok.txt d/small.txt" && got != "d/small.txt" {
		t.Fatalf("after the oversized uploads: %q", got)
	}
	if got := e.list(tenantA, "d", true); strings.Contains(got, "big.bin") {
		t.Fatalf("the oversized file was stored: %q", got)
	}
	tmp, err := os.ReadDir(filepath.Join(e.dir, tenantA, "tmp"))
	if err != nil || len(tmp) != 0 {
		t.Fatalf("uploads left in tmp: %v %v", tmp, err)
	}
}

func TestAssetsAdmin(t *testing.T) {
	t.Parallel()
	e := newAssetsEnv(t, nil)
	e.seed(tenantB, "x/y.txt", "12345")
	r := e.get(http.MethodGet, e.pub.URL+"/admin/v1/instances/"+tenantB+"/assets?recursive=true")
	var out struct {
		Instance string
		Res      []map[string]any
	}
	if r.status != 200 || json.Unmarshal(r.body, &out) != nil || out.Instance != tenantB || len(out.Res) != 1 ||
		out.Res[0]["name"] != "x/y.txt" || out.Res[0]["size"] != 5.0 || out.Res[0]["type"] != "file" {
		t.Fatalf("admin list: %d %s", r.status, r.body)
	}
	wantError(t, "unknown instance", e.get(http.MethodGet, e.pub.URL+"/admin/v1/instances/ghost/assets"), http.StatusNotFound, "not_found")
	wantError(t, "bad limit", e.get(http.MethodGet, e.pub.URL+"/admin/v1/instances/"+tenantB+"/assets?limit=x"), http.StatusBadRequest, "")
	wantError(t, "bad prefix", e.get(http.MethodGet, e.pub.URL+"/admin/v1/instances/"+tenantB+"/assets?prefix=../x"), http.StatusBadRequest, "bad_request")
}

func TestAssetsDisabled(t *testing.T) {
	t.Parallel()
	e := newAssetsEnv(t, func(c *platform.GatewayConfig) { c.Assets.Dir = "" })
	wantError(t, "mkdir", e.call(tenantA, "mkdir", map[string]string{"directory": "d"}), http.StatusServiceUnavailable, "assets_disabled")
	wantError(t, "link download", e.get(http.MethodGet, e.pub.URL+"/assets/"+e.links.Sign(tenantA, "f", time.Now().Add(time.Hour))), http.StatusNotFound, "")
	if _, err := os.Stat(e.dir); !os.IsNotExist(err) {
		t.Fatalf("a disabled store created its directory: %v", err)
	}
}
