package admin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/neru-dev/neru/internal/proctest"
	"github.com/neru-dev/neru/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(proctest.Main(m)) }

// devRun is `neru dev` and the seed example app, each its own process, on
// free ports.
type devRun struct {
	t                *testing.T
	neru             string
	dev, seed        *proctest.Proc
	gateway, appPort string
	ctx              context.Context
}

func startDev(t *testing.T) *devRun {
	t.Helper()
	r := &devRun{t: t, ctx: t.Context(), neru: proctest.Binary(t, "github.com/neru-dev/neru/cmd/neru")}
	seedBin := proctest.Binary(t, "github.com/neru-dev/neru/examples/seed")
	addr, cmdAddr, fake := proctest.Addr(proctest.FreePort(t)), proctest.Addr(proctest.FreePort(t)), proctest.Addr(proctest.FreePort(t))
	r.appPort = strconv.Itoa(proctest.FreePort(t))
	r.gateway = "http://" + addr
	data := t.TempDir()
	// Two attempts, quickly: a delivery to an app that is down is dead
	// within a second.
	r.dev = proctest.Start(t, "neru dev", r.neru, []string{"NERU_MAX_ATTEMPTS=2", "NERU_BACKOFF_BASE=20ms", "NERU_BACKOFF_MAX=50ms"},
		"dev", "--ephemeral", "--data-dir", data, "--addr", addr, "--command-addr", cmdAddr,
		"--fake-vonage-addr", fake, "--app-url", "http://127.0.0.1:"+r.appPort)
	proctest.WaitHTTP(t, r.dev, r.gateway+"/readyz", 60*time.Second)
	// The app gets the environment neru dev wrote, and the command endpoint
	// on its free port.
	r.seed = proctest.Start(t, "seed app", "/bin/bash", []string{"NERU_ENDPOINT=http://" + cmdAddr, "SEED=" + seedBin, "DEV_ENV=" + filepath.Join(data, "dev.env")},
		"-c", `. "$DEV_ENV" && exec "$SEED"`)
	proctest.WaitTCP(t, r.seed, "127.0.0.1:"+r.appPort, 60*time.Second)
	return r
}

// neruCmd runs the neru tool against this neru dev.
func (r *devRun) neruCmd(args ...string) string {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(r.ctx, 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.neru, args...)
	cmd.Env = append(os.Environ(), "NERU_GATEWAY_URL="+r.gateway, "NERU_ADMIN_URL="+r.gateway)
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("neru %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// admin GETs an admin API path into v.
func (r *devRun) admin(path string, v any) {
	r.t.Helper()
	resp, err := http.Get(r.gateway + "/admin/v1" + path)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		r.t.Fatalf("GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		r.t.Fatal(err)
	}
}

// browser starts headless Chromium (Debian's chromium package) on a new
// empty profile; the flags keep it from reaching for the network, which
// is closed here.
func browser(t *testing.T) context.Context {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is not installed (apt-get install -y chromium; .ci/run does): %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin), chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// bounded runs a with an upper bound, failing the test with the page's
// text if it does not complete.
func bounded[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(tctx, a)
	if err != nil {
		pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
		defer pcancel()
		page, _ := chromedp.Run(pctx, chromedp.Text(chromedp.CSS("body")))
		t.Fatalf("%s: %v\npage:\n%s", what, err, page)
	}
	return v
}

// run runs browser steps (see bounded).
func run(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	bounded(t, ctx, what, chromedp.Steps(steps...))
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return bounded(t, ctx, "text of "+sel, chromedp.Text(chromedp.CSS(sel)))
}

// drawn waits until the page drew itself (its heading, or an error).
var drawn = chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
	_, err := chromedp.Poll[bool](`document.querySelector('main h1') !== null`)(ctx, tg)
	return err
})

// pollText opens url until the text of sel contains every one of want
// (the page draws what the API says when it is opened).
func pollText(t *testing.T, ctx context.Context, url, sel string, want ...string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		run(t, ctx, "open "+url, chromedp.Navigate(url), drawn)
		tctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		got, _ := chromedp.Run(tctx, chromedp.Text(chromedp.CSS(sel)))
		cancel()
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(got, w)
		}
		if ok {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s %s never showed %q; the page shows:\n%s", url, sel, want, text(t, ctx, "main"))
		}
		time.Sleep(200 * time.Millisecond) // between reloads of a page that reads the server once
	}
}

