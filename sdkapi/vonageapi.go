package sdkapi

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/neru-dev/neru/delivery"
	"github.com/neru-dev/neru/instance"
	"github.com/neru-dev/neru/internal/httpx"
	"github.com/neru-dev/neru/internal/ttlcache"
	"github.com/neru-dev/neru/listener"
	"github.com/neru-dev/neru/session"
)

// The vonage-api provider: an authenticated proxy to the Vonage REST APIs
// (protocol §3.4, §8.8).
const (
	vonageAPIProvider = "vonage-api"
	actionInvoke      = "invoke"
	// KindVonageAPICallback is the delivery kind of a successCallback or
	// errorCallback of a neru invoke.
	KindVonageAPICallback = "vonage-api.callback"
)

// DefaultVonageAPIHosts are the hosts vonage-api reaches unless configured
// otherwise. "*" matches one or more characters inside one DNS label, so
// api-*.vonage.com covers api-eu.vonage.com and api-us-3.vonage.com, but not
// api-x.evil.vonage.com.
var DefaultVonageAPIHosts = []string{
	"api.nexmo.com", "api-*.nexmo.com", "rest.nexmo.com",
	"api.vonage.com", "api-*.vonage.com",
}

// upstreamHeaders are the only request headers an app may pass on to Vonage.
// Authorization is always ours.
var upstreamHeaders = []string{"Accept", "Accept-Language", "Content-Type"}

const maxUpstreamBody = 16 << 20

// vonageAPI is the proxy's client side: the allow-list, the upstream HTTP
// client and the per-instance application JWTs.
type vonageAPI struct {
	base  *url.URL // optional override of every upstream host
	hosts []string
	keys  VonageKeys
	http  *http.Client

	tokens *ttlcache.Cache[string, appToken] // by instance id, until a minute before expiry
}

type appToken struct {
	jwt string
	key *rsa.PrivateKey
}

func newVonageAPI(cfg Config, keys VonageKeys) *vonageAPI {
	v := &vonageAPI{hosts: cfg.VonageAPIHosts, keys: keys, tokens: ttlcache.New[string, appToken](10_000, 0)}
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	if cfg.VonageAPIURL != "" {
		v.base, _ = url.Parse(strings.TrimRight(cfg.VonageAPIURL, "/")) // checked by Validate
	} else {
		// Only public addresses: a DNS answer for an allowed name that
		// points inside our network must not turn the proxy into an SSRF.
		dialer.Control = httpx.RefusePrivate
	}
	// No HTTP_PROXY: the dial guard would refuse a proxy inside our network.
	tr := &http.Transport{
		DialContext:         dialer.DialContext,
		MaxIdleConnsPerHost: 32,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
	}
	v.http = &http.Client{
		Transport: tr,
		Timeout:   cfg.VonageAPITimeout,
		// A redirect could lead anywhere, with our credentials: relay it.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return v
}

// target checks the URL the app asked for and returns where the request
// really goes, and the Vonage host it names.
func (v *vonageAPI) target(raw string) (*url.URL, string, error) {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return nil, "", httpx.Errorf(http.StatusBadRequest, "bad_url", "invoke needs an absolute https URL of a Vonage API")
	}
	host := strings.ToLower(u.Hostname())
	switch {
	case u.Scheme != "https":
		return nil, "", httpx.Errorf(http.StatusForbidden, "upstream_forbidden", "vonage-api calls Vonage over https only, not %q", u.Scheme)
	case u.User != nil:
		return nil, "", httpx.Errorf(http.StatusForbidden, "upstream_forbidden", "vonage-api URLs may not carry user info")
	case u.Port() != "" && u.Port() != "443":
		return nil, "", httpx.Errorf(http.StatusForbidden, "upstream_forbidden", "vonage-api calls Vonage on port 443 only")
	case !hostAllowed(v.hosts, host):
		return nil, "", httpx.Errorf(http.StatusForbidden, "upstream_forbidden", "vonage-api only reaches Vonage API hosts (%s); %q is not one of them", strings.Join(v.hosts, ", "), host)
	}
	out := *u
	out.Fragment, out.RawFragment = "", ""
	if v.base != nil {
		out.Scheme, out.Host = v.base.Scheme, v.base.Host
		out.Path = strings.TrimRight(v.base.Path, "/") + u.Path
		if u.RawPath != "" {
			out.RawPath = strings.TrimRight(v.base.EscapedPath(), "/") + u.RawPath
		}
	}
	return &out, host, nil
}

func hostAllowed(patterns []string, host string) bool {
	for _, p := range patterns {
		if matchHost(strings.ToLower(strings.TrimSpace(p)), host) {
			return true
		}
	}
	return false
}

