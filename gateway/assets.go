package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/neru-dev/neru/assets"
	"github.com/neru-dev/neru/instance"
	"github.com/neru-dev/neru/internal/httpx"
)

// AssetsConfig configures the vonage-assets provider. Zero values take the
// defaults.
type AssetsConfig struct {
	// Dir keeps the files (an assets.Disk) when Deps.Assets is nil. With
	// neither, vonage-assets answers 503.
	Dir string
	// MaxUpload caps one upload request, all its files together; past it
	// the SDK gets a 413. Default 100 MiB.
	MaxUpload int64
	// PublicURL is the public listener's base URL as the recipients of a
	// download link reach it, e.g. https://neru.example.com. Default
	// http://<Addr>, which only suits development.
	PublicURL string
	// LinkSecret is the HMAC key that signs download links, at least 16
	// bytes and the same on every gateway. Empty: a random key per process,
	// so links work only on the gateway that made them, until it restarts.
	LinkSecret string
	// MaxLinkDuration is the longest lifetime a link may ask for; default 7 days.
	MaxLinkDuration time.Duration
	// SweepInterval is how often the gateway deletes expired files; default
	// 10m; negative: never (expired files are then only deleted when read
	// or listed).
	SweepInterval time.Duration

	publicURLDefaulted bool
}

func (c *AssetsConfig) setDefaults(addr string) {
	if c.MaxUpload == 0 {
		c.MaxUpload = 100 << 20
	}
	if c.PublicURL == "" {
		c.PublicURL, c.publicURLDefaulted = defaultPublicURL(addr), true
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if c.MaxLinkDuration == 0 {
		c.MaxLinkDuration = 7 * 24 * time.Hour
	}
	if c.SweepInterval == 0 {
		c.SweepInterval = 10 * time.Minute
	}
}

func (c *AssetsConfig) validate() error {
	if c.MaxUpload < 0 {
		return errors.New("gateway: Assets.MaxUpload must be positive")
	}
	if c.LinkSecret != "" && len(c.LinkSecret) < assets.MinLinkSecret {
		return fmt.Errorf("gateway: Assets.LinkSecret must be at least %d bytes", assets.MinLinkSecret)
	}
	u, err := url.Parse(c.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return errors.New("gateway: Assets.PublicURL must be an absolute http(s) URL without a query")
	}
	return nil
}

// defaultPublicURL is the public listener's own address, as a URL.
func defaultPublicURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// maxUploadParts caps the files of one upload.
const maxUploadParts = 1000

var errAssetsDisabled = httpx.Errorf(http.StatusServiceUnavailable, "assets_disabled",
	"vonage-assets is not configured on this platform (set NERU_ASSETS_DIR)")

// initAssets opens the file store (unless Deps gave one) and the link signer.
func (g *Gateway) initAssets() error {
	c := &g.cfg.Assets
	if g.d.Assets == nil && c.Dir != "" {
		disk, err := assets.NewDisk(c.Dir)
		if err != nil {
			return err
		}
		g.d.Assets = disk
	}
	secret := []byte(c.LinkSecret)
	if len(secret) == 0 {
		secret = make([]byte, 32)
		_, _ = rand.Read(secret)
		if g.d.Assets != nil {
			g.log.Warn("assets: no link secret (NERU_ASSETS_LINK_SECRET): download links are valid only on this gateway, until it restarts")
		}
	}
	if g.d.Assets != nil && c.publicURLDefaulted {
		g.log.Warn("assets: download links point at " + c.PublicURL + "; set NERU_PUBLIC_URL to the address their recipients reach")
	}
	links, err := assets.NewLinker(secret)
	g.links = links
	return err
}

// serveAssets is the vonage-assets provider (protocol §3.7): REST-style
// routes whose files belong to the authenticated instance.
func (g *Gateway) serveAssets(c echo.Context, inst *instance.Instance) error {
	if g.d.Assets == nil {
		return errAssetsDisabled
	}
	r := c.Request()
	switch r.Method + " " + strings.TrimRight(r.URL.Path, "/") {
	case "POST /mkdir":
		return g.assetsMkdir(c, inst)
	case "POST /copy":
		return g.assetsCopy(c, inst)
	case "POST /list":
		return g.assetsList(c, inst)
	case "POST /link":
		return g.assetsLink(c, inst)
	case "GET /binary", "HEAD /binary":
		return g.assetsBinary(c, inst)
	case "POST /remove":
		return g.assetsRemove(c, inst)
	}
	return httpx.Errorf(http.StatusNotFound, "unknown_action",
		"vonage-assets has no %s %s (POST mkdir, copy, list, link, remove; GET binary)", r.Method, r.URL.Path)
}

// assetsJSON decodes the JSON body of an assets request.
func (g *Gateway) assetsJSON(c echo.Context, v any) error {
	body, err := httpx.ReadBody(c.Request(), g.cfg.MaxBody)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return httpx.Errorf(http.StatusBadRequest, "bad_json", "a JSON body is required")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return httpx.Errorf(http.StatusBadRequest, "bad_json", "invalid JSON body: %v", err)
	}
	return nil
}

