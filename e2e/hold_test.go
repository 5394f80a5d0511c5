package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/neru-dev/neru/internal/testenv"
	"github.com/neru-dev/neru/sdk"
)

// onDead hold through the admin API: PATCH sets it (and refuses a value it
// does not know), the held session is listed, and discarding its dead head
// lets the later events through, in order; GET circuit answers for an app
// that answers.
func TestHoldAndDiscardThroughTheAdminAPI(t *testing.T) {
	h := start(t)
	ctx := context.Background()
	if code := h.sessAdmin(http.MethodPatch, "/instances/e2e", map[string]any{"onDead": "sometimes"}, nil); code != http.StatusBadRequest {
		t.Fatalf("PATCH onDead=sometimes: %d, want 400", code)
	}
	var in struct{ OnDead string }
	if code := h.sessAdmin(http.MethodPatch, "/instances/e2e", map[string]any{"onDead": "hold"}, &in); code != 200 || in.OnDead != "hold" {
		t.Fatalf("PATCH onDead=hold: %d %+v", code, in)
	}
	s := h.sdk.NewSession()
	if _, err := s.OnMessage(ctx, "/onMessage", sdk.Contact{Type: "sms", Number: "447700908100"}, sdk.Contact{Type: "sms"}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var texts []string
	h.app.handle("/onMessage", func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Text string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		if body.Text == "m0" {
			w.WriteHeader(http.StatusBadRequest) // dead at once
			return
		}
		mu.Lock()
		texts = append(texts, body.Text)
		mu.Unlock()
	})
	h.startWorker()
	for n := range 3 {
		h.webhook("/messages/inbound", inboundSMS("447700908100", ourNumber, fmt.Sprint("m", n)))
	}
	type heldView struct {
		Sessions []struct {
			Session string
			DLQSeq  uint64
		}
	}
	var held heldView
	testenv.Eventually(t, 30*time.Second, func() bool {
		return h.sessAdmin(http.MethodGet, "/instances/e2e/held", nil, &held) == 200 && len(held.Sessions) == 1
	}, "the session is not listed as held")
	if held.Sessions[0].Session != s.ID {
		t.Fatalf("held %+v, want session %s", held, s.ID)
	}
	mu.Lock()
	if len(texts) != 0 {
		t.Fatalf("a held session delivered %v", texts)
	}
	mu.Unlock()
	var res struct {
		Released bool
	}
	if code := h.sessAdmin(http.MethodPost, fmt.Sprintf("/instances/e2e/dlq/%d/discard", held.Sessions[0].DLQSeq), nil, &res); code != 200 || !res.Released {
		t.Fatalf("discard: %d %+v", code, res)
	}
	testenv.Eventually(t, 30*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(texts) == 2
	}, "the session did not flow after the discard")
	mu.Lock()
	if !slices.Equal(texts, []string{"m1", "m2"}) {
		t.Fatalf("after the discard: %v, want m1,m2", texts)
	}
	mu.Unlock()
	if code := h.sessAdmin(http.MethodGet, "/instances/e2e/held", nil, &held); code != 200 || len(held.Sessions) != 0 {
		t.Fatalf("held after discard: %d %+v", code, held)
	}
	var circuit struct{ Open bool }
	if code := h.sessAdmin(http.MethodGet, "/instances/e2e/circuit", nil, &circuit); code != 200 || circuit.Open {
		t.Fatalf("circuit of an answering app: %d %+v", code, circuit)
	}
	if code := h.sessAdmin(http.MethodGet, "/instances/nope/held", nil, nil); code != http.StatusNotFound {
		t.Fatalf("held of an unknown instance: %d, want 404", code)
	}
}
