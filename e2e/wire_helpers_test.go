package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/neru-dev/neru/cmd/neru/fakevonage"
	"github.com/neru-dev/neru/instance"
	sdkcaptures "github.com/neru-dev/neru/internal/captures"
	"github.com/neru-dev/neru/platform"
	"github.com/neru-dev/neru/sdk"
	"github.com/neru-dev/neru/state"
)

// captures are real SDK requests (see internal/captures).
var captures = sdkcaptures.FS

// sdkCapture is one captured SDK request.
type sdkCapture struct {
	SDKCall    string          `json:"sdkCall"`
	Method     string          `json:"method"`
	URL        string          `json:"url"`
	Provider   string          `json:"provider"`
	RawHeaders [][2]string     `json:"rawHeaders"`
	Body       json.RawMessage `json:"body"`
	JWT        *struct {
		Payload map[string]any `json:"payload"`
	} `json:"jwt"`
	Response struct {
		Status int    `json:"status"`
		Wire   string `json:"wire"`
	} `json:"captureServerResponse"`
	Outcome struct {
		Returned json.RawMessage `json:"returned"`
	} `json:"sdkCallOutcome"`
}

func loadCapture(t *testing.T, name string) *sdkCapture {
	t.Helper()
	raw, err := captures.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	c := new(sdkCapture)
	if err := json.Unmarshal(raw, c); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return c
}

// body is what the SDK sent: the JSON body, or nothing (null, multipart).
func (c *sdkCapture) body() []byte {
	if len(c.Body) == 0 || string(c.Body) == "null" || bytes.HasPrefix(c.Body, []byte(`{"multipart"`)) {
		return nil
	}
	return c.Body
}

// The capture run's environment (protocol §9.1), made an instance here.
const (
	capInstance = "instance-id-0001"
	capApp      = "vonage-app-0001"
	capAccount  = "acc123"
)

// Test keys: RSA generation is slow under -race, so each name gets one key
// per test binary.
var (
	keysMu sync.Mutex
	keys   = map[string]*rsa.PrivateKey{}
)

func testKey(t testing.TB, name string) *rsa.PrivateKey {
	t.Helper()
	keysMu.Lock()
	defer keysMu.Unlock()
	if k, ok := keys[name]; ok {
		return k
	}
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keys[name] = k
	return k
}