// POST /mkdir {directory} → "OK"
func (g *Gateway) assetsMkdir(c echo.Context, inst *instance.Instance) error {
	var p struct {
		Directory string `json:"directory"`
	}
	if err := g.assetsJSON(c, &p); err != nil {
		return err
	}
	if err := g.d.Assets.Mkdir(c.Request().Context(), inst.ID, p.Directory); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, "OK")
}

// POST /remove {prefix, recursive} → "OK". Removing what does not exist
// succeeds, as deleting a missing object does in an object store.
func (g *Gateway) assetsRemove(c echo.Context, inst *instance.Instance) error {
	var p struct {
		Prefix    string `json:"prefix"`
		Recursive bool   `json:"recursive"`
	}
	if err := g.assetsJSON(c, &p); err != nil {
		return err
	}
	if err := g.d.Assets.Remove(c.Request().Context(), inst.ID, p.Prefix, p.Recursive); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, "OK")
}

// assetInfo is the SDKs' AssetInfo.
type assetInfo struct {
	Name         string `json:"name"`
	LastModified string `json:"lastModified"`
	Size         int64  `json:"size"`
	Type         string `json:"type"` // "file" or "directory"
}

func toAssetInfo(o assets.Object) assetInfo {
	typ := "file"
	if o.Dir {
		typ = "directory"
	}
	return assetInfo{Name: o.Name, LastModified: o.ModTime.UTC().Format(time.RFC3339), Size: o.Size, Type: typ}
}

// POST /list {prefix, limit, recursive} → {res: [AssetInfo…]}
func (g *Gateway) assetsList(c echo.Context, inst *instance.Instance) error {
	var p struct {
		Prefix    string `json:"prefix"`
		Limit     int    `json:"limit"`
		Recursive bool   `json:"recursive"`
	}
	if err := g.assetsJSON(c, &p); err != nil {
		return err
	}
	objs, err := g.d.Assets.List(c.Request().Context(), inst.ID, p.Prefix, assets.ListOptions{Recursive: p.Recursive, Limit: p.Limit})
	if err != nil {
		return err
	}
	res := make([]assetInfo, len(objs))
	for i, o := range objs {
		res[i] = toAssetInfo(o)
	}
	return c.JSON(http.StatusOK, map[string]any{"res": res})
}

// POST /link {path, duration} → {token, url}: a signed, expiring URL on the
// public listener. The file must exist now; the download checks again.
func (g *Gateway) assetsLink(c echo.Context, inst *instance.Instance) error {
	var p struct {
		Path     string          `json:"path"`
		Duration json.RawMessage `json:"duration"`
	}
	if err := g.assetsJSON(c, &p); err != nil {
		return err
	}
	ttl, err := linkDuration(p.Duration, g.cfg.Assets.MaxLinkDuration)
	if err != nil {
		return err
	}
	rc, obj, err := g.d.Assets.Get(c.Request().Context(), inst.ID, p.Path)
	if err != nil {
		return err
	}
	rc.Close()
	token := g.links.Sign(inst.ID, obj.Name, time.Now().Add(ttl))
	// The file name at the end is only for the recipient (some infer the
	// type from it); the token alone says which file.
	link := g.cfg.Assets.PublicURL + "/assets/" + token + "/" + url.PathEscape(path.Base(obj.Name))
	return c.JSON(http.StatusOK, map[string]string{"token": token, "url": link})
}

