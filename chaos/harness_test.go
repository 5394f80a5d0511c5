package chaos_test

import (
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/neru-dev/neru/delivery"
	"github.com/neru-dev/neru/internal/proctest"
	"github.com/neru-dev/neru/sdk"
)

const (
	adminToken = "chaos-test-admin-token"
	appID      = "chaos-app"
	instanceID = "shop"
	ourNumber  = "447700900000"
)

// rig is one platform under test: redis-server (AOF, fsync always) and a
// JetStream node as child processes, and `neru dev` on them as a third.
type rig struct {
	redis *proctest.Redis
	nats  *proctest.NATSNode
	plat  *proctest.Proc
	// URL serves webhooks and the admin API; CommandURL the SDK.
	URL, CommandURL string
}

func startRig(t *testing.T, appURL string) *rig {
	t.Helper()
	r := &rig{redis: proctest.StartRedis(t, proctest.RedisOptions{AOF: true}), nats: proctest.StartNATS(t)}
	addr, cmd := proctest.Addr(proctest.FreePort(t)), proctest.Addr(proctest.FreePort(t))
	r.URL, r.CommandURL = "http://"+addr, "http://"+cmd
	r.plat = proctest.Start(t, "neru-dev", proctest.Binary(t, "github.com/neru-dev/neru/cmd/neru"),
		[]string{"NERU_ADMIN_TOKEN=" + adminToken, "NERU_LOG_LEVEL=info"},
		"dev", "--redis-url", r.redis.URL, "--nats-url", r.nats.ClientURL, "--addr", addr, "--command-addr", cmd,
		"--data-dir", t.TempDir(), "--app-url", appURL, "--fake-vonage-addr", proctest.Addr(proctest.FreePort(t)))
	r.waitReady(t)
	return r
}

func (r *rig) waitReady(t *testing.T) {
	t.Helper()
	proctest.WaitHTTP(t, r.plat, r.URL+"/readyz", 90*time.Second)
}

// admin calls the admin API and decodes a 2xx answer into out.
func (r *rig) admin(t *testing.T, method, path string, body, out any) {
	t.Helper()
	code, raw := proctest.Admin(t, r.URL, adminToken, method, path, body)
	if code/100 != 2 {
		t.Fatalf("admin %s %s: %d %s", method, path, code, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("admin %s %s: %v in %s", method, path, err, raw)
		}
	}
}

// createInstance registers the app through the admin API and returns an SDK
// client signed with its key.
func (r *rig) createInstance(t *testing.T, baseURL string) *sdk.Client {
	t.Helper()
	key := proctest.NewAppKey(t)
	r.admin(t, http.MethodPost, "/instances", map[string]any{
		"id": instanceID, "baseUrl": baseURL, "applicationId": appID, "publicKey": key.PublicPEM,
	}, nil)
	return sdk.New(sdk.Config{Endpoint: r.CommandURL, InstanceID: instanceID, ApplicationID: appID, PrivateKey: key.PrivatePEM})
}

// deadLetters is how many of the instance's deliveries are in the DLQ.
func (r *rig) deadLetters(t *testing.T) int {
	t.Helper()
	var page struct {
		Deliveries []json.RawMessage `json:"deliveries"`
	}
	r.admin(t, http.MethodGet, "/instances/"+instanceID+"/dlq?limit=1000", nil, &page)
	return len(page.Deliveries)
}

// newProvider posts to the platform's inbound-SMS webhook.
func newProvider(r *rig) *proctest.Provider {
	return proctest.NewProvider(r.URL + "/webhooks/" + appID + "/messages/inbound")
}

// inboundSMS is seq of a session's SMS, from its sender to our number.
func inboundSMS(from string, seq int, msgID string) []byte {
	return proctest.InboundSMS(ourNumber, from, seq, msgID)
}

// request is one delivery the app received, as it recorded it.
type request struct {
	Session, Event, Delivery string
	Seq, Attempt             int
	Status                   int
}

