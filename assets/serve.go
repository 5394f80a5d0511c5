package assets

import (
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"time"
)

// Serve writes a file to an HTTP response and closes rc: its type from its
// extension, ranges and conditional requests when the store can seek. The
// headers keep a browser from running what it serves (an app's upload is
// not our content). The SDK endpoint's binary action and the edge's
// download links both answer through it.
func Serve(w http.ResponseWriter, r *http.Request, rc io.ReadCloser, obj Object) error {
	defer rc.Close()
	h := w.Header()
	ctype := mime.TypeByExtension(path.Ext(obj.Name))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	h.Set("Content-Type", ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox")
	if rs, ok := rc.(io.ReadSeeker); ok {
		http.ServeContent(w, r, "", obj.ModTime, rs)
		return nil
	}
	h.Set("Content-Length", strconv.FormatInt(obj.Size, 10))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	_, err := io.Copy(w, rc)
	return err
}

// Info is an entry of a listing as the SDKs' AssetInfo has it.
type Info struct {
	Name         string `json:"name"`
	LastModified string `json:"lastModified"`
	Size         int64  `json:"size"`
	Type         string `json:"type"` // "file" or "directory"
}

// Info is the object as the SDKs list it.
func (o Object) Info() Info {
	typ := "file"
	if o.Dir {
		typ = "directory"
	}
	return Info{Name: o.Name, LastModified: o.ModTime.UTC().Format(time.RFC3339), Size: o.Size, Type: typ}
}