// linkDuration reads a link's lifetime: a Go duration ("5m", "1h30m"), a
// number of days ("2d"), or a JSON number of seconds. Absent: 5m, the SDKs'
// default.
func linkDuration(raw json.RawMessage, maxTTL time.Duration) (time.Duration, error) {
	bad := func(why string) error {
		return httpx.Errorf(http.StatusBadRequest, "bad_duration",
			"duration %s: use e.g. \"5m\", \"2h\" or \"7d\" (at most %s)", why, maxTTL)
	}
	var d time.Duration
	var s string
	var secs float64
	switch raw = bytes.TrimSpace(raw); {
	case len(raw) == 0 || string(raw) == "null":
		return 5 * time.Minute, nil
	case json.Unmarshal(raw, &s) == nil:
		s = strings.TrimSpace(s)
		if days, ok := strings.CutSuffix(s, "d"); ok {
			n, err := strconv.Atoi(days)
			if err != nil || n > 36500 {
				return 0, bad(strconv.Quote(s) + " is not a duration")
			}
			d = time.Duration(n) * 24 * time.Hour
		} else {
			var err error
			if d, err = time.ParseDuration(s); err != nil {
				return 0, bad(strconv.Quote(s) + " is not a duration")
			}
		}
	case json.Unmarshal(raw, &secs) == nil:
		if secs > maxTTL.Seconds() {
			return 0, bad("is too long")
		}
		d = time.Duration(secs * float64(time.Second))
	default:
		return 0, bad("must be a string")
	}
	if d <= 0 {
		return 0, bad("must be positive")
	}
	if d > maxTTL {
		return 0, bad("is too long")
	}
	return d, nil
}

// GET /binary?key=<path> → the file's bytes.
func (g *Gateway) assetsBinary(c echo.Context, inst *instance.Instance) error {
	rc, obj, err := g.d.Assets.Get(c.Request().Context(), inst.ID, c.QueryParam("key"))
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return serveAsset(c, rc, obj)
}

// POST /copy?dst=<dir>[&retention=<period>], multipart/form-data with one
// part per file (file[0], file[1]…; the part's filename names the file) →
// "OK". Each file is committed as its part ends, so a failure leaves the
// files before it stored; the SDK throws and the app uploads again.
func (g *Gateway) assetsCopy(c echo.Context, inst *instance.Instance) error {
	r := c.Request()
	q := r.URL.Query()
	keep, err := assets.ParseRetention(q.Get("retention"))
	if err != nil {
		return err
	}
	dst, err := assets.Clean(q.Get("dst"), true)
	if err != nil {
		return err
	}
	limit := g.cfg.Assets.MaxUpload
	tooLarge := httpx.Errorf(http.StatusRequestEntityTooLarge, "too_large", "the upload is over %d bytes (NERU_ASSETS_MAX_UPLOAD)", limit)
	if r.ContentLength > limit {
		return tooLarge
	}
	r.Body = http.MaxBytesReader(c.Response().Writer, r.Body, limit)
	mr, err := r.MultipartReader()
	if err != nil {
		return httpx.Errorf(http.StatusBadRequest, "bad_multipart", "copy takes a multipart/form-data body, one part per file")
	}
	bodyErr := func(err error) error {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return tooLarge
		}
		return httpx.Errorf(http.StatusBadRequest, "bad_multipart", "the multipart body is malformed or was cut short")
	}
	var expires time.Time
	if keep > 0 {
		expires = time.Now().Add(keep)
	}
	stored := 0
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return bodyErr(err)
		}
		if stored == maxUploadParts {
			return httpx.Errorf(http.StatusBadRequest, "too_many_files", "one upload takes at most %d files", maxUploadParts)
		}
		// The raw filename: Part.FileName would strip a path from it, and a
		// name like "../x" must be refused, not quietly changed.
		_, params, _ := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
		filename := params["filename"]
		if filename == "" {
			return httpx.Errorf(http.StatusBadRequest, "bad_multipart",
				"part %q has no filename (with uploadData, pass the file names)", part.FormName())
		}
		name, err := assets.CleanName(filename)
		if err != nil {
			return err
		}
		body := &trackedReader{r: part}
		_, err = g.d.Assets.Put(r.Context(), inst.ID, path.Join(dst, name), body, assets.PutOptions{Expires: expires})
		if err != nil {
			if body.err != nil {
				return bodyErr(body.err)
			}
			return err
		}
		stored++
	}
	if stored == 0 {
		return httpx.Errorf(http.StatusBadRequest, "bad_multipart", "the upload holds no file")
	}
	return c.JSON(http.StatusOK, "OK")
}

