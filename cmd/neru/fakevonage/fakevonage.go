// Package fakevonage is a stand-in for the Vonage REST APIs, for `neru dev`
// and tests: the gateway's vonage-api proxy is pointed at it
// (NERU_VONAGE_API_URL), so apps can send messages and make calls without
// an account, and developers can see what would have been sent.
//
// It answers the endpoints the SDKs' helpers use with realistic bodies
// (message_uuid for messages, {uuid, status, direction, conversation_uuid}
// for calls, {id, name, …} for conversations, users and meeting rooms, 204
// for call updates, an empty account for numbers) and records every
// request; anything else is a Vonage-style 404. GET /_fake/outbox lists them (what
// `neru outbox` prints); DELETE /_fake/outbox forgets them.
//
// Like Vonage, it wants an application JWT: a request without
// "Authorization: Bearer <jwt>" (with an application_id, not expired, not
// before its nbf) gets 401. Given Options.PublicKey, it also checks the
// RS256 signature. It keeps everything in memory. Nothing here is for
// production use.
package fakevonage

import (
	"bytes"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// OutboxPath lists (GET) and clears (DELETE) the recorded requests.
const OutboxPath = "/_fake/outbox"

// Request is one recorded call to the fake.
type Request struct {
	Seq    int       `json:"seq"`
	At     time.Time `json:"at"`
	Method string    `json:"method"`
	// Host is the Vonage host the app named (the proxy's X-Forwarded-Host).
	Host  string `json:"host,omitempty"`
	Path  string `json:"path"`
	Query string `json:"query,omitempty"`
	// ApplicationID is the application_id claim of the bearer JWT.
	ApplicationID string `json:"applicationId,omitempty"`
	// Header is the request's headers, without Authorization.
	Header   http.Header     `json:"header,omitempty"`
	Body     json.RawMessage `json:"body,omitempty"`
	Status   int             `json:"status"`
	Response json.RawMessage `json:"response,omitempty"`
}

// Options configures a Fake.
type Options struct {
	// PublicKey, if set, returns the public key an application's JWTs must
	// verify with (nil: any signature is accepted for that application).
	PublicKey func(applicationID string) *rsa.PublicKey
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Fake is the fake Vonage API. It is an http.Handler, safe for concurrent use.
type Fake struct {
	opt Options
	mux *http.ServeMux

	mu   sync.Mutex
	reqs []Request
}

// New returns a Fake.
func New(opt Options) *Fake {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	f := &Fake{opt: opt, mux: http.NewServeMux()}
	f.routes()
	return f
}

// Requests returns every recorded request, oldest first.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.reqs...)
}

// Messages returns the message sends it accepted (Messages API v1 and v0.1).
func (f *Fake) Messages() []Request {
	var out []Request
	for _, r := range f.Requests() {
		if r.Method == http.MethodPost && (r.Path == "/v1/messages" || r.Path == "/v0.1/messages") && r.Status/100 == 2 {
			out = append(out, r)
		}
	}
	return out
}

// Reset forgets every recorded request.
func (f *Fake) Reset() {
	f.mu.Lock()
	f.reqs = nil
	f.mu.Unlock()
}

func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == OutboxPath {
		f.outbox(w, r)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	rec := Request{
		At: f.opt.Now().UTC(), Method: r.Method, Host: r.Header.Get("X-Forwarded-Host"),
		Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(),
	}
	rec.Header.Del("Authorization")
	if json.Valid(body) {
		rec.Body = body
	} else if len(body) > 0 {
		rec.Body, _ = json.Marshal(string(body))
	}
	cw := &capture{ResponseWriter: w, status: http.StatusOK}
	appID, ok := f.authorize(r)
	rec.ApplicationID = appID
	if !ok {
		problem(cw, http.StatusUnauthorized, "unauthorized", "Unauthorized", "a valid application JWT is required (Authorization: Bearer <jwt>)")
	} else {
		r.Body = io.NopCloser(bytes.NewReader(body))
		f.mux.ServeHTTP(cw, r)
	}
	rec.Status = cw.status
	if json.Valid(cw.body.Bytes()) {
		rec.Response = bytes.Clone(cw.body.Bytes())
	}
	f.mu.Lock()
	rec.Seq = len(f.reqs) + 1
	f.reqs = append(f.reqs, rec)
	f.mu.Unlock()
}

func (f *Fake) outbox(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{"requests": f.Requests()})
	case http.MethodDelete:
		f.Reset()
		w.WriteHeader(http.StatusNoContent)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

// applicationClaims are the claims of a Vonage application JWT the fake
// looks at: application_id picks the key; exp and nbf, if present, must
// hold.
type applicationClaims struct {
	ApplicationID string `json:"application_id"`
	jwt.RegisteredClaims
}

// authorize checks the bearer JWT and returns its application_id.
func (f *Fake) authorize(r *http.Request) (string, bool) {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return "", false
	}
	// The application id says which key verifies the token, so it is read
	// before the signature is checked.
	var c applicationClaims
	if _, _, err := jwt.NewParser().ParseUnverified(raw, &c); err != nil || c.ApplicationID == "" {
		return "", false
	}
	var key *rsa.PublicKey
	if f.opt.PublicKey != nil {
		key = f.opt.PublicKey(c.ApplicationID)
	}
	if key == nil { // any signature is accepted; the times still count
		return c.ApplicationID, jwt.NewValidator(jwt.WithTimeFunc(f.opt.Now)).Validate(c) == nil
	}
	_, err := jwt.ParseWithClaims(raw, &applicationClaims{}, func(*jwt.Token) (any, error) { return key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}), jwt.WithTimeFunc(f.opt.Now))
	return c.ApplicationID, err == nil
}

