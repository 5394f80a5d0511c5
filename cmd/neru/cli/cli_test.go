package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/spf13/cobra"
)

// run is neru with args; it returns the exit code and what was printed.
func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Main(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// Every command of the tree answers -h and --help with its help on stdout
// and exit code 0.
func TestHelpExitsZeroEverywhere(t *testing.T) {
	var paths [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		paths = append(paths, path)
		for _, sub := range c.Commands() {
			walk(sub, append(append([]string(nil), path...), sub.Name()))
		}
	}
	walk(newRoot(), nil)
	if len(paths) < 30 {
		t.Fatalf("only %d commands in the tree: %v", len(paths), paths)
	}
	for _, p := range paths {
		for _, h := range []string{"-h", "--help"} {
			args := append(append([]string(nil), p...), h)
			code, out, errOut := run(t, args...)
			if code != 0 || !strings.Contains(out, "Usage:") || errOut != "" {
				t.Errorf("neru %s: exit %d, stdout %q, stderr %q; want the help and exit 0", strings.Join(args, " "), code, out, errOut)
			}
		}
	}
	// With no arguments neru prints its help too, listing the commands.
	code, out, _ := run(t)
	for _, c := range []string{"dev", "simulate", "instance", "sessions", "dlq", "schedules", "queues", "assets", "logs", "outbox", "bench", "version"} {
		if !strings.Contains(out, "\n  "+c+" ") {
			t.Errorf("neru's help does not list %s:\n%s", c, out)
		}
	}
	if code != 0 {
		t.Fatalf("neru without arguments: exit %d", code)
	}
}

// Mistakes in the command line exit 1 with a message and a pointer to the
// help of the command that was meant.
func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args     []string
		msg, cmd string
	}{
		{[]string{"bogus"}, `unknown command "bogus"`, "neru"},
		{[]string{"sesions"}, "did you mean sessions?", "neru"},
		{[]string{"instance", "lsit"}, "did you mean list?", "neru instance"},
		{[]string{"sessions"}, "needs a subcommand", "neru sessions"},
		{[]string{"simulate"}, "needs a subcommand: call, sms, sms-status, voice-event", "neru simulate"},
		{[]string{"dev", "--bogus"}, "unknown flag: --bogus", "neru dev"},
		{[]string{"--bogus"}, "unknown flag: --bogus", "neru"},
		{[]string{"instance", "delete"}, "takes <id>, got 0", "neru instance delete"},
		{[]string{"sessions", "get", "a", "b"}, "takes <session id>, got 2", "neru sessions get"},
		{[]string{"bench", "extra"}, "takes no arguments", "neru bench"},
		{[]string{"queues", "deadletter", "q", "--pop", "many"}, `invalid argument "many"`, "neru queues deadletter"},
		{[]string{"dlq", "replay", "--all", "--session", "s"}, "exactly one of", "neru dlq replay"},
		{[]string{"simulate", "sms", "--dtmf", "1"}, "unknown flag: --dtmf", "neru simulate sms"},
	}
	for _, tt := range tests {
		code, out, errOut := run(t, tt.args...)
		if code != 1 || !strings.Contains(errOut, tt.msg) || !strings.Contains(errOut, "Run '"+tt.cmd+" --help' for usage.") || out != "" {
			t.Errorf("neru %s: exit %d, stdout %q, stderr %q; want exit 1, %q and a pointer to %q's help",
				strings.Join(tt.args, " "), code, out, errOut, tt.msg, tt.cmd)
		}
	}
}

// adminAPI is a stand-in gateway: it records each request and answers with
// an empty page.
type adminAPI struct {
	mu   sync.Mutex
	reqs []string // "METHOD path?query body"
}

func (a *adminAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	a.mu.Lock()
	a.reqs = append(a.reqs, strings.TrimSpace(r.Method+" "+r.URL.RequestURI()+" "+string(body)))
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case strings.HasSuffix(r.URL.Path, "/sessions"):
		_, _ = io.WriteString(w, `{"sessions":[],"next":"","live":0}`)
	case strings.HasPrefix(r.URL.Path, "/webhooks/"):
		_, _ = io.WriteString(w, `[{"action":"talk"}]`)
	default:
		_, _ = io.WriteString(w, `{}`)
	}
}

func (a *adminAPI) take() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	r := a.reqs
	a.reqs = nil
	return r
}

func startAdmin(t *testing.T) (*adminAPI, string) {
	a := &adminAPI{}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	return a, srv.URL
}

