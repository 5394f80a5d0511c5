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
		var session string
		var limit int
		var after uint64
		list := t.command(call{
			use:   "list [--session S] [--limit n] [--after seq]",
			short: "list dead deliveries, oldest first",
			args:  noArgs,
			path: func([]string) (string, error) {
				q := url.Values{"limit": {strconv.Itoa(limit)}}
				if session != "" {
					q.Set("session", session)
				}
				if after != 0 {
					q.Set("after", strconv.FormatUint(after, 10))
				}
				return t.at("dlq") + "?" + q.Encode(), nil
			},
			print: tableOr(&asJSON, printDead),
		})
		list.Flags().StringVar(&session, "session", "", "only this session's dead deliveries")
		list.Flags().IntVar(&limit, "limit", 100, "at most this many (1-1000)")
		list.Flags().Uint64Var(&after, "after", 0, "only those after this sequence (the \"next\" of the previous page)")
		show := t.command(call{
			use:   "show <seq>",
			short: "one dead delivery: headers, reason, attempts, body",
			args:  exactArgs("<seq>"),
			path:  t.atArgs("dlq", ""),
		})
		var replaySession string
		var all bool
		replay := t.command(call{
			use:    "replay <seq> | --session <id> | --all",
			short:  "put dead deliveries back on the stream",
			args:   maxArgs(1, "one <seq>"),
			method: http.MethodPost,
			path: func(args []string) (string, error) {
				switch {
				case len(args) == 1 && replaySession == "" && !all:
					return t.at("dlq", args[0]) + "/replay", nil
				case len(args) == 0 && replaySession != "" && !all:
					return t.at("dlq") + "/replay?" + url.Values{"session": {replaySession}}.Encode(), nil
				case len(args) == 0 && replaySession == "" && all:
					return t.at("dlq") + "/replay?all=true", nil
				}
				return "", usagef("neru dlq replay takes exactly one of <seq>, --session <id> or --all")
			},
			print: func(w io.Writer, raw json.RawMessage) error {
				var res struct{ Replayed int }
				if len(raw) > 0 {
					if err := json.Unmarshal(raw, &res); err != nil {
						return err
					}
				}
				_, err := fmt.Fprintf(w, "replayed %d dead deliveries\n", res.Replayed)
				return err
			},
		})
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
				if err := newAdmin(t.gateway).do(cmd.Context(), http.MethodPost, t.at("dlq", args[0])+"/discard", nil, &res); err != nil {
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
		held := t.command(call{
			use:   "held",
			short: "sessions waiting behind a dead delivery (onDead hold)",
			args:  noArgs,
			path:  t.atArgs("held", ""),
			print: tableOr(&asJSON, printHeld),
		})
		return []*cobra.Command{list, show, replay, discard, held}
	})
	c.PersistentFlags().BoolVar(&asJSON, "json", false, "print the API's JSON")
	return c
}

func printHeld(out io.Writer, raw json.RawMessage) error {
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

func printDead(out io.Writer, raw json.RawMessage) error {
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
