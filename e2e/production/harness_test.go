package production_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/neru-dev/neru/internal/proctest"
	"github.com/neru-dev/neru/sdk"
)

const (
	adminToken = "production-test-admin-token"
	instanceID = "shop"
	appID      = "shop-app"
	ourNumber  = "447700900000"
)

// platform is one gateway and one worker on their own Redis and NATS.
type platform struct {
	gateway, worker *proctest.Proc
	URL, CommandURL string
}

// servers starts a redis-server and a NATS node and returns the
// environment that points the binaries at them.
func servers(t *testing.T) []string {
	r := proctest.StartRedis(t, proctest.RedisOptions{})
	n := proctest.StartNATS(t)
	return []string{"NERU_REDIS_URL=" + r.URL, "NERU_NATS_URL=" + n.ClientURL, "NERU_LOG_LEVEL=info"}
}

// startPlatform runs cmd/gateway and cmd/worker with env and waits until
// both are ready.
func startPlatform(t *testing.T, env []string) *platform {
	t.Helper()
	addr, cmd := proctest.Addr(proctest.FreePort(t)), proctest.Addr(proctest.FreePort(t))
	p := &platform{URL: "http://" + addr, CommandURL: "http://" + cmd}
	p.gateway = proctest.Start(t, "gateway", proctest.Binary(t, "github.com/neru-dev/neru/cmd/gateway"),
		append(env, "NERU_GATEWAY_ADDR="+addr, "NERU_COMMAND_ADDR="+cmd))
	p.worker = proctest.Start(t, "worker", proctest.Binary(t, "github.com/neru-dev/neru/cmd/worker"),
		append(env, "NERU_WORKER_ID=worker-1"))
	proctest.WaitHTTP(t, p.gateway, p.URL+"/readyz", 60*time.Second)
	proctest.WaitLog(t, p.worker, `"worker running"`, 60*time.Second)
	return p
}

// appKey is the instance's Vonage application key pair, the private half
// written where NERU_VONAGE_KEYS_DIR points.
type appKey struct {
	*proctest.AppKey
	dir string
}

func newAppKey(t *testing.T) *appKey {
	t.Helper()
	a := &appKey{AppKey: proctest.NewAppKey(t), dir: t.TempDir()}
	if err := os.WriteFile(filepath.Join(a.dir, instanceID+".pem"), []byte(a.PrivatePEM), 0o600); err != nil {
		t.Fatal(err)
	}
	return a
}

// admin calls the admin API with the token and decodes the answer into out.
func (p *platform) admin(t *testing.T, method, path string, body, out any) int {
	t.Helper()
	code, raw := proctest.Admin(t, p.URL, adminToken, method, path, body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %d %s: %v", method, path, code, raw, err)
		}
	}
	return code
}

// createInstance creates the instance through the admin API and returns
// its delivery signing secret and a Go SDK client signed with its key.
func (p *platform) createInstance(t *testing.T, baseURL string, key *appKey, signatureSecrets []string) (string, *sdk.Client) {
	t.Helper()
	in := map[string]any{"id": instanceID, "baseUrl": baseURL, "applicationId": appID, "publicKey": key.PublicPEM}
	if signatureSecrets != nil {
		in["signatureSecrets"] = signatureSecrets
	}
	var created map[string]any
	if code := p.admin(t, http.MethodPost, "/instances", in, &created); code != http.StatusCreated {
		t.Fatalf("create instance: %d %v", code, created)
	}
	secret, _ := created["deliverySigningSecret"].(string)
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("create instance: no delivery signing secret in %v", created)
	}
	return secret, sdk.New(sdk.Config{Endpoint: p.CommandURL, InstanceID: instanceID, ApplicationID: appID, PrivateKey: key.PrivatePEM})
}

// webhook posts an inbound SMS as Vonage does, with authorization as the
// Authorization header ("" for none).
func (p *platform) webhook(t *testing.T, body []byte, authorization string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, p.URL+"/webhooks/"+appID+"/messages/inbound", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

func inboundSMS(from, text string) []byte {
	b, _ := json.Marshal(map[string]any{
		"channel": "sms", "message_uuid": "msg-" + text, "to": ourNumber, "from": from,
		"timestamp": time.Now().UTC().Format(time.RFC3339), "message_type": "text", "text": text,
		"sms": map[string]string{"num_messages": "1"},
	})
	return b
}

// received is one request the app got, as it arrived.
type received struct {
	method, path string
	header       http.Header
	body         []byte
}

// request rebuilds it, with body instead of the original if given (what a
// proxy that rewrote the body would hand the app).
func (r received) request(body []byte) *http.Request {
	if body == nil {
		body = r.body
	}
	req := httptest.NewRequest(r.method, r.path, bytes.NewReader(body))
	req.Header = r.header.Clone()
	return req
}

// answerNCCO is what the app answers a call with.
const answerNCCO = `[{"action":"talk","text":"answered by the app"}]`

// app is the instance's app on loopback: it records every request and
// answers 200, with answerNCCO on /onCall.
type app struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []received
}

func newApp(t *testing.T) *app {
	a := &app{}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		a.mu.Lock()
		a.got = append(a.got, received{method: r.Method, path: r.URL.RequestURI(), header: r.Header.Clone(), body: body})
		a.mu.Unlock()
		if r.URL.Path == "/onCall" {
			_, _ = w.Write([]byte(answerNCCO))
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *app) requests() []received {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]received(nil), a.got...)
}
