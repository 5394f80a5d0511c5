package cli

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/neru-dev/neru/assets"
	"github.com/neru-dev/neru/gateway"
)

// runAssets is `neru assets ls`: an instance's vonage-assets files, through
// the admin API (GET /admin/v1/instances/:id/assets).
func runAssets(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "ls" {
		return errors.New("usage: neru assets ls [--instance id] [-r] [--limit n] [prefix]")
	}
	fs := flags("assets ls")
	gw := gatewayFlag(fs)
	inst := instanceFlag(fs)
	recursive := fs.Bool("r", false, "every file below the prefix, not just its direct entries")
	limit := fs.Int("limit", 1000, "at most this many entries")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return errors.New("usage: neru assets ls [flags] [prefix] (flags come before the prefix)")
	}
	q := url.Values{"prefix": {fs.Arg(0)}, "recursive": {strconv.FormatBool(*recursive)}, "limit": {strconv.Itoa(*limit)}}
	var out struct {
		Res []struct {
			Name         string    `json:"name"`
			LastModified string    `json:"lastModified"`
			Size         int64     `json:"size"`
			Type         string    `json:"type"`
			ExpiresAt    time.Time `json:"expiresAt"`
		} `json:"res"`
	}
	if err := newAdmin(*gw).do(ctx, http.MethodGet, "/instances/"+url.PathEscape(*inst)+"/assets?"+q.Encode(), nil, &out); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TYPE\tSIZE\tMODIFIED\tEXPIRES\tNAME")
	for _, a := range out.Res {
		size, expires, name := strconv.FormatInt(a.Size, 10), "-", a.Name
		if a.Type == "directory" {
			size, name = "-", name+"/"
		}
		if !a.ExpiresAt.IsZero() {
			expires = a.ExpiresAt.Local().Format(time.DateTime)
		}
		modified := a.LastModified
		if t, err := time.Parse(time.RFC3339, a.LastModified); err == nil {
			modified = t.Local().Format(time.DateTime)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.Type, size, modified, expires, name)
	}
	if len(out.Res) == 0 {
		fmt.Fprintf(tw, "(no files under %q)\n", fs.Arg(0))
	}
	return tw.Flush()
}

// devAssets keeps vonage-assets' files under the data dir and signs links
// with a key kept there too, so links survive a restart of `neru dev`.
// NERU_ASSETS_DIR, NERU_PUBLIC_URL and NERU_ASSETS_LINK_SECRET still win.
func devAssets(c *gateway.AssetsConfig, o DevOptions) error {
	if c.Dir == "" {
		c.Dir = filepath.Join(o.DataDir, "assets")
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://" + o.Addr
	}
	if c.LinkSecret != "" {
		return nil
	}
	file := filepath.Join(o.DataDir, "assets-link.key")
	if raw, err := os.ReadFile(file); err == nil && len(strings.TrimSpace(string(raw))) >= assets.MinLinkSecret {
		c.LinkSecret = strings.TrimSpace(string(raw))
		return nil
	}
	c.LinkSecret = rand.Text() + rand.Text() // 2×130 random bits
	return os.WriteFile(file, []byte(c.LinkSecret+"\n"), 0o600)
}