// app is the instance's app on a fixed loopback address, so that it can go
// down (its listener closed: connection refused, as during a deploy) and
// come back where the platform looks for it. It records every request and
// checks each session's order by the first 2xx of each event: a session's
// webhooks carry the text "<seq>" and are posted in seq order, each only
// after the previous one was acknowledged.
type app struct {
	addr     string
	failRate float64 // share of requests answered 500 at random

	srvMu sync.Mutex
	srv   *http.Server
	ups   int // how many times up was called

	mu         sync.Mutex
	log        []request
	next       map[string]int    // session → the next seq its first 2xx must be
	ok         map[string]bool   // event answered 2xx at least once
	deliveryOf map[string]string // event → its delivery id
	duplicates int
	violations []string
	mismatches []string // an event under two delivery ids, an attempt header that is not a number ≥ 1
	// upAt is when the app last came back; firstOKAfterUp how long after
	// that it answered its first 2xx (set once per return).
	upAt           time.Time
	firstOKAfterUp time.Duration
	awaitingOK     bool
	delivered      atomic.Int64 // distinct events answered 2xx
}

func newApp(t *testing.T, failRate float64) *app {
	t.Helper()
	a := &app{addr: proctest.Addr(proctest.FreePort(t)), failRate: failRate,
		next: map[string]int{}, ok: map[string]bool{}, deliveryOf: map[string]string{}}
	if err := a.up(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.down)
	return a
}

func (a *app) URL() string { return "http://" + a.addr }

// up listens again on the app's address.
func (a *app) up() error {
	ln, err := net.Listen("tcp", a.addr)
	if err != nil {
		return fmt.Errorf("app: listen %s: %w", a.addr, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(a.serve), ReadHeaderTimeout: 5 * time.Second}
	a.srvMu.Lock()
	a.srv = srv
	a.ups++
	returning := a.ups > 1
	a.srvMu.Unlock()
	if returning {
		a.mu.Lock()
		a.upAt, a.awaitingOK = time.Now(), true
		a.mu.Unlock()
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			panic(err)
		}
	}()
	return nil
}

// down closes the listener and every connection: requests in flight fail.
func (a *app) down() {
	a.srvMu.Lock()
	defer a.srvMu.Unlock()
	if a.srv != nil {
		_ = a.srv.Close()
		a.srv = nil
	}
}

func (a *app) serve(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Text        string `json:"text"`
		MessageUUID string `json:"message_uuid"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	rq := request{Session: r.Header.Get(delivery.HeaderSession), Event: body.MessageUUID,
		Delivery: r.Header.Get(delivery.HeaderDelivery), Status: http.StatusOK}
	var err1, err2 error
	rq.Seq, err1 = strconv.Atoi(body.Text)
	rq.Attempt, err2 = strconv.Atoi(r.Header.Get(delivery.HeaderAttempt))
	if err1 != nil || rq.Session == "" || rq.Event == "" {
		http.Error(w, "no seq, session or message_uuid", http.StatusBadRequest)
		return
	}
	if a.failRate > 0 && mrand.Float64() < a.failRate {
		rq.Status = http.StatusInternalServerError
	}
	a.mu.Lock()
	a.log = append(a.log, rq)
	if err2 != nil || rq.Attempt < 1 {
		a.mismatches = append(a.mismatches, fmt.Sprintf("event %s: x-neru-attempt %q", rq.Event, r.Header.Get(delivery.HeaderAttempt)))
	}
	if id, ok := a.deliveryOf[rq.Event]; ok && id != rq.Delivery {
		a.mismatches = append(a.mismatches, fmt.Sprintf("event %s: delivery ids %s and %s", rq.Event, id, rq.Delivery))
	}
	a.deliveryOf[rq.Event] = rq.Delivery
	if rq.Status == http.StatusOK {
		if a.awaitingOK {
			a.firstOKAfterUp, a.awaitingOK = time.Since(a.upAt), false
		}
		switch {
		case a.ok[rq.Event]:
			a.duplicates++
		case rq.Seq != a.next[rq.Session]:
			a.violations = append(a.violations, fmt.Sprintf("session %s: first 2xx of %d, expected %d", rq.Session, rq.Seq, a.next[rq.Session]))
			a.ok[rq.Event] = true
			a.delivered.Add(1)
		default:
			a.ok[rq.Event] = true
			a.next[rq.Session] = rq.Seq + 1
			a.delivered.Add(1)
		}
	}
	a.mu.Unlock()
	w.WriteHeader(rq.Status)
}

// stats summarises the requests: how many, how many failed on purpose, the
// highest attempt number seen.
func (a *app) stats() (requests, failed, maxAttempt int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, rq := range a.log {
		if rq.Status != http.StatusOK {
			failed++
		}
		maxAttempt = max(maxAttempt, rq.Attempt)
	}
	return len(a.log), failed, maxAttempt
}
