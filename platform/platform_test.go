package platform_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/neru-dev/neru/delivery"
	"github.com/neru-dev/neru/internal/testenv"
	"github.com/neru-dev/neru/platform"
)

func TestFromEnv(t *testing.T) {
	t.Setenv("NERU_PARTITIONS", "8")
	t.Setenv("NERU_KEYSPACE", "t1:")
	t.Setenv("NERU_ANSWER_TIMEOUT", "2s")
	t.Setenv("NERU_ASSETS_DIR", "/tmp/a")
	t.Setenv("NERU_VONAGE_API_HOSTS", "api.nexmo.com, api-*.vonage.com")
	t.Setenv("NERU_ADMIN_TOKEN", "secret")
	cfg, err := platform.FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	g := cfg.Gateway
	if cfg.Partitions != 8 || cfg.Keyspace != "t1:" || g.AnswerTimeout != 2*time.Second || g.Assets.Dir != "/tmp/a" ||
		len(g.VonageAPIHosts) != 2 || g.VonageAPIHosts[1] != "api-*.vonage.com" || g.AdminToken != "secret" {
		t.Fatalf("config %+v", cfg)
	}
	if cfg.RedisURL != "redis://127.0.0.1:6379" || g.Addr != "127.0.0.1:8080" || g.Assets.PublicURL != "http://127.0.0.1:8080" {
		t.Fatalf("defaults not applied: %+v", cfg)
	}
	t.Setenv("NERU_ANSWER_TIMEOUT", "soon")
	t.Setenv("NERU_PARTITIONS", "many")
	if _, err := platform.FromEnv(); err == nil {
		t.Fatal("bad values accepted")
	}
}

func open(t *testing.T, configure func(*platform.Config)) *platform.Platform {
	t.Helper()
	ns := testenv.NATSServer(t)
	_, keyspace := testenv.Redis(t)
	cfg := platform.Config{RedisURL: testenv.RedisURL(t), NATSURL: ns.ClientURL(), Keyspace: keyspace}
	cfg.Gateway.AdminToken = "platform-test-token"
	if configure != nil {
		configure(&cfg)
	}
	p, err := platform.Open(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// Open builds every store once; the gateway and the worker process are
// built on them.
func TestOpenBuildsGatewayAndWorker(t *testing.T) {
	dir := t.TempDir()
	p := open(t, func(c *platform.Config) {
		c.Gateway.Assets.Dir = dir
		c.Gateway.VonageKeysDir = t.TempDir()
	})
	if p.Instances == nil || p.Listeners == nil || p.Sessions == nil || p.State == nil || p.ScheduleStore == nil ||
		p.QueueStore == nil || p.DLQ == nil || p.Logs == nil || p.Router == nil || p.Events == nil || p.Links == nil ||
		p.Assets == nil || p.VonageKeys == nil {
		t.Fatalf("a store is missing: %+v", p)
	}
	g, err := p.Gateway()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g.Handler())
	defer srv.Close()
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/admin/v1/instances": 200, "/webhooks/nobody/messages/inbound": 405} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer platform-test-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
	cmd := httptest.NewServer(g.CommandHandler())
	defer cmd.Close()
	resp, err := http.Post(cmd.URL+"/?func=nosuch.neru", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown provider: %d, want 404", resp.StatusCode)
	}
	if _, err := p.WorkerProcess(); err != nil {
		t.Fatal(err)
	}

	// Without an assets directory and keys, those parts are off, not broken.
	q := open(t, nil)
	if q.Assets != nil || q.VonageKeys != nil {
		t.Fatalf("assets %v, keys %v; want both off", q.Assets, q.VonageKeys)
	}
	if _, err := q.Gateway(); err != nil {
		t.Fatal(err)
	}
}

// A gateway without an admin token does not start, and says which setting
// is missing; only the dev-only loopback mode starts without one.
func TestGatewayNeedsAnAdminToken(t *testing.T) {
	p := open(t, func(c *platform.Config) { c.Gateway.AdminToken = "" })
	_, err := p.Gateway()
	if !errors.Is(err, platform.ErrNoAdminToken) || !strings.Contains(err.Error(), "NERU_ADMIN_TOKEN") {
		t.Fatalf("Gateway() without a token = %v, want ErrNoAdminToken naming NERU_ADMIN_TOKEN", err)
	}
	d := open(t, func(c *platform.Config) { c.Gateway.AdminToken, c.Gateway.DevAdminLoopback = "", true })
	if _, err := d.Gateway(); err != nil {
		t.Fatalf("Gateway() in dev loopback mode: %v", err)
	}
}

// Close returns only once the NATS drain finished, so publishes issued
// before it are stored (it used to return while the drain was running).
func TestCloseWaitsForNATSDrain(t *testing.T) {
	ns := testenv.NATSServer(t)
	_, keyspace := testenv.Redis(t)
	cfg := platform.Config{RedisURL: testenv.RedisURL(t), NATSURL: ns.ClientURL(), Keyspace: keyspace}
	p, err := platform.Open(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	const n = 500
	for i := range n {
		d := &delivery.Delivery{ID: fmt.Sprint("d", i), InstanceID: "i1", SessionID: fmt.Sprint("s", i%7), Path: "/x", Kind: "k", Body: []byte("{}")}
		if _, err := p.JS.PublishMsgAsync(d.Msg(p.Config.Partitions)); err != nil {
			t.Fatal(err)
		}
	}
	p.Close()
	if !p.NATS.IsClosed() {
		t.Fatalf("Close returned with the connection %v, want closed", p.NATS.Status())
	}
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(context.Background(), delivery.EventsStream)
	if err != nil {
		t.Fatal(err)
	}
	// The server got every message before the connection closed; JetStream
	// stores them a moment later.
	var stored uint64 // last seen
	testenv.Eventually(t, 10*time.Second, func() bool {
		info, err := st.Info(context.Background())
		if err == nil {
			stored = info.State.Msgs
		}
		return stored == n
	}, "not all %d publishes issued before Close were stored", n)
}
