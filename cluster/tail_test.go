package cluster_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/neru-dev/neru/internal/proctest"
	"github.com/neru-dev/neru/internal/testenv"
	"github.com/neru-dev/neru/sdk"
)

// neru tail, a process of its own, shows what a gateway process and a
// worker process publish: the webhook the gateway matched, then the
// worker's failed attempt and its delivered retry.
func TestTailAcrossProcesses(t *testing.T) {
	r := proctest.StartRedis(t, proctest.RedisOptions{})
	n := proctest.StartNATS(t)
	env := []string{"NERU_REDIS_URL=" + r.URL, "NERU_NATS_URL=" + n.ClientURL, "NERU_ADMIN_TOKEN=" + adminToken,
		"NERU_APP_NETWORKS=127.0.0.0/8", "NERU_BACKOFF_BASE=20ms", "NERU_BACKOFF_MAX=100ms"}
	g := startGateway(t, "gateway", env)
	w := startWorker(t, "worker", env)
	proctest.WaitHTTP(t, g.Proc, g.URL+"/readyz", 60*time.Second)
	proctest.WaitLog(t, w, `"worker running"`, 60*time.Second)

	var calls atomic.Int32
	app := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) == 1 {
			rw.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(app.Close)
	c := createInstance(t, g, app.URL)
	s := c.NewSession()
	if _, err := s.OnMessage(context.Background(), "/onMessage", sdk.Contact{Type: "sms", Number: proctest.Customer(0)}, sdk.Contact{Type: "sms", Number: ourNumber}); err != nil {
		t.Fatal(err)
	}

	tail := proctest.Start(t, "neru tail", proctest.Binary(t, "github.com/neru-dev/neru/cmd/neru"),
		[]string{"NERU_ADMIN_TOKEN=" + adminToken}, "tail", "--gateway", g.URL, "--instance", instanceID)
	proctest.WaitLog(t, tail, "neru tail: watching", 30*time.Second)
	if err := newProvider(g).Post(context.Background(), 0, "0/1", inboundSMS(proctest.Customer(0), 1, uuid.NewString())); err != nil {
		t.Fatal(err)
	}
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(`shop webhook messages\.inbound matched 1 listener: routed`),
		regexp.MustCompile(`shop attempt /onMessage session=` + regexp.QuoteMeta(s.ID) + ` 503 [0-9.]+ ms attempt 1: retried`),
		regexp.MustCompile(`shop attempt /onMessage session=` + regexp.QuoteMeta(s.ID) + ` 200 [0-9.]+ ms attempt 2: delivered`),
	} {
		testenv.Eventually(t, 30*time.Second, func() bool { return re.MatchString(tail.Logs()) }, "neru tail never showed %s:\n%s", re, tail.Logs())
	}
}