// trackedReader remembers its reader's error, so a failed Put can tell a
// broken request body (the client's fault) from a failing store (ours).
type trackedReader struct {
	r   io.Reader
	err error
}

func (t *trackedReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF {
		t.err = err
	}
	return n, err
}

// serveAsset writes a file: its type from its extension, ranges and
// conditional requests when the store can seek. The headers keep a browser
// from running what it serves (an app's upload is not our content).
func serveAsset(c echo.Context, rc io.ReadCloser, obj assets.Object) error {
	defer rc.Close()
	h := c.Response().Header()
	ctype := mime.TypeByExtension(path.Ext(obj.Name))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	h.Set("Content-Type", ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox")
	if rs, ok := rc.(io.ReadSeeker); ok {
		http.ServeContent(c.Response(), c.Request(), "", obj.ModTime, rs)
		return nil
	}
	h.Set("Content-Length", strconv.FormatInt(obj.Size, 10))
	c.Response().WriteHeader(http.StatusOK)
	if c.Request().Method == http.MethodHead {
		return nil
	}
	_, err := io.Copy(c.Response(), rc)
	return err
}

// routeAssetLinks serves download links on the public listener:
// /assets/<token>, optionally followed by /<file name>, which is ignored.
func (g *Gateway) routeAssetLinks(e *echo.Echo) {
	for _, p := range []string{"/assets/:token", "/assets/:token/*"} {
		e.GET(p, g.downloadAsset)
		e.HEAD(p, g.downloadAsset)
	}
}

// downloadAsset serves the file a link grants. The token is the credential:
// forged or expired is 403, a file or instance gone since is 404.
func (g *Gateway) downloadAsset(c echo.Context) error {
	if g.d.Assets == nil {
		return httpx.Errorf(http.StatusNotFound, "not_found", "no such link")
	}
	tenant, name, err := g.links.Verify(c.Param("token"), time.Now())
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if _, err := g.d.Instances.Get(ctx, tenant); err != nil {
		return err
	}
	rc, obj, err := g.d.Assets.Get(ctx, tenant, name)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Content-Disposition", mime.FormatMediaType("inline", map[string]string{"filename": path.Base(obj.Name)}))
	h.Set("Cache-Control", "private, no-cache")
	return serveAsset(c, rc, obj)
}

// sweepAssets deletes expired files every SweepInterval until ctx ends.
func (g *Gateway) sweepAssets(ctx context.Context) {
	sw, ok := g.d.Assets.(assets.Sweeper)
	if !ok || g.cfg.Assets.SweepInterval <= 0 {
		return
	}
	tick := time.NewTicker(g.cfg.Assets.SweepInterval)
	defer tick.Stop()
	for {
		n, err := sw.Sweep(ctx, time.Now())
		switch {
		case err != nil && ctx.Err() == nil:
			g.log.Error("assets: sweep failed", "err", err, "deleted", n)
		case n > 0:
			g.log.Info("assets: expired files deleted", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
