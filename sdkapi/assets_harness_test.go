package sdkapi_test

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
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/neru-dev/neru/assets"
	"github.com/neru-dev/neru/instance"
	"github.com/neru-dev/neru/internal/testenv"
	"github.com/neru-dev/neru/platform"
)

// assetsEnv is the platform in-process, as in e2e: real Redis, embedded
// NATS, the gateway's two listeners on httptest servers, and the assets
// directory in a temp dir. Two tenants: tenantA is the dev instance (no
// token from loopback, like neru in DEBUG mode), tenantB signs a JWT (like
// vcr, or neru in production mode).
type assetsEnv struct {
	t        *testing.T
	p        *platform.Platform
	g        *platform.Gateway
	cmd, pub *httptest.Server
	parent   string       // temp dir holding dir (and nothing else, unless a test puts it there)
	dir      string       // the assets directory
	disk     *assets.Disk // a second handle on dir, for seeding and sweeping
	links    *assets.Linker
	keys     map[string]*rsa.PrivateKey // per tenant
	apps     map[string]string          // tenant → Vonage application id
}

const (
	tenantA     = "tenant-a"
	tenantB     = "tenant-b"
	linkSecret  = "test-link-secret-0123456789abcdef"
	debugSuffix = "?func=vonage-assets.neru&async=false"
)

// sdkKey is one 2048-bit key for every test instance (generating one per
// test is slow under -race).
var sdkKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func newAssetsEnv(t *testing.T, configure func(*platform.GatewayConfig)) *assetsEnv {
	t.Helper()
	ns := testenv.NATSServer(t)
	_, keyspace := testenv.Redis(t)
	e := &assetsEnv{t: t, parent: t.TempDir(), keys: map[string]*rsa.PrivateKey{}, apps: map[string]string{}}
	e.dir = filepath.Join(e.parent, "assets")
	cfg := platform.Config{RedisURL: testenv.RedisURL(t), NATSURL: ns.ClientURL(), Keyspace: keyspace}
	cfg.Gateway.DevInstanceID = tenantA
	cfg.Gateway.DevAdminLoopback = true
	cfg.Gateway.Assets = platform.AssetsConfig{Dir: e.dir, LinkSecret: linkSecret, SweepInterval: -1}
	pubL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Gateway.Assets.PublicURL = "http://" + pubL.Addr().String()
	if configure != nil {
		configure(&cfg.Gateway)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ctx := context.Background()
	e.p, err = platform.Open(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.p.Close)
	e.addInstance(tenantA, "app-a", true)
	e.addInstance(tenantB, "app-b", false)
	e.g, err = e.p.Gateway()
	if err != nil {
		t.Fatal(err)
	}
	e.pub = httptest.NewUnstartedServer(e.g.Handler())
	e.pub.Listener.Close()
	e.pub.Listener = pubL
	e.pub.Start()
	t.Cleanup(e.pub.Close)
	e.cmd = httptest.NewServer(e.g.CommandHandler())
	t.Cleanup(e.cmd.Close)
	if cfg.Gateway.Assets.Dir != "" {
		if e.disk, err = assets.NewDisk(e.dir); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = e.disk.Close() })
	}
	if e.links, err = assets.NewLinker([]byte(linkSecret)); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *assetsEnv) addInstance(id, app string, dev bool) {
	e.t.Helper()
	key := sdkKey()
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		e.t.Fatal(err)
	}
	in := &instance.Instance{
		ID: id, BaseURL: "http://127.0.0.1:9", ApplicationID: app, AccountID: "acc123",
		PublicKey:       string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})),
		Unauthenticated: dev,
	}
	if err := e.p.Instances.Create(context.Background(), in); err != nil {
		e.t.Fatal(err)
	}
	e.keys[id], e.apps[id] = key, app
}

// jwt is the SDKs' platform token (protocol §2.2) for a tenant's app.
func (e *assetsEnv) jwt(tenant string) string {
	e.t.Helper()
	now := time.Now().Unix()
	claims, _ := json.Marshal(map[string]any{
		"aud": "provider", "iss": "project-instance", "api_application_id": e.apps[tenant],
		"api_account_id": "acc123", "exp": now + 300, "sub": "neru-acc123-myproject-dev", "iat": now,
	})
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc.EncodeToString(claims)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, e.keys[tenant], crypto.SHA256, sum[:])
	if err != nil {
		e.t.Fatal(err)
	}
	return signing + "." + enc.EncodeToString(sig)
}

