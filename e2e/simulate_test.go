package e2e

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/neru-dev/neru/cmd/neru/cli"
	"github.com/neru-dev/neru/sdk"
)

// neru simulate says what happened to its webhook: no listener matched,
// delivered to a route with the app's status and the latency, a call
// answered by the app or by the fallback NCCO and why; --data @file posts
// any payload.
func TestSimulateSaysWhatHappened(t *testing.T) {
	h := start(t)
	ctx := context.Background()
	simulate := func(args ...string) string {
		t.Helper()
		var out, errs bytes.Buffer
		args = append(append([]string{"simulate"}, args...), "--gateway", h.gateway.URL, "--application-id", appID, "--wait", "20s")
		if code := cli.Main(ctx, args, &out, &errs); code != 0 {
			t.Fatalf("neru %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errs.String())
		}
		return out.String()
	}
	must := func(out string, re string) {
		t.Helper()
		if !regexp.MustCompile(re).MatchString(out) {
			t.Fatalf("output:\n%s\nwant it to match %s", out, re)
		}
	}

	must(simulate("sms", "--from", "447700905555"), `(?m)^matched 0 listeners$`)
	must(simulate("call", "--from", "447700905555"), `(?m)^answered with the fallback NCCO: no listener answers calls$`)

	s := h.sdk.NewSession()
	if _, err := s.OnMessage(ctx, "/onMessage", sdk.Contact{Type: "sms", Number: "447700905555"}, sdk.Contact{Type: "sms"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.OnCall(ctx, "/onCall"); err != nil {
		t.Fatal(err)
	}
	h.app.handle("/onMessage", func(http.ResponseWriter, *http.Request) {})
	h.app.handle("/onCall", func(_ http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // no answer until the gateway gives up (its answer timeout is 1s)
	})
	h.startWorker()
	must(simulate("sms", "--from", "447700905555"), `(?m)^matched 1 listener\ndelivered to /onMessage \(200, [0-9.]+ ms\)$`)
	must(simulate("call", "--from", "447700905555"), `(?m)^answered with the fallback NCCO: app unreachable`)

	file := filepath.Join(t.TempDir(), "inbound.json")
	if err := os.WriteFile(file, inboundSMS("447700905555", ourNumber, "from a file"), 0o600); err != nil {
		t.Fatal(err)
	}
	must(simulate("sms", "--data", "@"+file), `(?m)^delivered to /onMessage \(200, [0-9.]+ ms\)$`)
	var texts []string
	for _, r := range h.app.requests("/onMessage") {
		texts = append(texts, string(r.Body))
	}
	if len(texts) != 2 || !strings.Contains(texts[1], "from a file") {
		t.Fatalf("the app got %q, want the built SMS then the file's", texts)
	}
}
