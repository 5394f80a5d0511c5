package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

// scheduleView is what the admin API returns for a schedule.
type scheduleView struct {
	ID       string `json:"id"`
	StartAt  string `json:"startAt"`
	NextAt   string `json:"next_at"`
	Callback struct {
		Path      string `json:"path"`
		SessionID string `json:"sessionId"`
	} `json:"callback"`
	Interval *struct {
		Cron string `json:"cron"`
	} `json:"interval"`
	Execution struct {
		InvocationCounter int `json:"invocation_counter"`
	} `json:"execution"`
}

// Schedules runs `neru schedules <args>` against the gateway's admin API
// and prints to w.
func Schedules(ctx context.Context, gatewayURL, instanceID string, args []string, w io.Writer) error {
	return runGroup(ctx, schedulesCmd(), gatewayURL, instanceID, args, w)
}

func schedulesCmd() *cobra.Command {
	return adminGroup(&cobra.Command{
		Use:     "schedules <command>",
		Short:   "inspect and cancel an instance's schedules: list | get | cancel",
		Example: "  neru schedules --instance shop list\n  neru schedules --instance shop cancel nightly",
	}, func(t *target) []*cobra.Command {
		var limit int
		var cursor int64
		list := &cobra.Command{
			Use:   "list [--limit n] [--cursor c]",
			Short: "list schedules with their next firing, a page at a time",
			Args:  noArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				var page struct {
					Schedules  []scheduleView `json:"schedules"`
					NextCursor int64          `json:"next_cursor"`
				}
				q := url.Values{"limit": {strconv.Itoa(limit)}, "cursor": {strconv.FormatInt(cursor, 10)}}
				if err := newAdmin(t.gateway).do(cmd.Context(), http.MethodGet, t.at("schedules")+"?"+q.Encode(), nil, &page); err != nil {
					return err
				}
				w := cmd.OutOrStdout()
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tNEXT\tINVOCATIONS\tCRON\tPATH\tSESSION")
				for _, s := range page.Schedules {
					cron, next := "-", s.NextAt
					if s.Interval != nil {
						cron = s.Interval.Cron
					}
					if next == "" {
						next = "(firing)"
					}
					fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", s.ID, next, s.Execution.InvocationCounter, cron, s.Callback.Path, s.Callback.SessionID)
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				if page.NextCursor != 0 {
					fmt.Fprintf(w, "more: neru schedules --instance %s list --cursor %d\n", t.instance, page.NextCursor)
				}
				return nil
			},
		}
		list.Flags().IntVar(&limit, "limit", 100, "schedules per page (1-1000)")
		list.Flags().Int64Var(&cursor, "cursor", 0, "next_cursor of the previous page")
		get := t.command(call{
			use:   "get <id>",
			short: "one schedule, as JSON",
			args:  exactArgs("<id>"),
			path:  t.atArgs("schedules", ""),
		})
		cancel := t.command(call{
			use:    "cancel <id>",
			short:  "cancel a schedule",
			args:   exactArgs("<id>"),
			method: http.MethodDelete,
			path:   t.atArgs("schedules", ""),
			done:   "cancelled schedule %s",
		})
		return []*cobra.Command{list, get, cancel}
	})
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