// A command's flags may come before or after its arguments, and a group's
// flags (--gateway, --instance) before or after the subcommand.
func TestFlagsInAnyPosition(t *testing.T) {
	api, url := startAdmin(t)
	same := []struct {
		want  string
		forms [][]string
	}{
		{"GET /admin/v1/instances/shop/sessions?limit=5", [][]string{
			{"sessions", "--gateway", url, "--instance", "shop", "list", "--limit", "5"},
			{"sessions", "list", "--limit", "5", "--instance", "shop", "--gateway", url},
			{"sessions", "--instance=shop", "list", "--gateway=" + url, "--limit=5"},
		}},
		{"POST /admin/v1/instances/shop/queues/orders/deadletter/pop?count=2", [][]string{
			{"queues", "--gateway", url, "--instance", "shop", "deadletter", "--pop", "2", "orders"},
			{"queues", "deadletter", "orders", "--pop", "2", "--instance", "shop", "--gateway", url},
		}},
		{`PATCH /admin/v1/instances/shop {"maxSessions":7,"sessionIdle":"30m"}`, [][]string{
			{"instance", "update", "--gateway", url, "--session-idle", "30m", "--max-sessions", "7", "shop"},
			{"instance", "update", "shop", "--max-sessions", "7", "--session-idle", "30m", "--gateway", url},
		}},
		{"GET /admin/v1/instances/shop/assets?limit=1000&prefix=reports%2F&recursive=true", [][]string{
			{"assets", "--gateway", url, "--instance", "shop", "ls", "-r", "reports/"},
			{"assets", "ls", "reports/", "--instance", "shop", "--recursive", "--gateway", url},
		}},
	}
	for _, s := range same {
		for _, args := range s.forms {
			code, _, errOut := run(t, args...)
			got := api.take()
			if code != 0 || len(got) != 1 || got[0] != s.want {
				t.Errorf("neru %s: exit %d (%s), requests %q; want exactly %q", strings.Join(args, " "), code, errOut, got, s.want)
			}
		}
	}
}

// The exported group runners (used by the e2e tests) take the same
// arguments as the command line.
func TestGroupRunners(t *testing.T) {
	api, url := startAdmin(t)
	var out bytes.Buffer
	if err := Sessions(context.Background(), url, "shop", []string{"list", "--limit", "2", "--all"}, &out); err != nil {
		t.Fatal(err)
	}
	if got := api.take(); len(got) != 1 || got[0] != "GET /admin/v1/instances/shop/sessions?limit=2" || !strings.Contains(out.String(), "0 live sessions") {
		t.Fatalf("Sessions list: requests %q, output %q", got, out.String())
	}
	if err := DLQ(context.Background(), url, "shop", []string{"replay", "--all"}, &out); err != nil {
		t.Fatal(err)
	}
	if got := api.take(); len(got) != 1 || got[0] != "POST /admin/v1/instances/shop/dlq/replay?all=true" {
		t.Fatalf("DLQ replay --all: requests %q", got)
	}
	if err := Schedules(context.Background(), url, "shop", []string{"get"}, &out); err == nil || !strings.Contains(err.Error(), "takes <id>") {
		t.Fatalf("Schedules get without an id: %v", err)
	}
	if err := Queues(context.Background(), url, "shop", nil, &out); err == nil || !strings.Contains(err.Error(), "needs a subcommand") {
		t.Fatalf("Queues without a subcommand: %v", err)
	}
}

// withoutTail drops simulate's attempt to watch the live stream, which this
// fake admin API does not serve (simulate then shows the gateway's answer).
func withoutTail(reqs []string) []string {
	var out []string
	for _, r := range reqs {
		if !strings.HasPrefix(r, "GET /admin/v1/tail?") {
			out = append(out, r)
		}
	}
	return out
}

