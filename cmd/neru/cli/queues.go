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

// queueDetails is what the admin API returns for a queue.
type queueDetails struct {
	Queue struct {
		Name     string `json:"name"`
		Callback struct {
			Path string `json:"path"`
		} `json:"callback"`
		Rate struct {
			MaxInflight  int     `json:"maxInflight"`
			MsgPerSecond float64 `json:"msgPerSecond"`
		} `json:"rate"`
		Active bool `json:"active"`
	} `json:"queueDetails"`
	Stats struct {
		CurrentRate     int64 `json:"currentRate"`
		CurrentInflight int64 `json:"currentInflight"`
		TotalSent       int64 `json:"totalSent"`
		TotalError      int64 `json:"totalError"`
		TotalEnqueue    int64 `json:"totalEnqueue"`
		Waiting         int64 `json:"waiting"`
		DeadLetters     int64 `json:"deadLetters"`
	} `json:"stats"`
}

// Queues runs `neru queues <args>` against the gateway's admin API and
// prints to w.
func Queues(ctx context.Context, gatewayURL, instanceID string, args []string, w io.Writer) error {
	return runGroup(ctx, queuesCmd(), gatewayURL, instanceID, args, w)
}

func queuesCmd() *cobra.Command {
	return adminGroup(&cobra.Command{
		Use:     "queues <command>",
		Short:   "inspect an instance's queues: list | stats | pause | resume | deadletter",
		Example: "  neru queues --instance shop list\n  neru queues --instance shop deadletter orders --pop 5",
	}, func(t *target) []*cobra.Command {
		base := func() string { return "/instances/" + url.PathEscape(t.instance) + "/queues" }
		list := &cobra.Command{
			Use:   "list",
			Short: "every queue with its rate, inflight, waiting, sent, errors and dead letters",
			Args:  noArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				var out struct{ Queues []queueDetails }
				if err := newAdmin(t.gateway).do(cmd.Context(), http.MethodGet, base(), nil, &out); err != nil {
					return err
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tSTATE\tRATE/S\tINFLIGHT\tWAITING\tSENT\tERRORS\tDEAD\tPATH")
				for _, q := range out.Queues {
					state := "active"
					if !q.Queue.Active {
						state = "paused"
					}
					fmt.Fprintf(tw, "%s\t%s\t%d/%g\t%d/%d\t%d\t%d\t%d\t%d\t%s\n", q.Queue.Name, state,
						q.Stats.CurrentRate, q.Queue.Rate.MsgPerSecond, q.Stats.CurrentInflight, q.Queue.Rate.MaxInflight,
						q.Stats.Waiting, q.Stats.TotalSent, q.Stats.TotalError, q.Stats.DeadLetters, q.Queue.Callback.Path)
				}
				return tw.Flush()
			},
		}
		stats := &cobra.Command{
			Use:   "stats <name>",
			Short: "one queue's details and counters, as JSON",
			Args:  exactArgs("<name>"),
			RunE: func(cmd *cobra.Command, args []string) error {
				var v json.RawMessage
				if err := newAdmin(t.gateway).do(cmd.Context(), http.MethodGet, base()+"/"+url.PathEscape(args[0]), nil, &v); err != nil {
					return err
				}
				return printJSON(cmd.OutOrStdout(), v)
			},
		}
		toggle := func(verb, short string) *cobra.Command {
			return &cobra.Command{
				Use:   verb + " <name>",
				Short: short,
				Args:  exactArgs("<name>"),
				RunE: func(cmd *cobra.Command, args []string) error {
					if err := newAdmin(t.gateway).do(cmd.Context(), http.MethodPost, base()+"/"+url.PathEscape(args[0])+"/"+verb, nil, nil); err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "queue %s: %sd\n", args[0], verb)
					return nil
				},
			}
		}
		var pop int
		dead := &cobra.Command{
			Use:   "deadletter <name> [--pop n]",
			Short: "list a queue's dead letters, or remove and print the oldest with --pop",
			Args:  exactArgs("<name>"),
			RunE: func(cmd *cobra.Command, args []string) error {
				path := base() + "/" + url.PathEscape(args[0]) + "/deadletter"
				method := http.MethodGet
				if pop > 0 {
					method, path = http.MethodPost, path+"/pop?count="+strconv.Itoa(pop)
				}
				var out struct{ Items []string }
				if err := newAdmin(t.gateway).do(cmd.Context(), method, path, nil, &out); err != nil {
					return err
				}
				for _, it := range out.Items {
					fmt.Fprintln(cmd.OutOrStdout(), it)
				}
				return nil
			},
		}
		dead.Flags().IntVar(&pop, "pop", 0, "remove and print the n oldest dead letters instead of listing them")
		return []*cobra.Command{list, stats, toggle("pause", "stop dispatching a queue's items"), toggle("resume", "dispatch a paused queue's items again"), dead}
	})
}
