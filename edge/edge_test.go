package edge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/neru-dev/neru/delivery"
	"github.com/neru-dev/neru/edge"
	"github.com/neru-dev/neru/instance"
	"github.com/neru-dev/neru/internal/httpx"
	"github.com/neru-dev/neru/internal/testenv"
	"github.com/neru-dev/neru/platform"
	"github.com/neru-dev/neru/providers/voice"
)

// TestMain stops the redis-server testenv may start (when REDIS_URL is unset).
func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// harness is the platform in-process (real Redis, embedded NATS) with the
// gateway's public handler on an httptest server, and an app whose answer
// to synchronous calls each test chooses.
type harness struct {
	t      *testing.T
	p      *platform.Platform
	public *httptest.Server
	answer atomic.Value // func(w http.ResponseWriter, r *http.Request)
	calls  atomic.Int64
	// release ends app handlers that hold a request open; closed before
	// the app server, whose Close waits for them.
	release chan struct{}
}

func start(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, release: make(chan struct{})}
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.calls.Add(1)
		h.answer.Load().(func(http.ResponseWriter, *http.Request))(w, r)
	}))
	t.Cleanup(app.Close)
	t.Cleanup(func() { close(h.release) })
	ns := testenv.NATSServer(t)
	_, keyspace := testenv.Redis(t)
	cfg := platform.Config{RedisURL: testenv.RedisURL(t), NATSURL: ns.ClientURL(), Keyspace: keyspace}
	cfg.AppNetworks = httpx.Loopback // the app listens on loopback
	cfg.Gateway.AnswerTimeout = 500 * time.Millisecond
	cfg.Gateway.CommandAddr = "-"
	cfg.Gateway.AdminToken = "edge-test-admin-token"
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	p, err := platform.Open(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	h.p = p
	ctx := context.Background()
	if err := p.Instances.Create(ctx, &instance.Instance{ID: "shop", BaseURL: app.URL, ApplicationID: "app-1"}); err != nil {
		t.Fatal(err)
	}
	g, err := p.Gateway()
	if err != nil {
		t.Fatal(err)
	}
	h.public = httptest.NewServer(g.Handler())
	t.Cleanup(h.public.Close)
	return h
}

// listen registers a call-event listener for call uuid in session sess.
func (h *harness) listen(id, sess, uuid string) {
	h.t.Helper()
	ctx := context.Background()
	if _, err := h.p.Sessions.Create(ctx, "shop", sess, time.Hour); err != nil {
		h.t.Fatal(err)
	}
	payload := fmt.Sprintf(`{"callback":{"id":%q,"sessionId":%q,"path":"onEvent"},"vapiID":%q}`, id, sess, uuid)
	l, err := voice.Listener("shop", voice.ActionEvent, json.RawMessage(payload))
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.p.Listeners.Add(ctx, l); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) webhook(path, body string) (int, string) {
	h.t.Helper()
	resp, err := http.Post(h.public.URL+"/webhooks/app-1"+path, "application/json", strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// stored is how many deliveries NERU_EVENTS holds.
func (h *harness) stored() uint64 {
	h.t.Helper()
	st, err := h.p.JS.Stream(context.Background(), delivery.EventsStream)
	if err != nil {
		h.t.Fatal(err)
	}
	info, err := st.Info(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return info.State.Msgs
}

func speech(uuid, text string) string {
	return fmt.Sprintf(`{"uuid":%q,"conversation_uuid":"CON-1","speech":{"results":[{"text":%q,"confidence":"0.9"}]}}`, uuid, text)
}

// A speech result goes to the newest listener synchronously. Only when the
// app does not answer in time does the event go through the stream as
// well; an app that answered (an NCCO, a 4xx, or a 200 that is not an
// NCCO) has seen it, and must not get it a second time.
func TestVoiceInputRelay(t *testing.T) {
	h := start(t)
	h.listen("cb-1", "s-1", "CALL-1")
	fallback := edge.DefaultFallbackNCCO
	tests := []struct {
		name       string
		answer     func(w http.ResponseWriter, r *http.Request)
		wantBody   string
		wantStored uint64 // deliveries added to the stream
	}{
		{"ncco", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, `[{"action":"talk","text":"Thanks"}]`)
		}, `[{"action":"talk","text":"Thanks"}]`, 0},
		{"4xx", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "no", http.StatusBadRequest)
		}, fallback, 0},
		{"non-JSON 200", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "OK")
		}, fallback, 0},
		{"not in time", func(w http.ResponseWriter, r *http.Request) {
			<-h.release // past the answer timeout: the gateway gives up first
		}, fallback, 1},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.answer.Store(tt.answer)
			before, calls := h.stored(), h.calls.Load()
			status, body := h.webhook("/voice/event", speech("CALL-1", fmt.Sprint("say ", i)))
			if status != http.StatusOK || strings.TrimSpace(body) != tt.wantBody {
				t.Fatalf("webhook: %d %s, want 200 %s", status, body, tt.wantBody)
			}
			if got := h.calls.Load() - calls; got != 1 {
				t.Fatalf("the app got %d synchronous calls, want 1", got)
			}
			if got := h.stored() - before; got != tt.wantStored {
				t.Fatalf("the stream got %d deliveries, want %d", got, tt.wantStored)
			}
		})
	}
}

// A call event without input goes through the stream, and a webhook of an
// unknown application is a 404 that stores nothing.
func TestCallEventsAreStreamed(t *testing.T) {
	h := start(t)
	h.listen("cb-1", "s-1", "CALL-2")
	status, body := h.webhook("/voice/event", `{"uuid":"CALL-2","status":"answered"}`)
	if status != http.StatusOK || !strings.Contains(body, `"deliveries":1`) {
		t.Fatalf("status event: %d %s", status, body)
	}
	if got := h.stored(); got != 1 {
		t.Fatalf("stream holds %d deliveries, want 1", got)
	}
	resp, err := http.Post(h.public.URL+"/webhooks/nobody/voice/event", "application/json", strings.NewReader(`{"uuid":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || h.stored() != 1 {
		t.Fatalf("unknown application: %d, stream %d", resp.StatusCode, h.stored())
	}
}

func TestHealth(t *testing.T) {
	h := start(t)
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(h.public.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
	}
}
