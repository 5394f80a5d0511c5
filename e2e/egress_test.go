package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/neru-dev/neru/internal/testenv"
	"github.com/neru-dev/neru/platform"
	"github.com/neru-dev/neru/sdk"
)

// Without NERU_APP_NETWORKS listing loopback, a delivery to an app on
// loopback is refused at dial time and goes to the DLQ at once (a retry
// cannot pass the egress rule), with the setting named in its reason.
func TestDeliveryOutsideAppNetworksIsDeadWithTheSettingNamed(t *testing.T) {
	h := start(t, func(c *platform.Config) { c.AppNetworks = nil; c.Worker.MaxAttempts = 5 })
	s := h.sdk.NewSession()
	if _, err := s.OnMessage(context.Background(), "/onMessage", sdk.Contact{Type: "sms", Number: "447700908100"}, sdk.Contact{Type: "sms"}); err != nil {
		t.Fatal(err)
	}
	h.startWorker()
	if code, body := h.webhook("/messages/inbound", inboundSMS("447700908100", ourNumber, "refused")); code != 200 {
		t.Fatalf("webhook: %d %s", code, body)
	}
	testenv.Eventually(t, 30*time.Second, func() bool { return len(h.dead("")) == 1 }, "1 dead delivery")
	d := h.dead("")[0]
	if d.Attempts != 1 || !strings.Contains(d.Reason, "NERU_APP_NETWORKS") || !strings.Contains(d.Reason, "127.0.0.1") {
		t.Fatalf("dead delivery: %+v", d)
	}
	if n := h.app.total(); n != 0 {
		t.Fatalf("the app got %d requests through the egress rule", n)
	}
}
