package cli

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/neru-dev/neru/assets"
	"github.com/neru-dev/neru/platform"
)

// assetsCmd is `neru assets ls`: an instance's vonage-assets files, through
// the admin API (GET /admin/v1/instances/:id/assets).
func assetsCmd() *cobra.Command {
	return adminGroup(&cobra.Command{Use: "assets <command>", Short: "an instance's vonage-assets files: ls [--instance id] [-r] [prefix]"},
		func(t *target) []*cobra.Command {
			var recursive bool
			var limit int
			ls := &cobra.Command{
				Use:     "ls [prefix] [-r] [--limit n]",
				Short:   "list the files and folders under prefix (default: the top)",
				Example: "  neru assets ls --instance shop -r reports/",
				Args:    maxArgs(1, "one prefix"),
				RunE: func(cmd *cobra.Command, args []string) error {
					prefix := ""
					if len(args) == 1 {
						prefix = args[0]
					}
					return listAssets(cmd.Context(), *t, prefix, recursive, limit, cmd.OutOrStdout())
				},
			}
			ls.Flags().BoolVarP(&recursive, "recursive", "r", false, "every file below the prefix, not just its direct entries")
			ls.Flags().IntVar(&limit, "limit", 1000, "at most this many entries")
			return []*cobra.Command{ls}
		})
}

func listAssets(ctx context.Context, t target, prefix string, recursive bool, limit int, w io.Writer) error {
	q := url.Values{"prefix": {prefix}, "recursive": {strconv.FormatBool(recursive)}, "limit": {strconv.Itoa(limit)}}
	var out struct {
		Res []struct {
			Name         string    `json:"name"`
			LastModified string    `json:"lastModified"`
			Size         int64     `json:"size"`
			Type         string    `json:"type"`
			ExpiresAt    time.Time `json:"expiresAt"`
		} `json:"res"`
	}
	if err := newAdmin(t.gateway).do(ctx, http.MethodGet, "/instances/"+url.PathEscape(t.instance)+"/assets?"+q.Encode(), nil, &out); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
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
		fmt.Fprintf(tw, "(no files under %q)\n", prefix)
	}
	return tw.Flush()
}

// devAssets keeps vonage-assets' files under the data dir and signs links
// with a key kept there too, so links survive a restart of `neru dev`.
// NERU_ASSETS_DIR, NERU_PUBLIC_URL and NERU_ASSETS_LINK_SECRET still win.
func devAssets(c *platform.AssetsConfig, o DevOptions) error {
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
