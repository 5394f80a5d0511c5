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
	"time"

	"github.com/spf13/cobra"
)

type deadRow struct {
	Seq       uint64    `json:"seq"`
	Died      time.Time `json:"died"`
	ID        string    `json:"id"`
	SessionID string    `json:"sessionId"`
	Path      string    `json:"path"`
	Attempts  int       `json:"attempts"`
	Reason    string    `json:"reason"`
}

// DLQ runs `neru dlq <args>` for one instance, printing to out.
func DLQ(ctx context.Context, gatewayURL, instanceID string, args []string, out io.Writer) error {
	return runGroup(ctx, dlqCmd(), gatewayURL, instanceID, args, out)
}

func dlqCmd() *cobra.Command {
	var asJSON bool
	c := adminGroup(&cobra.Command{
		Use:     "dlq <command>",
		Short:   "dead deliveries of an instance: list | show | replay | discard | held",
		Example: "  neru dlq --instance shop list --session S\n  neru dlq --instance shop replay --all\n  neru dlq --instance shop held",
	}, func(t *target) []*cobra.Command {
		base := func() string { return "/instances/" + url.PathEscape(t.instance) + "/dlq" }
		var session string
		var limit int
		var after uint64
		list := &cobra.Command{
			Use:   "list [--session S] [--limit n] [--after seq]",
			Short: "list dead deliveries, oldest first",
			Args:  noArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				q := url.Values{"limit": {strconv.Itoa(limit)}}
				if session != "" {
					q.Set("session", session)
				}
				if after != 0 {
					q.Set("after", strconv.FormatUint(after, 10))
				}
				var raw json.RawMessage
				if err := newAdmin(t.gateway).do(cmd.Context(), http.MethodGet, base()+"?"+q.Encode(), nil, &raw); err != nil {
					return err
				}
				return printDead(cmd.OutOrStdout(), raw, asJSON)
			},
		}
		list.Flags().StringVar(&session, "session", "", "only this session's dead deliveries")
		list.Flags().IntVar(&limit, "limit", 100, "at most this many (1-1000)")
		list.Flags().Uint64Var(&after, "after", 0, "only those after this sequence (the \"next\" of the previous page)")
		show := &cobra.Command{
			Use:   "show <seq>",
			Short: "one dead delivery: headers, reason, attempts, body",
			Args:  exactArgs("<seq>"),
			RunE: func(cmd *cobra.Command, args []string) error {
				var raw json.RawMessage
				if err := newAdmin(t.gateway).do(cmd.Context(), http.MethodGet, base()+"/"+url.PathEscape(args[0]), nil, &raw); err != nil {
					return err
				}
				var v any
				if err := json.Unmarshal(raw, &v); err != nil {
					return err
				}
				return printJSON(cmd.OutOrStdout(), v)
			},
		}
		var replaySession string
		var all bool
		replay := &cobra.Command{
			Use:   "replay <seq> | --session <id> | --all",
			Short: "put dead deliveries back on the stream",
			Args:  maxArgs(1, "one <seq>"),
			RunE: func(cmd *cobra.Command, args []string) error {
				path := base() + "/replay"
				switch {
				case len(args) == 1 && replaySession == "" && !all:
					path = base() + "/" + url.PathEscape(args[0]) + "/replay"
				case len(args) == 0 && replaySession != "" && !all:
					path += "?" + url.Values{"session": {replaySession}}.Encode()
				case len(args) == 0 && replaySession == "" && all:
					path += "?all=true"
				default:
					return usagef("neru dlq replay takes exactly one of <seq>, --session <id> or --all")
				}
				var res struct{ Replayed int }
				if err := newAdmin(t.gateway).do(cmd.Context(), http.MethodPost, path, nil, &res); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "replayed %d dead deliveries\n", res.Replayed)
				return nil
			},
		}
		replay.Flags().StringVar(&replaySession, "session", "", "replay every dead delivery of this session")
		replay.Flags().BoolVar(&all, "all", false, "replay every dead delivery of the instance")
		discard := &cobra.Command{
			Use:   "discard <seq>",
			Short: "delete a dead delivery for good; a session it held flows on without it",
			Args:  exactArgs("<seq>"),
			RunE: func(cmd *cobra.Command, args []string) error {
				var res struct {
					SessionID string `json:"sessionId"`
					Released  bool   `json:"released"`
				}
				if err := newAdmin(t.gateway).do(cmd.Context(), http.MethodPost, base()+"/"+url.PathEscape(args[0])+"/discard", nil, &res); err != nil {
					return err
				}
				if res.Released {
					fmt.Fprintf(cmd.OutOrStdout(), "discarded %s; session %s flows again\n", args[0], res.SessionID)
				} else {
					fmt.Fprintf(cmd.OutOrStdout(), "discarded %s\n", args[0])
				}
				return nil
			},
		}
		held := &cobra.Command{
			Use:   "held",
			Short: "sessions waiting behind a dead delivery (onDead hold)",
			Args:  noArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				var raw json.RawMessage
				if err := newAdmin(t.gateway).do(cmd.Context(), http.MethodGet, "/instances/"+url.PathEscape(t.instance)+"/held", nil, &raw); err != nil {
					return err
				}
				return printHeld(cmd.OutOrStdout(), raw, asJSON)
			},
		}
		return []*cobra.Command{list, show, replay, discard, held}
	})
	c.PersistentFlags().BoolVar(&asJSON, "json", false, "print the API's JSON")
	return c
}

func printHeld(out io.Writer, raw json.RawMessage, asJSON bool) error {
	if asJSON {
		_, err := fmt.Fprintln(out, string(raw))
		return err
	}
	var page struct {
		Sessions []struct {
			Session    string    `json:"session"`
			DeliveryID string    `json:"deliveryId"`
			DLQSeq     uint64    `json:"dlqSeq"`
			Since      time.Time `json:"since"`
			Reason     string    `json:"reason"`
		} `json:"sessions"`
	}
	if err := json.Unmarshal(raw, &page); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SESSION\tDLQ SEQ\tDELIVERY\tSINCE\tREASON")
	for _, h := range page.Sessions {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", h.Session, h.DLQSeq, h.DeliveryID, h.Since.Format(time.RFC3339), h.Reason)
	}
	return tw.Flush()
}

func printDead(out io.Writer, raw json.RawMessage, asJSON bool) error {
	if asJSON {
		_, err := fmt.Fprintln(out, string(raw))
		return err
	}
	var page struct {
		Deliveries []deadRow `json:"deliveries"`
		Next       uint64    `json:"next"`
	}
	if err := json.Unmarshal(raw, &page); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tDIED\tSESSION\tPATH\tATTEMPTS\tREASON")
	for _, d := range page.Deliveries {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\n", d.Seq, d.Died.Local().Format(time.DateTime), d.SessionID, d.Path, d.Attempts, d.Reason)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if page.Next != 0 {
		fmt.Fprintf(out, "more with --after %d\n", page.Next)
	}
	return nil
}