func matchHost(pattern, host string) bool {
	pl, hl := strings.Split(pattern, "."), strings.Split(host, ".")
	if len(pl) != len(hl) {
		return false
	}
	for i := range pl {
		before, after, wild := strings.Cut(pl[i], "*")
		switch {
		case !wild && pl[i] != hl[i]:
			return false
		case wild && (len(hl[i]) <= len(before)+len(after) || !strings.HasPrefix(hl[i], before) || !strings.HasSuffix(hl[i], after)):
			return false
		}
	}
	return true
}

// token returns the instance's Vonage application JWT (RS256, claims
// application_id, iat, exp, jti), minting a new one when the cached one has
// less than a minute left or the key changed.
func (v *vonageAPI) token(ctx context.Context, in *instance.Instance) (string, error) {
	key, err := v.keys.VonageKey(ctx, in)
	if err != nil {
		return "", err
	}
	if t, ok := v.tokens.Get(in.ID); ok && t.key == key {
		return t.jwt, nil
	}
	now := time.Now()
	exp := now.Add(15 * time.Minute)
	signed, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"application_id": in.ApplicationID, "iat": now.Unix(), "exp": exp.Unix(), "jti": uuid.NewString(),
	}).SignedString(key)
	if err != nil {
		return "", fmt.Errorf("sdkapi: sign Vonage JWT: %w", err)
	}
	v.tokens.PutUntil(in.ID, appToken{jwt: signed, key: key}, exp.Add(-time.Minute))
	return signed, nil
}

// invokePayload is neru's invoke payload and vcr's /invoke body. vcr passes
// the app's extra headers as HTTP headers of the request instead.
type invokePayload struct {
	URL     string          `json:"url"`
	Method  string          `json:"method"`
	Body    json.RawMessage `json:"body"`
	Headers map[string]any  `json:"headers"`
}

var invokeMethods = map[string]bool{
	http.MethodGet: true, http.MethodPost: true, http.MethodPut: true, http.MethodPatch: true, http.MethodDelete: true,
}

func (a *API) vonageAPIAdapter() adapter {
	return adapter{name: vonageAPIProvider, actions: map[string]action{actionInvoke: a.invoke}}
}

// invoke calls a Vonage API for the app with the instance's credentials and
// relays the upstream status and body. With neru's successCallback or
// errorCallback, the outcome is also delivered to that route, through the
// stream, so it is retried like any event.
//
// Everything is checked before anything is sent: the URL's host must be on
// the allow-list (403 otherwise), callback paths must be paths and sessions
// valid ids (400), and the instance must have a Vonage key (503).
func (a *API) invoke(ctx context.Context, c *call) (any, error) {
	var p invokePayload
	if err := json.Unmarshal(c.payload, &p); err != nil || p.URL == "" {
		return nil, httpx.Errorf(http.StatusBadRequest, "bad_payload", `invoke needs {"url", "method", "body"}`)
	}
	method := strings.ToUpper(p.Method)
	if method == "" {
		method = http.MethodGet // axios' default
	}
	if !invokeMethods[method] {
		return nil, httpx.Errorf(http.StatusBadRequest, "bad_payload", "invoke method %q is not one of GET, POST, PUT, PATCH, DELETE", p.Method)
	}
	target, host, err := a.vonage.target(p.URL)
	if err != nil {
		return nil, err
	}
	onSuccess, err := callbackRoute(c, c.success)
	if err != nil {
		return nil, err
	}
	onError, err := callbackRoute(c, c.failure)
	if err != nil {
		return nil, err
	}
	if a.vonage.keys == nil {
		return nil, httpx.Errorf(http.StatusServiceUnavailable, "no_vonage_credentials", "vonage-api has no Vonage application keys configured (NERU_VONAGE_KEYS_DIR)")
	}
	token, err := a.vonage.token(ctx, c.inst)
	if errors.Is(err, ErrNoVonageKey) {
		return nil, httpx.Errorf(http.StatusServiceUnavailable, "no_vonage_credentials", "no Vonage application key is configured for instance %q", c.inst.ID)
	}
	if err != nil {
		return nil, err
	}

	var body io.Reader
	hasBody := len(p.Body) > 0 && !bytes.Equal(p.Body, []byte("null"))
	if hasBody {
		body = bytes.NewReader(p.Body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target.String(), body)
	if err != nil {
		return nil, httpx.Errorf(http.StatusBadRequest, "bad_url", "invoke URL cannot be requested")
	}
	setUpstreamHeaders(req.Header, c.header, p.Headers, hasBody)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("User-Agent", "neru-vonage-api")
	if a.vonage.base != nil {
		req.Header.Set("X-Forwarded-Host", host) // the fake upstream records it
	}

	resp, err := a.vonage.http.Do(req)
	if err != nil {
		reason := "could not reach " + host
		status, code := http.StatusBadGateway, "upstream_unreachable"
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			reason, status, code = host+" did not answer in time", http.StatusGatewayTimeout, "upstream_timeout"
		}
		a.log.Warn("vonage-api: upstream call failed", "instance", c.inst.ID, "host", host, "err", err)
		a.invokeCallback(ctx, c, onError, invokeOutcome{URL: p.URL, Method: method, Error: reason})
		return nil, httpx.Errorf(status, code, "%s", reason)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, maxUpstreamBody+1))
	if err != nil || len(out) > maxUpstreamBody {
		a.invokeCallback(ctx, c, onError, invokeOutcome{URL: p.URL, Method: method, Status: resp.StatusCode, Error: "upstream response unreadable or too large"})
		return nil, httpx.Errorf(http.StatusBadGateway, "upstream_unreadable", "the response of %s was unreadable or over %d bytes", host, maxUpstreamBody)
	}
	outcome := invokeOutcome{URL: p.URL, Method: method, Status: resp.StatusCode, Body: jsonOrString(out)}
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		a.invokeCallback(ctx, c, onSuccess, outcome)
	} else {
		outcome.Error = fmt.Sprintf("%s answered %d", host, resp.StatusCode)
		a.invokeCallback(ctx, c, onError, outcome)
	}
	ct := resp.Header.Get("Content-Type")
	if ct == "" && len(out) > 0 {
		ct = "application/octet-stream"
	}
	return &rawReply{status: resp.StatusCode, contentType: ct, body: out}, nil
}

