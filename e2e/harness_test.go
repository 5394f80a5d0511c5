// Package e2e drives the whole platform in-process, through the same wiring
// as `neru dev`: real Redis, an embedded nats-server, the gateway's HTTP
// handlers, a worker, and an app served by httptest.
package e2e

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/neru-dev/neru/instance"
	"github.com/neru-dev/neru/internal/httpx"
	"github.com/neru-dev/neru/internal/testenv"
	"github.com/neru-dev/neru/platform"
	"github.com/neru-dev/neru/sdk"
	"github.com/neru-dev/neru/worker"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// received is one request the app got.
type received struct {
	Path, Session, Delivery string
	Attempt                 int
	Body                    []byte
}

// app is a fake app: it answers with the handler registered for the path
// (or 200) and records every request it answered.
type app struct {
	srv *httptest.Server

	mu       sync.Mutex
	got      []received
	handlers map[string]http.HandlerFunc
}

func newApp(t *testing.T) *app {
	a := &app{handlers: map[string]http.HandlerFunc{}}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		attempt, _ := strconv.Atoi(r.Header.Get("x-neru-attempt"))
		a.mu.Lock()
		h := a.handlers[r.URL.Path]
		a.mu.Unlock()
		if h != nil {
			r.Body = io.NopCloser(bytes.NewReader(body))
			h(w, r)
		}
		if r.Context().Err() != nil {
			return // the platform gave up on this request: not received
		}
		a.mu.Lock()
		a.got = append(a.got, received{r.URL.Path, r.Header.Get("x-neru-sessionid"), r.Header.Get("x-neru-delivery-id"), attempt, body})
		a.mu.Unlock()
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *app) handle(path string, h http.HandlerFunc) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.handlers[path] = h
}

// requests returns what the app received on path so far.
func (a *app) requests(path string) []received {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []received
	for _, r := range a.got {
		if r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

func (a *app) total() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.got)
}

type harness struct {
	t       *testing.T
	nats    *server.Server
	p       *platform.Platform
	gateway *httptest.Server
	command *httptest.Server
	app     *app
	inst    *instance.Instance
	sdk     *sdk.Client
}

const appID = "e2e-app"

// start boots the platform; opts adjust its configuration first.
func start(t *testing.T, opts ...func(*platform.Config)) *harness {
	t.Helper()
	ns := testenv.NATSServer(t)
	_, keyspace := testenv.Redis(t)
	cfg := platform.Config{RedisURL: testenv.RedisURL(t), NATSURL: ns.ClientURL(), Keyspace: keyspace}
	cfg.Gateway.DevInstanceID = "e2e"
	cfg.Gateway.DevAdminLoopback = true // as neru dev: the admin API on loopback without a token
	cfg.AppNetworks = httpx.Loopback
	cfg.Gateway.AnswerTimeout = time.Second
	cfg.Gateway.PublishTimeout = time.Second
	cfg.Worker = worker.Config{
		BackoffBase: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond,
		LeaseTTL: time.Second, DrainTime: 2 * time.Second, MaxAttempts: 5,
	}
	for _, o := range opts {
		o(&cfg)
	}
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	p, err := platform.Open(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	h := &harness{t: t, nats: ns, p: p, app: newApp(t)}
	h.inst = &instance.Instance{ID: "e2e", BaseURL: h.app.srv.URL, ApplicationID: appID, Unauthenticated: true}
	if err := p.Instances.Create(ctx, h.inst); err != nil {
		t.Fatal(err)
	}
	g, err := p.Gateway()
	if err != nil {
		t.Fatal(err)
	}
	h.gateway = httptest.NewServer(g.Handler())
	t.Cleanup(h.gateway.Close)
	h.command = httptest.NewServer(g.CommandHandler())
	t.Cleanup(h.command.Close)
	h.sdk = sdk.New(sdk.Config{Endpoint: h.command.URL, InstanceID: "e2e"})
	return h
}

// startWorker runs a worker until the returned stop function is called;
// stop returns once the worker has drained and released its partitions.
func (h *harness) startWorker() (stop func()) {
	h.t.Helper()
	w, err := h.p.Worker()
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				h.t.Errorf("worker: %v", err)
			}
		})
	}
	h.t.Cleanup(stop)
	return stop
}

// webhook posts a provider webhook to the gateway.
func (h *harness) webhook(path string, body []byte) (int, []byte) {
	h.t.Helper()
	resp, err := http.Post(h.gateway.URL+"/webhooks/"+appID+path, "application/json", bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// streamMsgs is how many messages NERU_EVENTS holds.
func (h *harness) streamMsgs() uint64 {
	h.t.Helper()
	s, err := h.p.JS.Stream(context.Background(), "NERU_EVENTS")
	if err != nil {
		h.t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return info.State.Msgs
}
