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
	// InstanceServiceName is the JWT's sub and the logs' source_id
	// (INSTANCE_SERVICE_NAME in the JS SDKs); optional.
	InstanceServiceName string
	// PrivateKey is the PEM RSA key (PKCS#8 or PKCS#1) the SDK signs its
	// RS256 JWT with, as the JS SDKs do with PRIVATE_KEY (protocol §2.2).
	// The platform verifies it with the instance's public key.
	PrivateKey string
	// Token, if set, returns the bearer token for each request instead.
	// With neither Token nor PrivateKey, requests are unauthenticated, which
	// only the dev instance accepts, from loopback.
	Token func() (string, error)
	// RegionURL is the Vonage API base the helpers call through vonage-api
	// (default https://api.nexmo.com).
	RegionURL  string
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
	if cfg.RegionURL == "" {
		cfg.RegionURL = "https://api.nexmo.com"
	}
	cfg.RegionURL = strings.TrimRight(cfg.RegionURL, "/")
	cfg.Endpoint = strings.TrimRight(cfg.Endpoint, "/")
	if cfg.Token == nil && cfg.PrivateKey != "" {
		cfg.Token = newSigner(cfg).token
	}
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

// Error is a non-2xx reply from the platform (or, through vonage-api, from
// Vonage: then Code and Message are empty and Body holds Vonage's reply).
type Error struct {
	Status  int
	Code    string `json:"code"`
	Message string `json:"message"`
	Body    []byte `json:"-"`
}

func (e *Error) Error() string {
	if e.Code == "" && e.Message == "" {
		return fmt.Sprintf("sdk: answered %d: %s", e.Status, bytes.TrimSpace(e.Body))
	}
	return fmt.Sprintf("sdk: platform answered %d: %s: %s", e.Status, e.Code, e.Message)
}

// Command sends one provider action in a Command envelope and decodes the
// reply into out (which may be nil).
func (s *Session) Command(ctx context.Context, provider, action string, payload, out any) error {
	return s.command(ctx, provider, action, payload, nil, out)
}

// command sends a Command envelope; extra adds fields to the action
// (successCallback, errorCallback).
func (s *Session) command(ctx context.Context, provider, action string, payload any, extra map[string]any, out any) error {
	raw, err := s.commandRaw(ctx, provider, action, payload, extra)
	if err != nil {
		return err
	}
	if out != nil && len(raw) > 0 {
		return json.Unmarshal(raw, out)
	}
	return nil
}

func (s *Session) commandRaw(ctx context.Context, provider, action string, payload any, extra map[string]any) ([]byte, error) {
	cfg := s.c.cfg
	act := map[string]any{"provider": provider, "action": action, "payload": payload}
	for k, v := range extra {
		act[k] = v
	}
	header := map[string]string{
		"traceId": uuid.NewString(), "instanceId": cfg.InstanceID, "sessionId": s.ID,
		"apiAccountId": cfg.AccountID, "apiApplicationId": cfg.ApplicationID,
	}
	if cfg.InstanceServiceName != "" {
		header["applicationName"] = cfg.InstanceServiceName
	}
	env := map[string]any{"header": header, "actions": []any{act}}
	return s.request(ctx, provider, "", env)
}

// post sends a JSON body to a provider and decodes the reply into out
// (which may be nil).
func (s *Session) post(ctx context.Context, provider, path string, body, out any) error {
	reply, err := s.request(ctx, provider, path, body)
	if err != nil {
		return err
	}
	if out != nil && len(reply) > 0 {
		return json.Unmarshal(reply, out)
	}
	return nil
}

// request sends a JSON body to a provider, debug-style addressed
// (<endpoint>[/path]?func=<provider>.<namespace>), and returns the reply
// body of a 2xx, or an *Error.
func (s *Session) request(ctx context.Context, provider, path string, body any) ([]byte, error) {
	cfg := s.c.cfg
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	url := cfg.Endpoint + path + "?func=" + provider + "." + cfg.Namespace + "&async=false"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(raw))
	if err != nil {
		return nil, err
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
			return nil, fmt.Errorf("sdk: token: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("sdk: %s: %w", provider, err)
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, fmt.Errorf("sdk: %s: %w", provider, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := &Error{Status: resp.StatusCode, Body: reply}
		_ = json.Unmarshal(reply, e)
		return nil, e
	}
	return reply, nil
}
