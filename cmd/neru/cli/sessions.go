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
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

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

// Sessions runs `neru sessions <args>` for one instance, printing to out.
func Sessions(ctx context.Context, gatewayURL, instanceID string, args []string, out io.Writer) error {
	return runGroup(ctx, sessionsCmd(), gatewayURL, instanceID, args, out)
}

func sessionsCmd() *cobra.Command {
	var asJSON bool
	c := adminGroup(&cobra.Command{
		Use:     "sessions <command>",
		Short:   "inspect and end an instance's sessions: list | get | reset | delete",
		Example: "  neru sessions --instance shop list --all\n  neru sessions --instance shop get <session>",
	}, func(t *target) []*cobra.Command {
		var limit int
		var cursor string
		var all bool
		list := &cobra.Command{
			Use:   "list [--limit n] [--cursor c] [--all]",
			Short: "list live sessions, a page at a time (GET …/sessions)",
			Args:  noArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return listSessions(cmd.Context(), newAdmin(t.gateway), t.at("sessions"), limit, cursor, all, asJSON, cmd.OutOrStdout())
			},
		}
		list.Flags().IntVar(&limit, "limit", 100, "sessions per page (1-1000)")
		list.Flags().StringVar(&cursor, "cursor", "", "page to start at (the \"next\" of the previous page)")
		list.Flags().BoolVar(&all, "all", false, "follow the cursor through every page")
		get := t.command(call{
			use:   "get <session id>",
			short: "a session's TTL, listeners, state keys and last deliveries",
			args:  exactArgs("<session id>"),
			path:  t.atArgs("sessions", ""),
			print: tableOr(&asJSON, printSession),
		})
		end := func(name, short, method, suffix, done string) *cobra.Command {
			return t.command(call{use: name + " <session id>", short: short, args: exactArgs("<session id>"),
				method: method, path: t.atArgs("sessions", suffix), done: "session %s " + done})
		}
		return []*cobra.Command{list, get,
			end("reset", "clear a session's state, keep its listeners", http.MethodPost, "/reset", "reset (state cleared, listeners kept)"),
			end("delete", "end a session: its listeners, state and the session", http.MethodDelete, "", "deleted (listeners and state removed)"),
		}
	})
	c.PersistentFlags().BoolVar(&asJSON, "json", false, "print the API's JSON")
	return c
}

func listSessions(ctx context.Context, a *admin, base string, limit int, cursor string, all, asJSON bool, out io.Writer) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	if !asJSON {
		fmt.Fprintln(tw, "SESSION\tCREATED\tEXPIRES IN")
	}
	next, live := cursor, int64(0)
	for {
		var page struct {
			Sessions []sessionRow `json:"sessions"`
			Next     string       `json:"next"`
			Live     int64        `json:"live"`
		}
		q := url.Values{"limit": {strconv.Itoa(limit)}}
		if next != "" {
			q.Set("cursor", next)
		}
		var raw json.RawMessage
		if err := a.do(ctx, http.MethodGet, base+"?"+q.Encode(), nil, &raw); err != nil {
			return err
		}
		if asJSON {
			fmt.Fprintln(out, string(raw))
		}
		if err := json.Unmarshal(raw, &page); err != nil {
			return err
		}
		for _, s := range page.Sessions {
			if !asJSON {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", s.ID, s.CreatedAt.Local().Format(time.DateTime), s.ttl())
			}
		}
		next, live = page.Next, page.Live
		if !all || next == "" {
			break
		}
	}
	if asJSON {
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
}

func printSession(out io.Writer, raw json.RawMessage) error {
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
