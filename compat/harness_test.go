package compat

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/neru-dev/neru/cmd/neru/fakevonage"
	"github.com/neru-dev/neru/cmd/neru/simulate"
	"github.com/neru-dev/neru/instance"
	"github.com/neru-dev/neru/internal/httpx"
	"github.com/neru-dev/neru/internal/testenv"
	"github.com/neru-dev/neru/platform"
	"github.com/neru-dev/neru/worker"
)

// commandAddr is where the SDKs in DEBUG mode send every call
// (http://localhost:3001, hard-coded in both SDKs).
const commandAddr = "127.0.0.1:3001"

// testKey is the instance's RSA key: apps get it as PRIVATE_KEY, the instance
// record holds its public half. jsonwebtoken 9 refuses RSA keys under 2048 bits.
var testKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

func key(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := testKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func privatePEM(t *testing.T) string {
	der, err := x509.MarshalPKCS8PrivateKey(key(t))
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func publicPEM(t *testing.T) string {
	der, err := x509.MarshalPKIXPublicKey(&key(t).PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// options describe one platform for one test.
type options struct {
	InstanceID, ApplicationID, AccountID string
	// AppPort is the port of the app the instance delivers to (0: none).
	AppPort int
	// OnPort3001 serves the command endpoint on 127.0.0.1:3001, where the
	// SDKs in DEBUG mode call. Otherwise it is served on a random port.
	OnPort3001 bool
}

// env is a platform started for one test: gateway (webhooks and command
// endpoint), a worker process (worker, scheduler, queues), one instance, and the fake Vonage API behind vonage-api.
type env struct {
	t       *testing.T
	P       *platform.Platform
	Inst    *instance.Instance
	Public  string // gateway base URL (webhooks)
	Command string // command endpoint base URL
	// Upstream is the fake Vonage API that vonage-api calls instead of the
	// real hosts (Gateway.VonageAPIURL, as `neru dev` does). It checks the
	// application JWT vonage-api signs with the instance's Vonage key.
	Upstream *fakevonage.Fake
}

func start(t *testing.T, o options) *env {
	t.Helper()
	if o.InstanceID == "" {
		o.InstanceID, o.ApplicationID, o.AccountID = "compat", "compat-app", "compat-account"
	}
	var l net.Listener
	if o.OnPort3001 {
		l = listen3001(t)
	}
	ns := testenv.NATSServer(t)
	_, keyspace := testenv.Redis(t)
	cfg := platform.Config{RedisURL: testenv.RedisURL(t), NATSURL: ns.ClientURL(), Keyspace: keyspace}
	cfg.Gateway.DevInstanceID = o.InstanceID // neru in DEBUG mode sends no token
	cfg.Gateway.DevAdminLoopback = true
	cfg.AppNetworks = httpx.Loopback // the app listens on loopback
	cfg.Gateway.CommandAddr = "-"    // served below
	// Generous: under -race on a shared 2-core machine an app's /onCall (two
	// SDK calls plus their logs) can take more than the 4 s default.
	cfg.Gateway.AnswerTimeout = 15 * time.Second
	cfg.Worker = worker.Config{
		BackoffBase: 50 * time.Millisecond, BackoffMax: 500 * time.Millisecond,
		LeaseTTL: time.Second, DrainTime: 2 * time.Second, MaxAttempts: 4,
	}
	e := &env{t: t}
	appKey := &key(t).PublicKey
	e.Upstream = fakevonage.New(fakevonage.Options{PublicKey: func(app string) *rsa.PublicKey {
		if app == o.ApplicationID {
			return appKey
		}
		return nil
	}})
	up := httptest.NewServer(e.Upstream)
	t.Cleanup(up.Close)
	cfg.Gateway.VonageAPIURL = up.URL
	// The instance's Vonage application key, which signs vonage-api's
	// upstream JWTs. On Vonage it is the key pair the app's PRIVATE_KEY
	// belongs to, so the test uses the same one.
	keys := t.TempDir()
	if err := os.WriteFile(filepath.Join(keys, o.InstanceID+".pem"), []byte(privatePEM(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.Gateway.VonageKeysDir = keys

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() && os.Getenv("COMPAT_PLATFORM_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ctx := context.Background()
	p, err := platform.Open(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	e.P = p

	base := "http://127.0.0.1:9" // an instance needs a base URL; nothing listens on the discard port
	if o.AppPort != 0 {
		base = "http://127.0.0.1:" + strconv.Itoa(o.AppPort)
	}
	e.Inst = &instance.Instance{
		ID: o.InstanceID, ApplicationID: o.ApplicationID, AccountID: o.AccountID, BaseURL: base,
		PublicKey: publicPEM(t), Unauthenticated: true,
	}
	if err := p.Instances.Create(ctx, e.Inst); err != nil {
		t.Fatal(err)
	}

	g, err := p.Gateway()
	if err != nil {
		t.Fatal(err)
	}
	pub := httptest.NewServer(g.Handler())
	t.Cleanup(pub.Close)
	e.Public = pub.URL
	if l != nil {
		srv := &http.Server{Handler: g.CommandHandler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 75 * time.Second}
		go func() { _ = srv.Serve(l) }()
		t.Cleanup(func() { _ = srv.Close() })
		e.Command = "http://" + commandAddr
	} else {
		cmd := httptest.NewServer(g.CommandHandler())
		t.Cleanup(cmd.Close)
		e.Command = cmd.URL
	}

	// The whole worker process (deliveries, schedules, queues), as
	// cmd/worker and `neru dev` run it: the session tests need all three.
	run, err := p.WorkerProcess()
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(wctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
	})
	return e
}

// listen3001 takes the SDKs' debug port, or fails saying who has it.
func listen3001(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", commandAddr)
	if err != nil {
		t.Fatalf("compat: cannot listen on %s: %v\n"+
			"The SDKs in DEBUG mode send every call to http://localhost:3001, so this suite needs that port to itself.\n"+
			"Is `neru dev` or another run of ./compat running? Stop it and run again.", commandAddr, err)
	}
	// localhost may resolve to ::1 first; whatever listened there would get
	// the SDKs' calls instead of us.
	if c, err := net.DialTimeout("tcp", "[::1]:3001", 200*time.Millisecond); err == nil {
		_ = c.Close()
		_ = l.Close()
		t.Fatalf("compat: something listens on [::1]:3001; the SDKs would call it instead of the platform on %s. Stop it and run again.", commandAddr)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// appEnv is the environment the platform gives an app (as `neru dev` writes
// it to .neru/dev.env), plus the test's own COMPAT_ARGS.
func (e *env) appEnv(port int, args map[string]any) map[string]string {
	a, _ := json.Marshal(args)
	p := strconv.Itoa(port)
	return map[string]string{
		"DEBUG":              "true",
		"INSTANCE_ID":        e.Inst.ID,
		"API_ACCOUNT_ID":     e.Inst.AccountID,
		"API_APPLICATION_ID": e.Inst.ApplicationID,
		"PRIVATE_KEY":        privatePEM(e.t),
		"NERU_APP_PORT":      p,
		"VCR_PORT":           p,
		"PORT":               p,
		"COMPAT_ARGS":        string(a),
	}
}

// webhook posts a provider webhook built by cmd/neru/simulate at the gateway.
func (e *env) webhook(path string, body []byte) (int, []byte) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	status, reply, err := simulate.Post(ctx, simulate.Options{Gateway: e.Public}, path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	return status, reply
}

// sim returns simulate options for this platform's application.
func (e *env) sim(o simulate.Options) simulate.Options {
	o.Gateway, o.ApplicationID = e.Public, e.Inst.ApplicationID
	return o
}

// signJWT mints the platform token the SDKs send (protocol §2.2) with the
// test's key.
func signJWT(t *testing.T, claims any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signing := enc(map[string]string{"alg": "RS256", "typ": "JWT"}) + "." + enc(claims)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key(t), crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// jsonEqual compares two JSON texts as values.
func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(bytes.TrimSpace(a), bytes.TrimSpace(b))
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}