// Each simulate kind has its own flags, and they reach its webhook.
func TestSimulateKinds(t *testing.T) {
	api, url := startAdmin(t)
	tests := []struct {
		args []string
		path string
		body map[string]any
	}{
		{[]string{"sms", "--text", "hi there", "--from", "111"}, "/webhooks/dev-app/messages/inbound", map[string]any{"text": "hi there", "from": "111"}},
		{[]string{"sms-status", "--status", "rejected", "--application-id", "app-9"}, "/webhooks/app-9/messages/status", map[string]any{"status": "rejected"}},
		{[]string{"call", "--uuid", "CALL-1", "--conversation-uuid", "CON-1"}, "/webhooks/dev-app/voice/answer", map[string]any{"uuid": "CALL-1", "conversation_uuid": "CON-1"}},
		{[]string{"voice-event", "--uuid", "CALL-1", "--status", "completed"}, "/webhooks/dev-app/voice/event", map[string]any{"status": "completed", "duration": "42"}},
	}
	for _, tt := range tests {
		args := append([]string{"simulate", tt.args[0], "--gateway", url}, tt.args[1:]...)
		code, out, errOut := run(t, args...)
		got := withoutTail(api.take())
		if code != 0 || len(got) != 1 || !strings.HasPrefix(got[0], "POST "+tt.path+" ") || !strings.Contains(out, "→ 200") {
			t.Errorf("neru %s: exit %d (%s), requests %q, output %q", strings.Join(args, " "), code, errOut, got, out)
			continue
		}
		var body map[string]any
		if err := json.Unmarshal([]byte(strings.SplitN(got[0], " ", 3)[2]), &body); err != nil {
			t.Fatal(err)
		}
		for k, v := range tt.body {
			if body[k] != v {
				t.Errorf("neru %s: body %s = %v, want %v", strings.Join(args, " "), k, body[k], v)
			}
		}
	}
	// --dtmf belongs to voice-event, where it makes an input event.
	if code, _, _ := run(t, "simulate", "voice-event", "--gateway", url, "--dtmf", "42"); code != 0 {
		t.Fatalf("voice-event --dtmf: exit %d", code)
	}
	if got := withoutTail(api.take()); len(got) != 1 || !strings.Contains(got[0], `"digits": "42"`) {
		t.Fatalf("voice-event --dtmf 42 sent %q", got)
	}
	for _, bad := range [][]string{{"sms", "--dtmf", "1"}, {"call", "--text", "x"}, {"sms-status", "--speech", "x"}, {"call", "--status", "answered"}} {
		if code, _, errOut := run(t, append([]string{"simulate", bad[0], "--gateway", url}, bad[1:]...)...); code != 1 || !strings.Contains(errOut, "unknown flag: "+bad[1]) {
			t.Errorf("simulate %v: exit %d, %q; want the flag refused", bad, code, errOut)
		}
	}
	if got := api.take(); len(got) != 0 {
		t.Fatalf("refused command lines still posted %q", got)
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, _ := run(t, args...)
		if code != 0 || !strings.HasPrefix(out, "neru github.com/neru-dev/neru ") {
			t.Errorf("neru %v: exit %d, %q; want the module and its version", args, code, out)
		}
	}
}

// Every command declared through call sends its one request, path-escaped,
// and prints its line or the answer.
func TestDeclaredAdminCommands(t *testing.T) {
	api, url := startAdmin(t)
	tests := []struct {
		group    func(context.Context, string, string, []string, io.Writer) error
		args     []string
		req, out string
	}{
		{DLQ, []string{"show", "7"}, "GET /admin/v1/instances/s%2F1/dlq/7", "{}\n"},
		{DLQ, []string{"held", "--json"}, "GET /admin/v1/instances/s%2F1/held", "{}\n"},
		{DLQ, []string{"replay", "7"}, "POST /admin/v1/instances/s%2F1/dlq/7/replay", "replayed 0 dead deliveries\n"},
		{DLQ, []string{"replay", "--session", "a b"}, "POST /admin/v1/instances/s%2F1/dlq/replay?session=a+b", "replayed 0 dead deliveries\n"},
		{Sessions, []string{"get", "x/y", "--json"}, "GET /admin/v1/instances/s%2F1/sessions/x%2Fy", "{}\n"},
		{Sessions, []string{"reset", "x"}, "POST /admin/v1/instances/s%2F1/sessions/x/reset", "session x reset (state cleared, listeners kept)\n"},
		{Sessions, []string{"delete", "x"}, "DELETE /admin/v1/instances/s%2F1/sessions/x", "session x deleted (listeners and state removed)\n"},
		{Queues, []string{"stats", "q"}, "GET /admin/v1/instances/s%2F1/queues/q", "{}\n"},
		{Queues, []string{"pause", "q"}, "POST /admin/v1/instances/s%2F1/queues/q/pause", "queue q: paused\n"},
		{Queues, []string{"resume", "q"}, "POST /admin/v1/instances/s%2F1/queues/q/resume", "queue q: resumed\n"},
		{Schedules, []string{"get", "n"}, "GET /admin/v1/instances/s%2F1/schedules/n", "{}\n"},
		{Schedules, []string{"cancel", "n"}, "DELETE /admin/v1/instances/s%2F1/schedules/n", "cancelled schedule n\n"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		err := tt.group(context.Background(), url, "s/1", tt.args, &out)
		if got := api.take(); err != nil || len(got) != 1 || got[0] != tt.req || out.String() != tt.out {
			t.Errorf("%q: err %v, requests %q, output %q; want %q and %q", tt.args, err, got, out.String(), tt.req, tt.out)
		}
	}
	var out bytes.Buffer
	if err := DLQ(context.Background(), url, "s", []string{"replay", "7", "--all"}, &out); err == nil || !strings.Contains(err.Error(), "exactly one of") {
		t.Errorf("replay <seq> --all: %v, want a usage error", err)
	}
	if got := api.take(); len(got) != 0 {
		t.Errorf("a usage error sent %q", got)
	}
}
