package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/spf13/cobra"
)

// call declares an admin command that sends one request to the admin API
// and prints the answer, so each command is its declaration; errors (the
// gateway unreachable, an API {code,message}) come from admin.do.
type call struct {
	use, short string
	args       cobra.PositionalArgs
	method     string // GET when empty
	// path is the request's path under /admin/v1, from the arguments; an
	// error (a usage error for a bad combination) ends the command.
	path func(args []string) (string, error)
	// done, for an action, is the line printed on success: a format with
	// one %s, the first argument. The answer is not read.
	done string
	// print writes the answer; nil (and no done): its JSON, indented.
	print func(w io.Writer, raw json.RawMessage) error
}

func (t *target) command(c call) *cobra.Command {
	return &cobra.Command{Use: c.use, Short: c.short, Args: c.args, RunE: func(cmd *cobra.Command, args []string) error {
		path, err := c.path(args)
		if err != nil {
			return err
		}
		method := c.method
		if method == "" {
			method = http.MethodGet
		}
		w, a := cmd.OutOrStdout(), newAdmin(t.gateway)
		if c.done != "" {
			if err := a.do(cmd.Context(), method, path, nil, nil); err != nil {
				return err
			}
			_, err := fmt.Fprintf(w, c.done+"\n", args[0])
			return err
		}
		var raw json.RawMessage
		if err := a.do(cmd.Context(), method, path, nil, &raw); err != nil {
			return err
		}
		if c.print == nil {
			return printJSON(w, raw)
		}
		return c.print(w, raw)
	}}
}

// at is the path of one of the target instance's resources, the
// arguments path-escaped after it: at("dlq", "7") is /instances/<id>/dlq/7.
func (t *target) at(resource string, args ...string) string {
	p := "/instances/" + url.PathEscape(t.instance) + "/" + resource
	for _, a := range args {
		p += "/" + url.PathEscape(a)
	}
	return p
}

// atArgs is a path func for call: the resource and the command's
// arguments, then suffix (e.g. "/reset").
func (t *target) atArgs(resource, suffix string) func([]string) (string, error) {
	return func(args []string) (string, error) { return t.at(resource, args...) + suffix, nil }
}

// tableOr prints the API's JSON as it came with --json, the table
// otherwise.
func tableOr(asJSON *bool, table func(w io.Writer, raw json.RawMessage) error) func(io.Writer, json.RawMessage) error {
	return func(w io.Writer, raw json.RawMessage) error {
		if *asJSON {
			_, err := fmt.Fprintln(w, string(raw))
			return err
		}
		return table(w, raw)
	}
}
