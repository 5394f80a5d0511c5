package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// A Vonage application left at its default answer method calls the answer
// URL with GET and query parameters: the app gets the same call as from a
// POST (fields as JSON, numbers as strings) and its NCCO answers the call;
// a GET speech event is answered by the app the same way.
func TestGetAnswerWebhookGetsTheAppsNCCO(t *testing.T) {
	h := start(t)
	ctx := context.Background()
	if _, err := h.sdk.NewSession().OnCall(ctx, "onCall"); err != nil {
		t.Fatal(err)
	}
	var call struct {
		UUID, From, To string
		CustomData     map[string]string `json:"custom_data"`
	}
	h.app.handle("/onCall", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewDecoder(r.Body).Decode(&call)
		if _, err := h.sdk.NewSession().OnCallEvent(r.Context(), "/onEvent", call.UUID); err != nil {
			t.Error(err)
		}
		_, _ = w.Write([]byte(`[{"action":"talk","text":"answered a GET"}]`))
	})
	h.app.handle("/onEvent", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`[{"action":"talk","text":"heard you"}]`))
	})
	get := func(path string, q url.Values) (int, string) {
		resp, err := http.Get(h.gateway.URL + "/webhooks/" + appID + path + "?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status, ncco := get("/voice/answer", url.Values{
		"to": {ourNumber}, "from": {caller}, "uuid": {"CALL-GET"}, "conversation_uuid": {"CON-GET"},
		"endpoint_type": {"phone"}, "custom_data": {`{"crm":"42"}`},
	})
	if status != 200 || !strings.Contains(ncco, "answered a GET") {
		t.Fatalf("GET answer: %d %s, want the app's NCCO", status, ncco)
	}
	if call.UUID != "CALL-GET" || call.From != caller || call.To != ourNumber || call.CustomData["crm"] != "42" {
		t.Fatalf("the app got %+v", call)
	}
	status, ncco = get("/voice/event", url.Values{
		"uuid": {"CALL-GET"}, "conversation_uuid": {"CON-GET"},
		"speech": {`{"results":[{"text":"hello","confidence":"0.9"}]}`},
	})
	if status != 200 || !strings.Contains(ncco, "heard you") {
		t.Fatalf("GET speech event: %d %s, want the app's NCCO", status, ncco)
	}
	// Webhooks Vonage only POSTs stay POST-only.
	if status, _ := get("/messages/inbound", url.Values{"text": {"x"}}); status != http.StatusMethodNotAllowed {
		t.Fatalf("GET messages/inbound: %d, want 405", status)
	}
}
