package e2e

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/neru-dev/neru/examples/seed/seedapp"
	"github.com/neru-dev/neru/internal/testenv"
)

// The seed example app (examples/seed), on the Go SDK, runs the whole
// scenario against the platform: call, speech, then the caller's SMS gets
// the transcript back by SMS, sent through vonage-api to the (fake) Vonage
// Messages API.
func TestSeedExampleSendsTheTranscript(t *testing.T) {
	opt, fake := withFakeVonage(t, map[string]string{"e2e": appID})
	h := start(t, opt)
	h.startWorker()
	seed := seedapp.New(h.sdk, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, route := range []string{"/onCall", "/onEvent", "/onMessage"} {
		h.app.handle(route, seed.ServeHTTP)
	}
	if err := seed.Start(context.Background()); err != nil {
		t.Fatal(err)
	}

	status, ncco := h.webhook("/voice/answer", answerWebhook("CALL-SEED", caller, ourNumber))
	if status != 200 || !strings.Contains(string(ncco), `"input"`) {
		t.Fatalf("answer: %d %s, want the app's NCCO asking for speech", status, ncco)
	}
	status, ncco = h.webhook("/voice/event", speechEvent("CALL-SEED", "please call me back"))
	if status != 200 || !strings.Contains(string(ncco), "Thanks") {
		t.Fatalf("speech: %d %s", status, ncco)
	}
	h.webhook("/voice/event", statusEvent("CALL-SEED", "completed"))
	if status, body := h.webhook("/messages/inbound", inboundSMS("+"+caller, ourNumber, "transcript please")); status != 200 || !strings.Contains(string(body), `"deliveries":1`) {
		t.Fatalf("sms: %d %s", status, body)
	}
	testenv.Eventually(t, 30*time.Second, func() bool { return len(fake.Messages()) == 1 }, "the transcript SMS never reached Vonage")
	sent := fake.Messages()[0]
	var msg map[string]string
	if err := json.Unmarshal(sent.Body, &msg); err != nil {
		t.Fatalf("sent body %s: %v", sent.Body, err)
	}
	want := map[string]string{"message_type": "text", "channel": "sms", "from": ourNumber, "to": "+" + caller, "text": "You said: please call me back"}
	if sent.Path != "/v1/messages" || sent.Host != "api.nexmo.com" || sent.ApplicationID != appID || sent.Status != 202 || !maps.Equal(msg, want) {
		t.Fatalf("sent %+v: %s", sent, sent.Body)
	}
	// The harness records a request once the handler returned, after the send.
	testenv.Eventually(t, 20*time.Second, func() bool { return len(h.app.requests("/onMessage")) == 1 }, "/onMessage never completed")
	if n := len(fake.Messages()); n != 1 {
		t.Fatalf("%d messages sent, want one", n)
	}
}
