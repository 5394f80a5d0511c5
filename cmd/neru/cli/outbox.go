package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/neru-dev/neru/cmd/neru/fakevonage"
)

func outboxCmd() *cobra.Command {
	var fake string
	var forget, raw bool
	c := &cobra.Command{
		Use:   "outbox [--clear] [--json]",
		Short: "show what apps sent to the fake Vonage API of neru dev (vonage-api)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return Outbox(cmd.Context(), strings.TrimRight(fake, "/"), forget, raw, cmd.OutOrStdout())
		},
	}
	c.Flags().StringVar(&fake, "vonage-url", env("NERU_FAKE_VONAGE_URL", "http://"+defaultFakeVonageAddr), "the fake Vonage API of `neru dev` (env NERU_FAKE_VONAGE_URL)")
	c.Flags().BoolVar(&forget, "clear", false, "forget the recorded requests")
	c.Flags().BoolVar(&raw, "json", false, "print the recorded requests as JSON")
	return c
}

// Outbox prints what apps sent to Vonage through vonage-api in dev mode:
// the requests the fake Vonage API recorded.
func Outbox(ctx context.Context, fakeURL string, forget, raw bool, w io.Writer) error {
	method := http.MethodGet
	if forget {
		method = http.MethodDelete
	}
	req, err := http.NewRequestWithContext(ctx, method, fakeURL+fakevonage.OutboxPath, nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the fake Vonage API at %s (is `neru dev` running?): %w", fakeURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("the fake Vonage API answered %s", resp.Status)
	}
	if forget {
		fmt.Fprintln(w, "outbox cleared")
		return nil
	}
	var out struct {
		Requests []fakevonage.Request `json:"requests"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&out); err != nil {
		return err
	}
	if raw {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out.Requests)
	}
	if len(out.Requests) == 0 {
		fmt.Fprintln(w, "outbox is empty: nothing was sent through vonage-api yet")
		return nil
	}
	for _, r := range out.Requests {
		target := r.Path
		if r.Host != "" {
			target = "https://" + r.Host + r.Path
		}
		if r.Query != "" {
			target += "?" + r.Query
		}
		fmt.Fprintf(w, "#%d %s %s %s → %d  app=%s\n", r.Seq, r.At.Format(time.RFC3339), r.Method, target, r.Status, r.ApplicationID)
		if len(r.Body) > 0 {
			fmt.Fprintf(w, "    %s\n", r.Body)
		}
		if len(r.Response) > 0 {
			fmt.Fprintf(w, "    ← %s\n", strings.TrimSpace(string(r.Response)))
		}
	}
	return nil
}
