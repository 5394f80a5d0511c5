package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
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
		list := &cobra.Command{
			Use:   "list",
			Short: "every queue with its rate, inflight, waiting, sent, errors and dead letters",
			Args:  noArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				var out struct{ Queues []queueDetails }
				if err := newAdmin(t.gateway).do(cmd.Context(), http.MethodGet, t.at("queues"), nil, &out); err != nil {
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
		stats := t.command(call{
			use:   "stats <name>",
			short: "one queue's details and counters, as JSON",
			args:  exactArgs("<name>"),
			path:  t.atArgs("queues", ""),
		})
		toggle := func(verb, short string) *cobra.Command {
			return t.command(call{use: verb + " <name>", short: short, args: exactArgs("<name>"),
				method: http.MethodPost, path: t.atArgs("queues", "/"+verb), done: "queue %s: " + verb + "d"})
		}
		var pop int
		dead := &cobra.Command{
			Use:   "deadletter <name> [--pop n]",
			Short: "list a queue's dead letters, or remove and print the oldest with --pop",
			Args:  exactArgs("<name>"),
			RunE: func(cmd *cobra.Command, args []string) error {
				path := t.at("queues", args[0]) + "/deadletter"
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
