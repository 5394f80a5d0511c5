package sdkapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
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

// maxUploadParts caps the files of one upload.
const maxUploadParts = 1000

func (a *API) assetsAdapter() adapter {
	return adapter{name: assets.Provider, serve: a.serveAssets, errors: assets.HTTPErrors}
}

// serveAssets is the vonage-assets provider (protocol §3.7): REST-style
// routes whose files belong to the authenticated instance.
func (a *API) serveAssets(c echo.Context, inst *instance.Instance) error {
	if a.d.Files == nil {
		return assets.ErrDisabled
	}
	r := c.Request()
	switch r.Method + " " + strings.TrimRight(r.URL.Path, "/") {
	case "POST /mkdir":
		return a.assetsMkdir(c, inst)
	case "POST /copy":
		return a.assetsCopy(c, inst)
	case "POST /list":
		return a.assetsList(c, inst)
	case "POST /link":
		return a.assetsLink(c, inst)
	case "GET /binary", "HEAD /binary":
		return a.assetsBinary(c, inst)
	case "POST /remove":
		return a.assetsRemove(c, inst)
	}
	return httpx.Errorf(http.StatusNotFound, "unknown_action",
		"vonage-assets has no %s %s (POST mkdir, copy, list, link, remove; GET binary)", r.Method, r.URL.Path)
}

// assetsJSON decodes the JSON body of an assets request.
func (a *API) assetsJSON(c echo.Context, v any) error {
	body, err := httpx.ReadBody(c.Request(), a.cfg.MaxBody)
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
func (a *API) assetsMkdir(c echo.Context, inst *instance.Instance) error {
	var p struct {
		Directory string `json:"directory"`
	}
	if err := a.assetsJSON(c, &p); err != nil {
		return err
	}
	if err := a.d.Files.Mkdir(c.Request().Context(), inst.ID, p.Directory); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, "OK")
}

// POST /remove {prefix, recursive} → "OK". Removing what does not exist
// succeeds, as deleting a missing object does in an object store.
func (a *API) assetsRemove(c echo.Context, inst *instance.Instance) error {
	var p struct {
		Prefix    string `json:"prefix"`
		Recursive bool   `json:"recursive"`
	}
	if err := a.assetsJSON(c, &p); err != nil {
		return err
	}
	if err := a.d.Files.Remove(c.Request().Context(), inst.ID, p.Prefix, p.Recursive); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, "OK")
}

// POST /list {prefix, limit, recursive} → {res: [AssetInfo…]}
func (a *API) assetsList(c echo.Context, inst *instance.Instance) error {
	var p struct {
		Prefix    string `json:"prefix"`
		Limit     int    `json:"limit"`
		Recursive bool   `json:"recursive"`
	}
	if err := a.assetsJSON(c, &p); err != nil {
		return err
	}
	objs, err := a.d.Files.List(c.Request().Context(), inst.ID, p.Prefix, assets.ListOptions{Recursive: p.Recursive, Limit: p.Limit})
	if err != nil {
		return err
	}
	res := make([]assets.Info, len(objs))
	for i, o := range objs {
		res[i] = o.Info()
	}
	return c.JSON(http.StatusOK, map[string]any{"res": res})
}

// POST /link {path, duration} → {token, url}: a signed, expiring URL on the
// public listener. The file must exist now; the download checks again.
func (a *API) assetsLink(c echo.Context, inst *instance.Instance) error {
	var p struct {
		Path     string          `json:"path"`
		Duration json.RawMessage `json:"duration"`
	}
	if err := a.assetsJSON(c, &p); err != nil {
		return err
	}
	ttl, err := linkDuration(p.Duration, a.cfg.Assets.MaxLinkDuration)
	if err != nil {
		return err
	}
	rc, obj, err := a.d.Files.Get(c.Request().Context(), inst.ID, p.Path)
	if err != nil {
		return err
	}
	rc.Close()
	token := a.d.Links.Sign(inst.ID, obj.Name, time.Now().Add(ttl))
	// The file name at the end is only for the recipient (some infer the
	// type from it); the token alone says which file.
	link := a.cfg.Assets.PublicURL + "/assets/" + token + "/" + url.PathEscape(path.Base(obj.Name))
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
func (a *API) assetsBinary(c echo.Context, inst *instance.Instance) error {
	rc, obj, err := a.d.Files.Get(c.Request().Context(), inst.ID, c.QueryParam("key"))
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return assets.Serve(c.Response(), c.Request(), rc, obj)
}

// POST /copy?dst=<dir>[&retention=<period>], multipart/form-data with one
// part per file (file[0], file[1]…; the part's filename names the file) →
// "OK". Each file is committed as its part ends, so a failure leaves the
// files before it stored; the SDK throws and the app uploads again.
func (a *API) assetsCopy(c echo.Context, inst *instance.Instance) error {
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
	limit := a.cfg.Assets.MaxUpload
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
		_, err = a.d.Files.Put(r.Context(), inst.ID, path.Join(dst, name), body, assets.PutOptions{Expires: expires})
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
