package cluster_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/neru-dev/neru/internal/proctest"
	"github.com/neru-dev/neru/sdk"
)

const (
	adminToken = "cluster-test-admin-token"
	appID      = "cluster-app"
	instanceID = "shop"
	ourNumber  = "447700900000"
)

// servers are the clustered NATS and Redis a platform runs on.
type servers struct {
	nats  []*proctest.NATSNode
	redis *proctest.RedisCluster
}

// env is the environment of every gateway and worker: the servers, R3
// streams, the app on loopback, retries quick enough for a test.
func (s servers) env(extra ...string) []string {
	return append([]string{
		"NERU_REDIS_URL=" + s.redis.URL,
		"NERU_NATS_URL=" + proctest.URLs(s.nats),
		"NERU_STREAM_REPLICAS=" + strconv.Itoa(len(s.nats)),
		"NERU_PARTITIONS=16",
		"NERU_ADMIN_TOKEN=" + adminToken,
		"NERU_APP_NETWORKS=127.0.0.0/8",
		"NERU_BACKOFF_BASE=50ms",
		"NERU_BACKOFF_MAX=1s",
		"NERU_LOG_LEVEL=info",
	}, extra...)
}

// gateway is one cmd/gateway process.
type gateway struct {
	*proctest.Proc
	URL, CommandURL string
}

func startGateway(t *testing.T, name string, env []string) *gateway {
	t.Helper()
	addr, cmd := proctest.Addr(proctest.FreePort(t)), proctest.Addr(proctest.FreePort(t))
	g := &gateway{URL: "http://" + addr, CommandURL: "http://" + cmd}
	g.Proc = proctest.Start(t, name, proctest.Binary(t, "github.com/neru-dev/neru/cmd/gateway"),
		append(env, "NERU_GATEWAY_ADDR="+addr, "NERU_COMMAND_ADDR="+cmd, "NERU_OPS_ADDR="+proctest.Addr(proctest.FreePort(t))))
	return g
}

func startWorker(t *testing.T, name string, env []string) *proctest.Proc {
	t.Helper()
	return proctest.Start(t, name, proctest.Binary(t, "github.com/neru-dev/neru/cmd/worker"),
		append(env, "NERU_WORKER_ID="+name, "NERU_OPS_ADDR="+proctest.Addr(proctest.FreePort(t))))
}

// app is the instance's app on loopback: it answers every delivery 200 and
// checks each session's order. A session's webhooks carry the text "<seq>",
// posted in seq order, each only after the previous one was acknowledged,
// so the platform must deliver them in that order.
type app struct {
	srv *httptest.Server

	mu         sync.Mutex
	next       map[string]int  // session → the next seq it must see
	seen       map[string]bool // "session/seq" delivered at least once
	duplicates int
	violations []string
	delivered  atomic.Int64 // distinct (session, seq) delivered
}

func newApp(t *testing.T) *app {
	a := &app{next: map[string]int{}, seen: map[string]bool{}}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *app) serve(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Text string `json:"text"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	session := r.Header.Get(sdk.SessionHeader)
	seq, err := strconv.Atoi(body.Text)
	if err != nil || session == "" {
		http.Error(w, "no seq or session", http.StatusBadRequest)
		return
	}
	a.mu.Lock()
	key := session + "/" + body.Text
	switch {
	case a.seen[key]:
		a.duplicates++
	case seq != a.next[session]:
		a.violations = append(a.violations, fmt.Sprintf("session %s: got %d, expected %d", session, seq, a.next[session]))
		a.seen[key] = true
		a.delivered.Add(1)
	default:
		a.seen[key] = true
		a.next[session] = seq + 1
		a.delivered.Add(1)
	}
	a.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// createInstance registers the app through the admin API and returns an SDK
// client signed with its key, on the given command endpoint.
func createInstance(t *testing.T, g *gateway, baseURL string) *sdk.Client {
	t.Helper()
	key := proctest.NewAppKey(t)
	code, out := proctest.Admin(t, g.URL, adminToken, http.MethodPost, "/instances", map[string]any{
		"id": instanceID, "baseUrl": baseURL, "applicationId": appID, "publicKey": key.PublicPEM,
	})
	if code != http.StatusCreated && code != http.StatusOK {
		t.Fatalf("create instance: %d %s", code, out)
	}
	return sdk.New(sdk.Config{Endpoint: g.CommandURL, InstanceID: instanceID, ApplicationID: appID, PrivateKey: key.PrivatePEM})
}

// provider posts to every gateway's inbound-SMS webhook and keeps what
// each try got, to explain a webhook that went missing.
type provider struct {
	*proctest.Provider
	answers answers // by "<session index>/<seq>"
}

func newProvider(gateways ...*gateway) *provider {
	var urls []string
	for _, g := range gateways {
		urls = append(urls, g.URL+"/webhooks/"+appID+"/messages/inbound")
	}
	p := &provider{Provider: proctest.NewProvider(urls...)}
	p.Answer = p.answers.add
	return p
}

// inboundSMS is seq of a session's SMS, from its sender to our number.
func inboundSMS(from string, seq int, msgID string) []byte {
	return proctest.InboundSMS(ourNumber, from, seq, msgID)
}