// reply is an HTTP answer.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// send performs req, as tenant (tenantA sends no token, other tenants a JWT;
// "" leaves the request as it is).
func (e *assetsEnv) send(tenant string, req *http.Request) reply {
	e.t.Helper()
	if tenant != "" && tenant != tenantA {
		req.Header.Set("Authorization", "Bearer "+e.jwt(tenant))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return reply{resp.StatusCode, resp.Header, body}
}

func (e *assetsEnv) newRequest(method, target, ctype string, body io.Reader) *http.Request {
	e.t.Helper()
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Accept", "application/json, text/plain, */*")
	req.Header.Set("X-Neru-SessionId", "66726a67-bd25-441c-bd1e-cfdd4c9dc927")
	return req
}

// call posts a JSON action the way the SDKs do in DEBUG mode.
func (e *assetsEnv) call(tenant, action string, payload any) reply {
	e.t.Helper()
	raw, err := json.Marshal(payload)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.send(tenant, e.newRequest(http.MethodPost, e.cmd.URL+"/"+action+debugSuffix, "application/json", bytes.NewReader(raw)))
}

// binary is getRemoteFile's request; key is sent encoded, as the SDK does.
func (e *assetsEnv) binary(tenant, rawQueryKey string) reply {
	e.t.Helper()
	return e.send(tenant, e.newRequest(http.MethodGet, e.cmd.URL+"/binary"+debugSuffix+"&key="+rawQueryKey, "application/json", nil))
}

// part is one file of an upload.
type part struct {
	filename, ctype, content string
}

// formData writes a body the way the form-data package (the SDKs') does.
func formData(boundary string, parts []part) []byte {
	var b bytes.Buffer
	for i, p := range parts {
		fmt.Fprintf(&b, "--%s\r\nContent-Disposition: form-data; name=\"file[%d]\"", boundary, i)
		if p.filename != "" {
			fmt.Fprintf(&b, "; filename=\"%s\"", p.filename)
		}
		b.WriteString("\r\n")
		if p.ctype != "" {
			fmt.Fprintf(&b, "Content-Type: %s\r\n", p.ctype)
		}
		b.WriteString("\r\n" + p.content + "\r\n")
	}
	fmt.Fprintf(&b, "--%s--\r\n", boundary)
	return b.Bytes()
}

const boundary = "--------------------------5a75c919b8cbe976cfc42b95"

// upload is uploadData/uploadFiles: query is "dst=<dir>&" or
// "dst=<dir>&retention=<period>", as the SDK builds it.
func (e *assetsEnv) upload(tenant, query string, parts ...part) reply {
	e.t.Helper()
	req := e.newRequest(http.MethodPost, e.cmd.URL+"/copy"+debugSuffix+"&"+query,
		"multipart/form-data; boundary="+boundary, bytes.NewReader(formData(boundary, parts)))
	return e.send(tenant, req)
}

// get fetches a URL with no SDK headers at all (a link's recipient).
func (e *assetsEnv) get(method, url string, hdr ...string) reply {
	e.t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return e.send("", req)
}

// seed stores a file directly.
func (e *assetsEnv) seed(tenant, name, content string) {
	e.t.Helper()
	if _, err := e.disk.Put(context.Background(), tenant, name, strings.NewReader(content), assets.PutOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

// wantOK checks a reply is 200 with the JSON string "OK".
func wantOK(t *testing.T, what string, r reply) {
	t.Helper()
	if r.status != http.StatusOK || strings.TrimSpace(string(r.body)) != `"OK"` {
		t.Fatalf("%s: %d %s, want 200 \"OK\"", what, r.status, r.body)
	}
}

// wantError checks a reply is a JSON error {code, message} with status.
func wantError(t *testing.T, what string, r reply, status int, code string) {
	t.Helper()
	var e struct{ Code, Message string }
	if r.status != status || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") ||
		json.Unmarshal(r.body, &e) != nil || e.Message == "" || (code != "" && e.Code != code) {
		t.Fatalf("%s: %d %s %s, want %d JSON {code:%q, message}", what, r.status, r.header.Get("Content-Type"), r.body, status, code)
	}
}

// listing decodes a list reply.
type listing struct {
	Res []struct {
		Name         string `json:"name"`
		LastModified string `json:"lastModified"`
		Size         int64  `json:"size"`
		Type         string `json:"type"`
	} `json:"res"`
}

func (e *assetsEnv) list(tenant, prefix string, recursive bool) string {
	e.t.Helper()
	r := e.call(tenant, "list", map[string]any{"prefix": prefix, "limit": 1000, "recursive": recursive})
	var l listing
	if r.status != http.StatusOK || json.Unmarshal(r.body, &l) != nil || l.Res == nil {
		e.t.Fatalf("list %q: %d %s", prefix, r.status, r.body)
	}
	var names []string
	for _, a := range l.Res {
		n := a.Name
		if a.Type == "directory" {
			n += "/"
		}
		names = append(names, n)
	}
	return strings.Join(names, " ")
}
