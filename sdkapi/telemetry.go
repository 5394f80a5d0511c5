package sdkapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"

	"github.com/neru-dev/neru/internal/httpx"
	"github.com/neru-dev/neru/session"
)

// telemetryAdapters are events-submission and logs-submission. Their
// failures are logged, never returned (see adapter.telemetry).
func (a *API) telemetryAdapters() []adapter {
	return []adapter{
		{name: "events-submission", telemetry: a.submitEvent},
		{name: "logs-submission", telemetry: a.submitLog},
	}
}

// submitEvent applies session_created (creating the session with its TTL).
func (a *API) submitEvent(r *http.Request) {
	inst, err := a.authenticate(r)
	if err != nil {
		a.log.Warn("events-submission: unauthenticated event ignored")
		return
	}
	body, err := httpx.ReadBody(r, a.cfg.MaxBody)
	if err != nil {
		return
	}
	var ev struct {
		EventType string    `json:"event_type"`
		SessionID string    `json:"session_id"`
		Timestamp time.Time `json:"timestamp"`
		Details   struct {
			ExpiresAt time.Time `json:"expiresAt"`
		} `json:"details"`
	}
	if json.Unmarshal(body, &ev) != nil || ev.EventType != "session_created" {
		return
	}
	// expiresAt is "this minute, second = ttl" (session/doc.go, Exact TTL).
	ttl := session.RequestedTTL(ev.Timestamp, ev.Details.ExpiresAt, time.Now())
	if _, err := a.d.Sessions.Create(r.Context(), inst.ID, ev.SessionID, ttl); err != nil {
		a.log.Warn("events-submission: session not created", "instance", inst.ID, "err", err)
	}
}

// submitLog keeps the app's log line (package applogs), read by
// GET /admin/v1/instances/:id/logs and `neru logs`. Log bodies may carry
// PII, so they are stored, never written to our logs.
func (a *API) submitLog(r *http.Request) {
	inst, err := a.authenticate(r)
	if err != nil {
		return
	}
	body, err := httpx.ReadBody(r, 64<<10)
	if err != nil || !json.Valid(body) {
		return
	}
	var compact bytes.Buffer
	if json.Compact(&compact, body) != nil {
		return
	}
	if err := a.d.Logs.Append(r.Context(), inst.ID, compact.Bytes()); err != nil {
		a.log.Warn("logs-submission: not stored", "instance", inst.ID, "err", err)
	}
}
