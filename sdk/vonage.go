package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"
)

// Log levels of Session.Log.
const (
	LogInfo  = "info"
	LogWarn  = "warn"
	LogError = "error"
	LogDebug = "debug"
)

// LogContext is the optional context of a log line.
type LogContext struct {
	ActionName string `json:"actionName,omitempty"`
	Payload    string `json:"payload,omitempty"`
	Result     string `json:"result,omitempty"`
}

// Log sends a log line to the platform (logs-submission), as the JS SDKs'
// session.log does; `neru logs` shows it. Logs may carry personal data: the
// platform keeps them for the instance's admins only.
func (s *Session) Log(ctx context.Context, level, message string, logCtx *LogContext) error {
	cfg := s.c.cfg
	body := map[string]any{
		"id": uuid.NewString(), "session_id": s.ID, "timestamp": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		"log_level": level, "message": message, "source_type": "application", "instance_id": cfg.InstanceID,
	}
	for k, v := range map[string]string{"api_application_id": cfg.ApplicationID, "api_account_id": cfg.AccountID, "source_id": cfg.InstanceServiceName} {
		if v != "" {
			body[k] = v
		}
	}
	if logCtx != nil {
		body["context"] = logCtx
	}
	return s.post(ctx, "logs-submission", "", body, nil)
}

// VonageAPI calls Vonage REST APIs through the platform, which adds the
// instance's credentials (protocol §3.4). Only Vonage API hosts are allowed.
type VonageAPI struct{ s *Session }

// VonageAPI returns the session's Vonage API proxy.
func (s *Session) VonageAPI() *VonageAPI { return &VonageAPI{s: s} }

// Invoke holds one proxied call.
type Invoke struct {
	URL    string // e.g. https://api.nexmo.com/v1/calls
	Method string // GET, POST, PUT, PATCH or DELETE
	Body   any    // JSON-encoded; nil sends no body
	// Headers may set Accept, Accept-Language and Content-Type; the
	// platform drops any other (Authorization is always its own).
	Headers map[string]string
	// OnSuccess and OnError, if set, are routes of this app that also get
	// the outcome, {url, method, status, body, error?}, through the
	// platform's event stream (neru's .onSuccess / .onError).
	OnSuccess, OnError string
}

// Invoke calls a Vonage API and returns Vonage's reply body (empty for a
// 204). A non-2xx from Vonage is an *Error with Vonage's status and Body.
func (v *VonageAPI) Invoke(ctx context.Context, url, method string, body any, headers map[string]string) (json.RawMessage, error) {
	return v.Do(ctx, Invoke{URL: url, Method: method, Body: body, Headers: headers})
}

// Do runs in.
func (v *VonageAPI) Do(ctx context.Context, in Invoke) (json.RawMessage, error) {
	payload := map[string]any{"url": in.URL, "method": in.Method, "body": in.Body}
	if in.Headers != nil {
		payload["headers"] = in.Headers
	}
	extra := map[string]any{}
	if in.OnSuccess != "" {
		extra["successCallback"] = v.s.callback(in.OnSuccess, nil)
	}
	if in.OnError != "" {
		extra["errorCallback"] = v.s.callback(in.OnError, nil)
	}
	raw, err := v.s.commandRaw(ctx, "vonage-api", "invoke", payload, extra)
	if err != nil {
		return nil, err
	}
	if len(raw) == 0 {
		return nil, nil
	}
	return raw, nil
}

// Messages sends messages through the Messages API, via vonage-api.
type Messages struct{ s *Session }

// Messages returns the session's Messages API helper.
func (s *Session) Messages() *Messages { return &Messages{s: s} }

// Send sends a Messages API v1 message ({message_type, channel, to, from,
// text|image|…}) as it is, and returns its message_uuid.
func (m *Messages) Send(ctx context.Context, msg any) (string, error) {
	raw, err := m.s.VonageAPI().Invoke(ctx, m.s.c.cfg.RegionURL+"/v1/messages", "POST", msg, nil)
	if err != nil {
		return "", err
	}
	var out struct {
		MessageUUID string `json:"message_uuid"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || out.MessageUUID == "" {
		return "", errors.New("sdk: the Messages API reply has no message_uuid")
	}
	return out.MessageUUID, nil
}

// SendText sends a text message from one of your numbers to a recipient on
// from's channel (Type; default sms) and returns its message_uuid.
func (m *Messages) SendText(ctx context.Context, from, to Contact, text string) (string, error) {
	channel := from.Type
	if channel == "" {
		channel = "sms"
	}
	return m.Send(ctx, map[string]string{
		"message_type": "text", "channel": channel, "from": from.Number, "to": to.Number, "text": text,
	})
}