// The console in a real browser against neru dev and the seed app: the
// session page of the call shows the stored transcript and both
// deliveries; a delivery that died while the app was down is replayed
// from the DLQ page and arrives.
func TestConsoleInChromium(t *testing.T) {
	ctx := browser(t) // first: a missing browser fails before the binaries are built
	r := startDev(t)

	// The live stream page, filtered to the dev instance, shows the
	// scenario as it is played.
	run(t, ctx, "live page", chromedp.Navigate(r.gateway+"/console/live?instance=dev"), chromedp.WaitVisible(chromedp.CSS("#live-ready")))
	r.neruCmd("simulate", "call", "--uuid", "CALL-1", "--from", "447700900001")
	r.neruCmd("simulate", "voice-event", "--uuid", "CALL-1", "--status", "answered")
	r.neruCmd("simulate", "voice-event", "--uuid", "CALL-1", "--speech", "hello there")
	if out := r.neruCmd("simulate", "sms", "--from", "447700900001", "--to", "447700900000", "--text", "transcript please"); !strings.Contains(out, "delivered to /onMessage (200, ") {
		t.Fatalf("neru simulate sms said:\n%s", out)
	}
	run(t, ctx, "live rows", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Poll[bool](`[...document.querySelectorAll('#live tbody tr')].some(r => r.textContent.includes('/onMessage') && r.textContent.includes('delivered'))
			&& [...document.querySelectorAll('#live tbody tr')].some(r => r.textContent.includes('voice.answer'))`)(ctx, tg)
		return err
	}))

	// The call's session is the one whose state holds the transcript.
	var sid string
	testenv.Eventually(t, 30*time.Second, func() bool {
		var page struct{ Sessions []struct{ ID string } }
		r.admin("/instances/dev/sessions?limit=1000", &page)
		for _, s := range page.Sessions {
			var st struct{ Entries []struct{ Key string } }
			r.admin("/instances/dev/sessions/"+s.ID+"/state", &st)
			for _, e := range st.Entries {
				if e.Key == "transcript" {
					sid = s.ID
					return true
				}
			}
		}
		return false
	}, "no session holds the transcript")

	// From the instances page to the session, by links.
	base := r.gateway + "/console/"
	run(t, ctx, "instances page", chromedp.Navigate(base), chromedp.WaitVisible(chromedp.CSS(`#instances a[href="/console/instances/dev/sessions"]`)),
		chromedp.Click(chromedp.CSS(`#instances a[href="/console/instances/dev/sessions"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#sessions`)))
	sel := fmt.Sprintf(`#sessions a[href="/console/instances/dev/sessions/%s"]`, sid)
	run(t, ctx, "session link", chromedp.Click(chromedp.CSS(sel)), chromedp.WaitVisible(chromedp.CSS(`#state`)))
	loc := bounded(t, ctx, "location", chromedp.Location())
	stateText := text(t, ctx, "#state")
	if want := base + "instances/dev/sessions/" + sid; loc != want {
		t.Fatalf("session page at %s, want the bookmarkable %s", loc, want)
	}
	if !strings.Contains(stateText, "transcript") || !strings.Contains(stateText, "hello there") {
		t.Fatalf("session state shows %q, want the transcript with its value", stateText)
	}
	sessionURL := base + "instances/dev/sessions/" + sid
	deliveries := pollText(t, ctx, sessionURL, "#deliveries", "/onEvent", "/onMessage")
	if strings.Count(deliveries, "delivered") < 2 {
		t.Fatalf("deliveries:\n%s\nwant /onEvent and /onMessage delivered", deliveries)
	}
	ttl := text(t, ctx, "#ttl")
	if !strings.Contains(ttl, "d ") && !strings.Contains(ttl, "h ") {
		t.Fatalf("TTL left %q", ttl)
	}

	// The app goes down; the next SMS dies after its two attempts.
	r.seed.Kill()
	r.neruCmd("simulate", "sms", "--from", "447700900001", "--to", "447700900000", "--text", "again please")
	testenv.Eventually(t, 30*time.Second, func() bool {
		var dead struct{ Deliveries []struct{ Path string } }
		r.admin("/instances/dev/dlq", &dead)
		return len(dead.Deliveries) == 1 && dead.Deliveries[0].Path == "/onMessage"
	}, "the SMS to the stopped app never reached the DLQ")
	// neru dev printed the same lines as neru tail: the webhooks, the
	// deliveries, the retry and the move to the DLQ.
	for _, want := range []string{"dev webhook voice.answer matched 1 listener: answered", "dev webhook messages.inbound matched 1 listener: routed",
		"dev attempt /onMessage session=" + sid + " 200 ", ": delivered", "attempt 1: retried", "attempt 2: dead, moved to the DLQ"} {
		testenv.Eventually(t, 10*time.Second, func() bool { return strings.Contains(r.dev.Logs(), want) }, "neru dev never printed %q", want)
	}
	r.seed.Restart(t)
	proctest.WaitTCP(t, r.seed, "127.0.0.1:"+r.appPort, 60*time.Second)

	// Inspect it, then replay it from the DLQ page.
	run(t, ctx, "DLQ page", chromedp.Navigate(base+"instances/dev/dlq"), chromedp.WaitVisible(chromedp.CSS(`#dlq button.replay`)))
	seq := bounded(t, ctx, "DLQ row", chromedp.AttributeValue(chromedp.CSS(`#dlq tr[data-seq]`), "data-seq")).Value
	run(t, ctx, "inspect", chromedp.Click(chromedp.CSS(`#dlq a[href$="/dlq/`+seq+`"]`)), chromedp.WaitVisible(chromedp.CSS(`#body`)))
	body := text(t, ctx, "#body")
	if !strings.Contains(body, "again please") {
		t.Fatalf("inspected body %q, want the SMS", body)
	}
	run(t, ctx, "replay", chromedp.Navigate(base+"instances/dev/dlq"), chromedp.WaitVisible(chromedp.CSS(`#dlq button.replay`)),
		chromedp.Click(chromedp.CSS(`#dlq button.replay`)), chromedp.WaitVisible(chromedp.CSS(`#dlq-empty`)))
	notice := text(t, ctx, "#notice")
	if notice != "Replayed delivery "+seq+"." {
		t.Fatalf("notice %q", notice)
	}
	// It arrives: the session's deliveries show /onMessage delivered twice.
	deadline := time.Now().Add(30 * time.Second)
	for {
		d := pollText(t, ctx, sessionURL, "#deliveries", "dead")
		if strings.Count(d, "/onMessage") >= 3 && strings.Count(d, "delivered") >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replayed delivery never arrived:\n%s", d)
		}
		time.Sleep(200 * time.Millisecond) // reloading the session page
	}
}