func (f *Fake) routes() {
	m := f.mux
	now := func() string { return f.opt.Now().UTC().Format("2006-01-02T15:04:05.000Z") }
	message := func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusAccepted, map[string]string{"message_uuid": uuid.NewString()})
	}
	m.HandleFunc("POST /v1/messages", message)
	m.HandleFunc("POST /v0.1/messages", message)

	m.HandleFunc("POST /v1/calls", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusCreated, map[string]string{
			"uuid": uuid.NewString(), "status": "started", "direction": "outbound", "conversation_uuid": "CON-" + uuid.NewString(),
		})
	})
	m.HandleFunc("GET /v1/calls", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"count": 0, "page_size": 10, "record_index": 0, "_embedded": map[string]any{"calls": []any{}}})
	})
	m.HandleFunc("GET /v1/calls/{uuid}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{
			"uuid": r.PathValue("uuid"), "conversation_uuid": "CON-" + r.PathValue("uuid"), "status": "answered", "direction": "outbound", "start_time": now(),
		})
	})
	m.HandleFunc("PUT /v1/calls/{uuid}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	for _, media := range []string{"talk", "stream", "dtmf"} {
		started := map[string]string{"talk": "Talk started", "stream": "Stream started", "dtmf": "DTMF sent"}[media]
		m.HandleFunc("PUT /v1/calls/{uuid}/"+media, func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, map[string]string{"message": started, "uuid": r.PathValue("uuid")})
		})
		m.HandleFunc("DELETE /v1/calls/{uuid}/"+media, func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, map[string]string{"message": strings.Replace(started, "started", "stopped", 1), "uuid": r.PathValue("uuid")})
		})
	}

	conversation := func(id, name, display string) map[string]any {
		return map[string]any{
			"id": id, "name": name, "display_name": display, "state": "ACTIVE",
			"timestamp": map[string]string{"created": now()},
			"_links":    map[string]any{"self": map[string]string{"href": "https://api.nexmo.com/v0.3/conversations/" + id}},
		}
	}
	m.HandleFunc("POST /v0.3/conversations", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Name        string `json:"name"`
			DisplayName string `json:"display_name"`
		}
		_ = json.NewDecoder(r.Body).Decode(&in)
		writeJSON(w, http.StatusOK, conversation("CON-"+uuid.NewString(), in.Name, in.DisplayName))
	})
	m.HandleFunc("GET /v0.3/conversations/{id}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, conversation(r.PathValue("id"), "", ""))
	})
	m.HandleFunc("POST /v0.3/conversations/{id}/members", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			State string `json:"state"`
		}
		_ = json.NewDecoder(r.Body).Decode(&in)
		state := strings.ToUpper(in.State)
		if state == "" {
			state = "JOINED"
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"id": "MEM-" + uuid.NewString(), "conversation_id": r.PathValue("id"), "state": state,
			"timestamp": map[string]string{strings.ToLower(state): now()},
		})
	})
	m.HandleFunc("PATCH /v0.3/conversations/{id}/members/{member}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"id": r.PathValue("member"), "conversation_id": r.PathValue("id"), "state": "LEFT"})
	})
	var seq struct {
		sync.Mutex
		n int
	}
	m.HandleFunc("POST /v0.3/conversations/{id}/events", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Type string          `json:"type"`
			Body json.RawMessage `json:"body"`
		}
		_ = json.NewDecoder(r.Body).Decode(&in)
		seq.Lock()
		seq.n++
		n := seq.n
		seq.Unlock()
		out := map[string]any{"id": n, "type": in.Type, "timestamp": now()}
		if len(in.Body) > 0 {
			out["body"] = in.Body
		}
		writeJSON(w, http.StatusOK, out)
	})

	user := func(id, name string) map[string]any {
		return map[string]any{"id": id, "name": name, "display_name": name,
			"_links": map[string]any{"self": map[string]string{"href": "https://api.nexmo.com/v0.3/users/" + id}}}
	}
	m.HandleFunc("GET /v0.3/users", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"page_size": 10, "_embedded": map[string]any{"users": []any{}}, "_links": map[string]any{}})
	})
	m.HandleFunc("POST /v0.3/users", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Name string `json:"name"`
		}
		_ = json.NewDecoder(r.Body).Decode(&in)
		writeJSON(w, http.StatusOK, user("USR-"+uuid.NewString(), in.Name))
	})
	m.HandleFunc("GET /v0.3/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, user(r.PathValue("id"), ""))
	})
	m.HandleFunc("PATCH /v0.3/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Name string `json:"name"`
		}
		_ = json.NewDecoder(r.Body).Decode(&in)
		writeJSON(w, http.StatusOK, user(r.PathValue("id"), in.Name))
	})
	m.HandleFunc("DELETE /v0.3/users/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })

	room := func(id, name string) map[string]any {
		return map[string]any{"id": id, "display_name": name, "type": "instant", "expires_at": f.opt.Now().Add(time.Hour).UTC().Format(time.RFC3339),
			"_links": map[string]any{"host_url": map[string]string{"href": "https://meetings.vonage.com/?room_token=" + id}}}
	}
	m.HandleFunc("GET /beta/meetings/rooms", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"page_size": 0, "_embedded": []any{}, "_links": map[string]any{}})
	})
	m.HandleFunc("POST /beta/meetings/rooms", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			DisplayName string `json:"display_name"`
		}
		_ = json.NewDecoder(r.Body).Decode(&in)
		writeJSON(w, http.StatusCreated, room(uuid.NewString(), in.DisplayName))
	})
	m.HandleFunc("GET /beta/meetings/rooms/{id}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, room(r.PathValue("id"), ""))
	})
	m.HandleFunc("PATCH /beta/meetings/rooms/{id}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, room(r.PathValue("id"), ""))
	})
	m.HandleFunc("DELETE /beta/meetings/rooms/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })

	// Numbers (rest.nexmo.com, key and secret in the query): an account
	// with no numbers, where every change succeeds.
	noNumbers := func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"count": 0, "numbers": []any{}})
	}
	m.HandleFunc("GET /account/numbers", noNumbers)
	m.HandleFunc("GET /number/search", noNumbers)
	for _, op := range []string{"buy", "cancel", "update"} {
		m.HandleFunc("POST /number/"+op, func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, map[string]string{"error-code": "200", "error-code-label": "success"})
		})
	}

	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		problem(w, http.StatusNotFound, "not-found", "Not Found", "the fake Vonage API does not implement "+r.Method+" "+r.URL.Path)
	})
}

// problem writes a Vonage-style RFC 7807 error.
func problem(w http.ResponseWriter, status int, typ, title, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{
		"type": "https://developer.vonage.com/api-errors#" + typ, "title": title, "detail": detail,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// capture keeps a copy of what the handler wrote.
type capture struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (c *capture) WriteHeader(code int) {
	c.status = code
	c.ResponseWriter.WriteHeader(code)
}

func (c *capture) Write(b []byte) (int, error) {
	c.body.Write(b)
	return c.ResponseWriter.Write(b)
}
