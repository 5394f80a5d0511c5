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

const queuesUsage = "usage: neru queues [--instance id] [--gateway url] list | stats <name> | pause <name> | resume <name> | deadletter [--pop n] <name>"

func runQueues(ctx context.Context, args []string) error {
	fs := flags("queues")
	gw := gatewayFlag(fs)
	inst := instanceFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	return Queues(ctx, *gw, *inst, fs.Args(), os.Stdout)
}

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
	if len(args) == 0 {
		return errors.New(queuesUsage)
	}
	a := newAdmin(gatewayURL)
	base := "/instances/" + url.PathEscape(instanceID) + "/queues"
	one := func() (string, error) {
		if len(args) != 2 {
			return "", fmt.Errorf("usage: neru queues %s <name>", args[0])
		}
		return base + "/" + url.PathEscape(args[1]), nil
	}
	switch args[0] {
	case "list":
		var out struct{ Queues []queueDetails }
		if err := a.do(ctx, http.MethodGet, base, nil, &out); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
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
	case "stats":
		path, err := one()
		if err != nil {
			return err
		}
		var v json.RawMessage
		if err := a.do(ctx, http.MethodGet, path, nil, &v); err != nil {
			return err
		}
		return printJSON(w, v)
	case "pause", "resume":
		path, err := one()
		if err != nil {
			return err
		}
		if err := a.do(ctx, http.MethodPost, path+"/"+args[0], nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(w, "queue %s: %sd\n", args[1], args[0])
		return nil
	case "deadletter":
		fs := flags("queues deadletter")
		pop := fs.Int("pop", 0, "remove and print the n oldest dead letters instead of listing them")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return errors.New("usage: neru queues deadletter [--pop n] <name>")
		}
		path := base + "/" + url.PathEscape(fs.Arg(0)) + "/deadletter"
		method := http.MethodGet
		if *pop > 0 {
			method, path = http.MethodPost, path+"/pop?count="+strconv.Itoa(*pop)
		}
		var out struct{ Items []string }
		if err := a.do(ctx, method, path, nil, &out); err != nil {
			return err
		}
		for _, it := range out.Items {
			fmt.Fprintln(w, it)
		}
		return nil
	}
	return fmt.Errorf("unknown queues command %q\n%s", args[0], queuesUsage)
}
