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
	"strings"
	"text/tabwriter"
	"time"
)

// instanceAdmin parses the flags every per-instance admin command takes
// before its subcommand, then runs it.
func instanceAdmin(ctx context.Context, name string, args []string, run func(ctx context.Context, gatewayURL, instanceID string, args []string, w io.Writer) error) error {
	fs := flags(name)
	gw := gatewayFlag(fs)
	inst := instanceFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	return run(ctx, *gw, *inst, fs.Args(), os.Stdout)
}

func runSessions(ctx context.Context, args []string) error {
	return instanceAdmin(ctx, "sessions", args, Sessions)
}

type sessionRow struct {
	ID         string     `json:"id"`
	CreatedAt  time.Time  `json:"createdAt"`
	ExpiresAt  *time.Time `json:"expiresAt"`
	TTLSeconds *float64   `json:"ttlSeconds"`
}

func (s sessionRow) ttl() string {
	if s.TTLSeconds == nil {
		return "never expires"
	}
	return (time.Duration(*s.TTLSeconds * float64(time.Second))).Round(time.Second).String()
}

const sessionsUsage = "usage: neru sessions [--gateway URL] [--instance ID] list|get|reset|delete [flags] [session id]"

// Sessions runs `neru sessions <args>` for one instance, printing to w.
func Sessions(ctx context.Context, gatewayURL, instanceID string, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New(sessionsUsage)
	}
	fs := flags("sessions " + args[0])
	asJSON := fs.Bool("json", false, "print the API's JSON")
	a := newAdmin(gatewayURL)
	base := "/instances/" + url.PathEscape(instanceID) + "/sessions"
	one := func() (string, error) {
		if fs.NArg() != 1 {
			return "", fmt.Errorf("usage: neru sessions %s <session id>", args[0])
		}
		return base + "/" + url.PathEscape(fs.Arg(0)), nil
	}
	switch args[0] {
	case "list":
		limit := fs.Int("limit", 100, "sessions per page (1-1000)")
		cursor := fs.String("cursor", "", "page to start at (the \"next\" of the previous page)")
		all := fs.Bool("all", false, "follow the cursor through every page")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		if !*asJSON {
			fmt.Fprintln(tw, "SESSION\tCREATED\tEXPIRES IN")
		}
		next, live := *cursor, int64(0)
		for {
			var page struct {
				Sessions []sessionRow `json:"sessions"`
				Next     string       `json:"next"`
				Live     int64        `json:"live"`
			}
			q := url.Values{"limit": {strconv.Itoa(*limit)}}
			if next != "" {
				q.Set("cursor", next)
			}
			var raw json.RawMessage
			if err := a.do(ctx, http.MethodGet, base+"?"+q.Encode(), nil, &raw); err != nil {
				return err
			}
			if *asJSON {
				fmt.Fprintln(out, string(raw))
			}
			if err := json.Unmarshal(raw, &page); err != nil {
				return err
			}
			for _, s := range page.Sessions {
				if !*asJSON {
					fmt.Fprintf(tw, "%s\t%s\t%s\n", s.ID, s.CreatedAt.Local().Format(time.DateTime), s.ttl())
				}
			}
			next, live = page.Next, page.Live
			if !*all || next == "" {
				break
			}
		}
		if *asJSON {
			return nil
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(out, "%d live sessions", live)
		if next != "" {
			fmt.Fprintf(out, "; more with --cursor %s", next)
		}
		fmt.Fprintln(out)
		return nil
	case "get":
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		path, err := one()
		if err != nil {
			return err
		}
		var raw json.RawMessage
		if err := a.do(ctx, http.MethodGet, path, nil, &raw); err != nil {
			return err
		}
		if *asJSON {
			_, err := fmt.Fprintln(out, string(raw))
			return err
		}
		return printSession(out, raw)
	case "reset", "delete":
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		path, err := one()
		if err != nil {
			return err
		}
		method, done := http.MethodPost, "reset (state cleared, listeners kept)"
		if args[0] == "reset" {
			path += "/reset"
		} else {
			method, done = http.MethodDelete, "deleted (listeners and state removed)"
		}
		if err := a.do(ctx, method, path, nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(out, "session %s %s\n", fs.Arg(0), done)
		return nil
	}
	return fmt.Errorf("unknown sessions command %q (list, get, reset, delete)", args[0])
}

func printSession(out io.Writer, raw []byte) error {
	var s struct {
		sessionRow
		Listeners []struct {
			ID, Provider, Action, Path, Key string
		} `json:"listeners"`
		StateKeys  *int64 `json:"stateKeys"`
		Deliveries []struct {
			ID, Path, Status, Error string
			Attempt                 int
			At                      time.Time
		} `json:"deliveries"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return err
	}
	fmt.Fprintf(out, "session     %s\ncreated     %s\nexpires in  %s\n", s.ID, s.CreatedAt.Local().Format(time.DateTime), s.ttl())
	state := "unknown"
	if s.StateKeys != nil {
		state = strconv.FormatInt(*s.StateKeys, 10)
	}
	fmt.Fprintf(out, "state keys  %s\n\nlisteners (%d)\n", state, len(s.Listeners))
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	for _, l := range s.Listeners {
		fmt.Fprintf(tw, "  %s\t%s %s\t%s\t%s\n", l.ID, l.Provider, l.Action, l.Path, l.Key)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nrecent deliveries (%d, newest first)\n", len(s.Deliveries))
	for _, d := range s.Deliveries {
		fmt.Fprintf(tw, "  %s\t%s\t%s\tattempt %d\t%s\t%s\n", d.At.Local().Format(time.TimeOnly), d.Status, d.ID, d.Attempt, d.Path, strings.TrimSpace(d.Error))
	}
	return tw.Flush()
}
