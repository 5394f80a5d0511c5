package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
)

// GlobalSessionID is the session for instance-wide work.
const GlobalSessionID = "00000000-0000-0000-0000-000000000000"

// SessionHeader carries the session id on every callback.
const SessionHeader = "x-neru-sessionid"

// Config says where the platform is and who the app is.
type Config struct {
	// Endpoint is the SDK command endpoint, e.g. http://127.0.0.1:3001.
	Endpoint string
	// Namespace completes the provider addresses (default "neru").
	Namespace     string
	InstanceID    string
	AccountID     string
	ApplicationID string // the Vonage application id
	// Token, if set, returns the bearer token for each request (the JS
	// SDKs' RS256 JWT). Without it requests are unauthenticated, which only
	// the dev instance accepts, from loopback.
	Token      func() (string, error)
	HTTPClient *http.Client
}

// Client is the entry point of the SDK. Safe for concurrent use.
type Client struct{ cfg Config }

// New returns a Client.
func New(cfg Config) *Client {
	if cfg.Namespace == "" {
		cfg.Namespace = "neru"
	}
	if cfg.InstanceID == "" {
		cfg.InstanceID = "debug"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	cfg.Endpoint = strings.TrimRight(cfg.Endpoint, "/")
	return &Client{cfg: cfg}
}

// Session is a context shared by the listeners and state of one conversation.
type Session struct {
	ID string
	c  *Client
}

// NewSession returns a session with a fresh id. Like the JS SDKs, it tells
// the platform nothing until it is used.
func (c *Client) NewSession() *Session { return c.Session(uuid.NewString()) }

// Session returns the session with the given id.
func (c *Client) Session(id string) *Session { return &Session{ID: id, c: c} }

// GlobalSession returns the instance-wide session.
func (c *Client) GlobalSession() *Session { return c.Session(GlobalSessionID) }

// ErrNoSession: the request carries no x-neru-sessionid header.
var ErrNoSession = errors.New(`sdk: request does not contain "x-neru-sessionid" header`)

// SessionFromRequest restores the session of a callback.
func (c *Client) SessionFromRequest(r *http.Request) (*Session, error) {
	id := r.Header.Get(SessionHeader)
	if id == "" {
		return nil, ErrNoSession
	}
	return c.Session(id), nil
}

// Error is a non-2xx reply from the platform.
type Error struct {
	Status  int
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("sdk: platform answered %d: %s: %s", e.Status, e.Code, e.Message)
}

// Command sends one provider action in a Command envelope and decodes the
// reply into out (which may be nil).
func (s *Session) Command(ctx context.Context, provider, action string, payload, out any) error {
	cfg := s.c.cfg
	env := map[string]any{
		"header": map[string]string{
			"traceId": uuid.NewString(), "instanceId": cfg.InstanceID, "sessionId": s.ID,
			"apiAccountId": cfg.AccountID, "apiApplicationId": cfg.ApplicationID,
		},
		"actions": []any{map[string]any{"provider": provider, "action": action, "payload": payload}},
	}
	return s.post(ctx, provider, "", env, out)
}

// post sends a JSON body to a provider, debug-style addressed
// (<endpoint>[/path]?func=<provider>.<namespace>).
func (s *Session) post(ctx context.Context, provider, path string, body, out any) error {
	cfg := s.c.cfg
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	url := cfg.Endpoint + path + "?func=" + provider + "." + cfg.Namespace + "&async=false"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(raw))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Neru-SessionId", s.ID)
	req.Header.Set("X-Neru-InstanceId", cfg.InstanceID)
	req.Header.Set("X-Neru-TraceId", uuid.NewString())
	if cfg.AccountID != "" {
		req.Header.Set("X-Neru-ApiAccountId", cfg.AccountID)
	}
	if cfg.ApplicationID != "" {
		req.Header.Set("X-Neru-ApiApplicationId", cfg.ApplicationID)
	}
	if cfg.Token != nil {
		tok, err := cfg.Token()
		if err != nil {
			return fmt.Errorf("sdk: token: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := cfg.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("sdk: %s: %w", provider, err)
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return fmt.Errorf("sdk: %s: %w", provider, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := &Error{Status: resp.StatusCode}
		_ = json.Unmarshal(reply, e)
		return e
	}
	if out != nil && len(reply) > 0 {
		return json.Unmarshal(reply, out)
	}
	return nil
}
