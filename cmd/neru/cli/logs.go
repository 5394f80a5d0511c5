package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// logEntry is one entry of GET /admin/v1/instances/:id/logs.
type logEntry struct {
	Seq        int64           `json:"seq"`
	ReceivedAt time.Time       `json:"receivedAt"`
	Log        json.RawMessage `json:"log"`
}

// appLog is the part of an SDK log submission (protocol §3.9) we print.
type appLog struct {
	Timestamp string          `json:"timestamp"`
	Level     string          `json:"log_level"`
	Message   string          `json:"message"`
	SessionID string          `json:"session_id"`
	Context   json.RawMessage `json:"context"`
}

func logsCmd() *cobra.Command {
	t := &target{}
	var follow, raw bool
	var after int64
	var every time.Duration
	c := &cobra.Command{
		Use:     "logs [--instance id] [--follow]",
		Short:   "show an instance's app logs (logs-submission); --follow to keep watching",
		Example: "  neru logs --instance shop -f",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return Logs(cmd.Context(), t.gateway, t.instance, after, follow, every, raw, cmd.OutOrStdout())
		},
	}
	fs := c.Flags()
	gatewayFlag(fs, t)
	instanceFlag(fs, t)
	fs.BoolVarP(&follow, "follow", "f", false, "keep polling for new logs until interrupted")
	fs.Int64Var(&after, "after", 0, "show only logs after this sequence number")
	fs.BoolVar(&raw, "json", false, "print each entry as JSON")
	fs.DurationVar(&every, "interval", time.Second, "poll interval with --follow")
	return c
}

// Logs prints the app logs of an instance that came after seq after, read
// from the gateway's admin API (token from NERU_ADMIN_TOKEN); with follow it
// keeps polling every interval until ctx ends.
func Logs(ctx context.Context, gatewayURL, instanceID string, after int64, follow bool, every time.Duration, raw bool, w io.Writer) error {
	a := newAdmin(gatewayURL)
	for {
		var page struct {
			Logs []logEntry `json:"logs"`
			Next int64      `json:"next"`
		}
		q := url.Values{"after": {strconv.FormatInt(after, 10)}, "limit": {"1000"}}
		if err := a.do(ctx, http.MethodGet, "/instances/"+url.PathEscape(instanceID)+"/logs?"+q.Encode(), nil, &page); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		for _, e := range page.Logs {
			printLog(w, e, raw)
		}
		after = page.Next
		if len(page.Logs) == 1000 {
			continue // more are waiting
		}
		if !follow {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(every):
		}
	}
}

func printLog(w io.Writer, e logEntry, raw bool) {
	if raw {
		b, _ := json.Marshal(e)
		fmt.Fprintln(w, string(b))
		return
	}
	var l appLog
	if json.Unmarshal(e.Log, &l) != nil {
		fmt.Fprintf(w, "%s %s\n", e.ReceivedAt.Format(time.RFC3339), e.Log)
		return
	}
	ts := l.Timestamp
	if ts == "" {
		ts = e.ReceivedAt.Format(time.RFC3339Nano)
	}
	line := fmt.Sprintf("%s %-5s %s", ts, strings.ToUpper(or(l.Level, "info")), l.Message)
	if l.SessionID != "" {
		line += "  session=" + l.SessionID
	}
	if len(l.Context) > 0 && string(l.Context) != "null" {
		line += "  " + string(l.Context)
	}
	fmt.Fprintln(w, line)
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
