package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"text/tabwriter"
)

const schedulesUsage = "usage: neru schedules [--instance id] [--gateway url] list [--limit n] [--cursor c] | get <id> | cancel <id>"

func runSchedules(ctx context.Context, args []string) error {
	fs := flags("schedules")
	gw := gatewayFlag(fs)
	inst := instanceFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	return Schedules(ctx, *gw, *inst, fs.Args(), os.Stdout)
}

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
	if len(args) == 0 {
		return errors.New(schedulesUsage)
	}
	a := newAdmin(gatewayURL)
	base := "/instances/" + url.PathEscape(instanceID) + "/schedules"
	switch args[0] {
	case "list":
		fs := flags("schedules list")
		limit := fs.Int("limit", 100, "schedules per page (1-1000)")
		cursor := fs.Int64("cursor", 0, "next_cursor of the previous page")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		var page struct {
			Schedules  []scheduleView `json:"schedules"`
			NextCursor int64          `json:"next_cursor"`
		}
		q := url.Values{"limit": {strconv.Itoa(*limit)}, "cursor": {strconv.FormatInt(*cursor, 10)}}
		if err := a.do(ctx, http.MethodGet, base+"?"+q.Encode(), nil, &page); err != nil {
			return err
		}
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
			fmt.Fprintf(w, "more: neru schedules --instance %s list --cursor %d\n", instanceID, page.NextCursor)
		}
		return nil
	case "get":
		if len(args) != 2 {
			return errors.New("usage: neru schedules get <id>")
		}
		var v json.RawMessage
		if err := a.do(ctx, http.MethodGet, base+"/"+url.PathEscape(args[1]), nil, &v); err != nil {
			return err
		}
		return printJSON(w, v)
	case "cancel":
		if len(args) != 2 {
			return errors.New("usage: neru schedules cancel <id>")
		}
		if err := a.do(ctx, http.MethodDelete, base+"/"+url.PathEscape(args[1]), nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(w, "cancelled schedule %s\n", args[1])
		return nil
	}
	return fmt.Errorf("unknown schedules command %q\n%s", args[0], schedulesUsage)
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