func publicPEM(t testing.TB, k *rsa.PrivateKey) string {
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func privatePEM(t testing.TB, k *rsa.PrivateKey) string {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// tenant is an instance that authenticates with RS256 JWTs, with an app of
// its own.
type tenant struct {
	inst *instance.Instance
	key  *rsa.PrivateKey
	app  *app
}

// addTenant creates a JWT instance; its key is testKey(id).
func (h *harness) addTenant(id, applicationID, accountID string) *tenant {
	h.t.Helper()
	tn := &tenant{key: testKey(h.t, id), app: newApp(h.t)}
	tn.inst = &instance.Instance{ID: id, BaseURL: tn.app.srv.URL, ApplicationID: applicationID, AccountID: accountID, PublicKey: publicPEM(h.t, tn.key)}
	if err := h.p.Instances.Create(context.Background(), tn.inst); err != nil {
		h.t.Fatal(err)
	}
	return tn
}

// claims are the JS SDKs' JWT claims for this tenant, fresh.
func (tn *tenant) claims() map[string]any {
	now := time.Now().Unix()
	return map[string]any{
		"aud": "provider", "iss": "project-instance", "api_application_id": tn.inst.ApplicationID,
		"api_account_id": tn.inst.AccountID, "exp": now + 300, "sub": "neru-" + tn.inst.ID, "iat": now,
	}
}

func (tn *tenant) token(t testing.TB) string {
	tok, err := sdk.SignRS256(tn.key, tn.claims())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// client is a Go SDK client of the tenant, signing with its key.
func (tn *tenant) client(h *harness) *sdk.Client {
	return sdk.New(sdk.Config{
		Endpoint: h.command.URL, InstanceID: tn.inst.ID, AccountID: tn.inst.AccountID,
		ApplicationID: tn.inst.ApplicationID, PrivateKey: privatePEM(h.t, tn.key),
	})
}

// reply is an SDK endpoint's answer.
type reply struct {
	Status int
	Body   []byte
}

func (r reply) errCode() string {
	var e struct{ Code string }
	_ = json.Unmarshal(r.Body, &e)
	return e.Code
}

// sdkPost posts a body to the command endpoint, debug-style addressed, with
// an optional bearer token and extra headers.
func (h *harness) sdkPost(provider, path, token string, body []byte, hdr ...string) reply {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.command.URL+path+"?func="+provider+".neru&async=false", bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return do(h.t, http.DefaultClient, req)
}

func do(t testing.TB, c *http.Client, req *http.Request) reply {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, b}
}

// stateStore reads and writes state directly, as the platform keys it.
func (h *harness) stateStore() *state.Store {
	return state.NewStore(h.p.Redis, h.p.Config.Keyspace, state.SessionTTLFunc(
		func(ctx context.Context, inst, sess string) (time.Time, bool, error) {
			s, err := h.p.Sessions.Ensure(ctx, inst, sess)
			if err != nil {
				return time.Time{}, false, err
			}
			return s.ExpiresAt, !s.ExpiresAt.IsZero(), nil
		}))
}

// stateGet returns the JSON reply of GET ns/key for a tenant.
func (h *harness) stateGet(t state.Tenant, ns, key string) string {
	h.t.Helper()
	out, err := h.stateStore().Exec(context.Background(), t, state.Command{Operation: "GET", Namespace: ns, Key: key})
	if err != nil {
		h.t.Fatal(err)
	}
	return string(out)
}

// tenantOf is the state tenant the platform uses for an instance.
func tenantOf(in *instance.Instance) state.Tenant {
	acct := in.AccountID
	if acct == "" {
		acct = "instance." + in.ID
	}
	return state.Tenant{AccountID: acct, InstanceID: in.ID}
}

// withFakeVonage points vonage-api at a fake Vonage API and gives the named
// instances their Vonage keys (testKey("vonage-"+id)), which the fake
// checks the JWTs against.
func withFakeVonage(t *testing.T, instances map[string]string) (func(*platform.Config), *fakevonage.Fake) {
	dir := t.TempDir()
	pubs := map[string]*rsa.PublicKey{}
	for id, app := range instances {
		k := testKey(t, "vonage-"+id)
		pubs[app] = &k.PublicKey
		if err := os.WriteFile(filepath.Join(dir, id+".pem"), []byte(privatePEM(t, k)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	fake := fakevonage.New(fakevonage.Options{PublicKey: func(app string) *rsa.PublicKey { return pubs[app] }})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	return func(c *platform.Config) {
		c.Gateway.VonageAPIURL = srv.URL
		c.Gateway.VonageKeysDir = dir
	}, fake
}

// replay sends a captured request to the command endpoint, addressed in one
// of the three ways the SDKs can reach a self-hosted platform (protocol
// §1.2): "debug" (?func=), "host" (Host: <provider>.neru) or "proxy"
// (absolute-form URI through HTTP_PROXY). A captured JWT is re-signed with
// tn's key, keeping its claims but not its times. With tn nil the request
// goes without a token.
func (h *harness) replay(c *sdkCapture, style string, tn *tenant) reply {
	h.t.Helper()
	u, err := url.Parse(c.URL)
	if err != nil {
		h.t.Fatal(err)
	}
	provider := c.Provider
	if provider == "" {
		provider, _, _ = strings.Cut(u.Host, ".")
	}
	// Path and query as the SDK builds them (§1.1), whichever mode the
	// capture was taken in; the query may end in "&".
	path, extra := u.EscapedPath(), u.RawQuery
	if u.Host == "" {
		extra = strings.TrimPrefix(strings.TrimPrefix(extra, "func="+provider+".neru&async=false"), "&")
	}
	client := http.DefaultClient
	var target string
	switch style {
	case "debug":
		target = h.command.URL + path + "?func=" + provider + ".neru&async=false"
		if extra != "" {
			target += "&" + extra
		}
	case "host", "proxy":
		target = "http://" + provider + ".neru" + path
		if extra != "" {
			target += "?" + extra
		}
		if style == "proxy" {
			proxy, _ := url.Parse(h.command.URL)
			client = &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxy)}}
		} else {
			target = h.command.URL + strings.TrimPrefix(target, "http://"+provider+".neru")
		}
	default:
		h.t.Fatalf("style %q", style)
	}
	req, err := http.NewRequest(c.Method, target, bytes.NewReader(c.body()))
	if err != nil {
		h.t.Fatal(err)
	}
	if style == "host" {
		req.Host = provider + ".neru"
	}
	for _, kv := range c.RawHeaders {
		switch strings.ToLower(kv[0]) {
		case "host", "content-length", "connection", "authorization", "accept-encoding":
		default:
			req.Header.Set(kv[0], kv[1])
		}
	}
	if tn != nil {
		claims := tn.claims()
		if c.JWT != nil {
			for k, v := range c.JWT.Payload {
				if k != "exp" && k != "iat" {
					claims[k] = v
				}
			}
		}
		tok, err := sdk.SignRS256(tn.key, claims)
		if err != nil {
			h.t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return do(h.t, client, req)
}