// setUpstreamHeaders copies the allowed headers: first from the SDK's HTTP
// request (vcr's extra headers), then from neru's payload headers, which win.
func setUpstreamHeaders(dst, httpHeader http.Header, payload map[string]any, hasBody bool) {
	for _, name := range upstreamHeaders {
		if v := httpHeader.Get(name); v != "" {
			dst.Set(name, v)
		}
		for k, v := range payload {
			if s, ok := v.(string); ok && strings.EqualFold(k, name) && !strings.ContainsAny(s, "\r\n") {
				dst.Set(name, s)
			}
		}
	}
	if !hasBody {
		dst.Del("Content-Type")
	} else if dst.Get("Content-Type") == "" {
		dst.Set("Content-Type", "application/json")
	}
	if dst.Get("Accept") == "" {
		dst.Set("Accept", "application/json")
	}
}

// invokeOutcome is the body a successCallback or errorCallback route gets.
type invokeOutcome struct {
	URL    string          `json:"url"`
	Method string          `json:"method"`
	Status int             `json:"status,omitempty"`
	Body   json.RawMessage `json:"body,omitempty"`
	Error  string          `json:"error,omitempty"`
}

func jsonOrString(b []byte) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	if json.Valid(b) {
		return b
	}
	s, _ := json.Marshal(string(b))
	return s
}

// route is where an invoke callback goes: a checked path in a checked
// session of the caller's own instance.
type route struct {
	id, session, path string
}

// callbackRoute checks a success or error callback. The session defaults to
// the request's; the instance is always the authenticated caller, whatever
// the callback claims.
func callbackRoute(c *call, cb *listener.Callback) (*route, error) {
	if cb == nil {
		return nil, nil
	}
	if err := listener.ValidatePath(cb.Path); err != nil {
		return nil, err
	}
	r := &route{id: cb.ID, session: cb.SessionID, path: cb.Path}
	if r.session == "" {
		r.session = c.session
	}
	if err := session.ValidateID(r.session); err != nil {
		return nil, err
	}
	if r.id == "" {
		r.id = uuid.NewString()
	}
	if len(r.id) > 128 || strings.ContainsAny(r.id, "{}|\r\n ") {
		return nil, httpx.Errorf(http.StatusBadRequest, "bad_callback", "callback id must be at most 128 characters without spaces, braces or |")
	}
	return r, nil
}

// invokeCallback publishes the outcome to a callback route, if there is one.
// The upstream call has happened by now, so a failure to publish is logged,
// not returned: the app still gets the upstream reply.
func (a *API) invokeCallback(ctx context.Context, c *call, r *route, o invokeOutcome) {
	if r == nil {
		return
	}
	body, err := json.Marshal(o)
	if err != nil {
		return
	}
	d := &delivery.Delivery{
		ID:         delivery.ID("vonage-api:"+uuid.NewString(), r.id),
		InstanceID: c.inst.ID,
		SessionID:  r.session,
		ListenerID: r.id,
		Path:       r.path,
		Kind:       KindVonageAPICallback,
		AcceptedAt: time.Now(),
		Body:       body,
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.PublishTimeout)
	defer cancel()
	if err := a.d.Publisher.Publish(ctx, []*delivery.Delivery{d}); err != nil {
		a.log.Error("vonage-api: callback not queued", "instance", c.inst.ID, "session", r.session, "err", err)
	}
}
