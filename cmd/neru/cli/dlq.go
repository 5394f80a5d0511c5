package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"text/tabwriter"
	"time"
)

func runDLQ(ctx context.Context, args []string) error { return instanceAdmin(ctx, "dlq", args, DLQ) }

const dlqUsage = "usage: neru dlq [--gateway URL] [--instance ID] list|show|replay [flags] [seq]"

type deadRow struct {
	Seq       uint64    `json:"seq"`
	Died      time.Time `json:"died"`
	ID        string    `json:"id"`
	SessionID string    `json:"sessionId"`
	Path      string    `json:"path"`
	Attempts  int       `json:"attempts"`
	Reason    string    `json:"reason"`
}

// DLQ runs `neru dlq <args>` for one instance, printing to w.
func DLQ(ctx context.Context, gatewayURL, instanceID string, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New(dlqUsage)
	}
	fs := flags("dlq " + args[0])
	asJSON := fs.Bool("json", false, "print the API's JSON")
	a := newAdmin(gatewayURL)
	base := "/instances/" + url.PathEscape(instanceID) + "/dlq"
	switch args[0] {
	case "list":
		session := fs.String("session", "", "only this session's dead deliveries")
		limit := fs.Int("limit", 100, "at most this many (1-1000)")
		after := fs.Uint64("after", 0, "only those after this sequence (the \"next\" of the previous page)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		q := url.Values{"limit": {strconv.Itoa(*limit)}}
		if *session != "" {
			q.Set("session", *session)
		}
		if *after != 0 {
			q.Set("after", strconv.FormatUint(*after, 10))
		}
		var raw json.RawMessage
		if err := a.do(ctx, http.MethodGet, base+"?"+q.Encode(), nil, &raw); err != nil {
			return err
		}
		if *asJSON {
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
	case "show":
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return errors.New("usage: neru dlq show <seq>")
		}
		var raw json.RawMessage
		if err := a.do(ctx, http.MethodGet, base+"/"+url.PathEscape(fs.Arg(0)), nil, &raw); err != nil {
			return err
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "replay":
		session := fs.String("session", "", "replay every dead delivery of this session")
		all := fs.Bool("all", false, "replay every dead delivery of the instance")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		path := base + "/replay"
		switch {
		case fs.NArg() == 1 && *session == "" && !*all:
			path = base + "/" + url.PathEscape(fs.Arg(0)) + "/replay"
		case fs.NArg() == 0 && *session != "" && !*all:
			path += "?" + url.Values{"session": {*session}}.Encode()
		case fs.NArg() == 0 && *session == "" && *all:
			path += "?all=true"
		default:
			return errors.New("usage: neru dlq replay <seq> | --session <id> | --all")
		}
		var res struct{ Replayed int }
		if err := a.do(ctx, http.MethodPost, path, nil, &res); err != nil {
			return err
		}
		fmt.Fprintf(out, "replayed %d dead deliveries\n", res.Replayed)
		return nil
	}
	return fmt.Errorf("unknown dlq command %q (list, show, replay)", args[0])
}
