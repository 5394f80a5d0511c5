package sdk_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	sdkcaptures "github.com/neru-dev/neru/internal/captures"
	"github.com/neru-dev/neru/sdk"
)

// The neru-alpha state captures are shared with package state.

type capture struct {
	SDKCall string          `json:"sdkCall"`
	Body    json.RawMessage `json:"body"`
	Reply   struct {
		Wire string `json:"wire"`
	} `json:"captureServerResponse"`
	Outcome struct {
		Returned json.RawMessage `json:"returned"`
	} `json:"sdkCallOutcome"`
}

// recorder is a fake platform: it answers each request with the next
// canned reply and keeps what it got.
type recorder struct {
	mu      sync.Mutex
	bodies  [][]byte
	headers []http.Header
	urls    []string
	reply   string
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.bodies = append(r.bodies, b)
	r.headers = append(r.headers, req.Header.Clone())
	r.urls = append(r.urls, req.URL.String())
	reply := r.reply
	r.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, reply)
}

func (r *recorder) last() ([]byte, http.Header, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(r.bodies) - 1
	return r.bodies[n], r.headers[n], r.urls[n]
}

// Each state call of the Go SDK sends what neru-alpha sent for the same
// call, byte-equal as JSON, and decodes the reply neru-alpha got to the
// value neru-alpha returned.
func TestStateMatchesTheJSCaptures(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	c := sdk.New(sdk.Config{Endpoint: srv.URL, InstanceID: "instance-id-0001", AccountID: "acc123", ApplicationID: "vonage-app-0001"})
	st := c.Session("66726a67-bd25-441c-bd1e-cfdd4c9dc927").State()
	ctx := context.Background()
	type obj = map[string]any
	tests := []struct {
		file string
		call func() (any, error)
	}{
		{"SET--state.set", func() (any, error) { return "OK", st.Set(ctx, "k1", obj{"hello": "world", "n": 1}) }},
		{"GET--state.get", func() (any, error) { var v any; _, err := st.Get(ctx, "k1", &v); return v, err }},
		{"GET--state.get_missing", func() (any, error) {
			var v any
			found, err := st.Get(ctx, "missing-key", &v)
			if found {
				return "found?", err
			}
			return nil, err
		}},
		{"SET--instanceState.set", func() (any, error) { return "OK", c.InstanceState().Set(ctx, "ik", "instance-value") }},
		{"GET--instanceState.get", func() (any, error) { var v string; _, err := c.InstanceState().Get(ctx, "ik", &v); return v, err }},
		{"SET--accountState.set", func() (any, error) { return "OK", c.AccountState().Set(ctx, "ak", 42) }},
		{"DEL", func() (any, error) { return st.Delete(ctx, "k1") }},
		{"INCRBY", func() (any, error) { return st.IncrBy(ctx, "counter", 5) }},
		{"DECRBY", func() (any, error) { return st.DecrBy(ctx, "counter", 2) }},
		{"EXPIRE--state.expire", func() (any, error) { ok, err := st.Expire(ctx, "counter", 3600, ""); return b2i(ok), err }},
		{"EXPIRE--state.expire_NX", func() (any, error) { ok, err := st.Expire(ctx, "counter", 60, "NX"); return b2i(ok), err }},
		{"HSET", func() (any, error) { return st.HSet(ctx, "h1", map[string]string{"f1": "v1", "f2": "v2"}) }},
		{"HGET", func() (any, error) { v, _, err := st.HGet(ctx, "h1", "f1"); return v, err }},
		{"HGETALL", func() (any, error) { return st.HGetAll(ctx, "h1") }},
		{"HMGET", func() (any, error) { return st.HMGet(ctx, "h1", "f1", "f2", "nope") }},
		{"HVALS", func() (any, error) { return st.HVals(ctx, "h1") }},
		{"HEXISTS", func() (any, error) { ok, err := st.HExists(ctx, "h1", "f1"); return b2i(ok), err }},
		{"HDEL", func() (any, error) { return st.HDel(ctx, "h1", "f2") }},
		{"HINCRBY", func() (any, error) { return st.HIncrBy(ctx, "h1", "cnt", 3) }},
		{"HLEN", func() (any, error) { return st.HLen(ctx, "h1") }},
		{"HSCAN", func() (any, error) {
			next, f, err := st.HScan(ctx, "h1", "0", "f*", 10)
			return []any{next, f}, err
		}},
		{"RPUSH", func() (any, error) { return st.RPush(ctx, "l1", obj{"i": 1}) }},
		{"LPUSH", func() (any, error) { return st.LPush(ctx, "l1", obj{"i": 0}) }},
		{"LLEN", func() (any, error) { return st.LLen(ctx, "l1") }},
		{"LRANGE", func() (any, error) { return st.LRange(ctx, "l1", 0, -1) }},
		{"LINSERT", func() (any, error) { return st.LInsert(ctx, "l1", true, obj{"i": 1}, obj{"i": 0.5}) }},
		{"LINDEX", func() (any, error) { var v any; _, err := st.LIndex(ctx, "l1", 0, &v); return v, err }},
		{"LREM", func() (any, error) { return st.LRem(ctx, "l1", obj{"i": 0.5}, 0) }},
		{"LSET", func() (any, error) { return "OK", st.LSet(ctx, "l1", 0, obj{"i": "zero"}) }},
		{"LTRIM", func() (any, error) { return "OK", st.LTrim(ctx, "l1", 0, 10) }},
		{"LPOP", func() (any, error) { return st.LPop(ctx, "l1", 1) }},
		{"RPOP", func() (any, error) { return st.RPop(ctx, "l1", 1) }},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw, err := sdkcaptures.FS.ReadFile(sdkcaptures.Neru + "/client-persistence-api-" + tt.file + ".json")
			if err != nil {
				t.Fatal(err)
			}
			var cp capture
			if err := json.Unmarshal(raw, &cp); err != nil {
				t.Fatal(err)
			}
			rec.mu.Lock()
			rec.reply = cp.Reply.Wire
			rec.mu.Unlock()
			got, err := tt.call()
			if err != nil {
				t.Fatal(err)
			}
			body, hdr, url := rec.last()
			if !jsonEqual(t, body, cp.Body) {
				t.Errorf("sent %s\nneru-alpha sent %s", body, cp.Body)
			}
			if !strings.HasPrefix(url, "/?func=client-persistence-api.neru&async=false") || hdr.Get("X-Neru-SessionId") == "" {
				t.Errorf("addressed %s, session %q", url, hdr.Get("X-Neru-SessionId"))
			}
			want := []byte(cp.Outcome.Returned)
			if tt.file == "HSCAN" {
				want = []byte(`["0",{"f1":"v1","f2":"v2","cnt":"3"}]`) // a map, not neru's flat array
			}
			if !jsonEqual(t, mustJSON(t, got), want) {
				t.Errorf("returned %s, want %s", mustJSON(t, got), want)
			}
		})
	}
}

func b2i(ok bool) int {
	if ok {
		return 1
	}
	return 0
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		t.Fatalf("not JSON: %s / %s", a, b)
	}
	return reflect.DeepEqual(x, y)
}

func newKey(t *testing.T, bits int) (*rsa.PrivateKey, string) {
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	return k, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// The token is the JS SDKs' (protocol §2.2): RS256, the same claims in the
// same order, 300 s, one per client, reused until 20 s before it expires.
func TestToken(t *testing.T) {
	key, pemText := newKey(t, 2048)
	rec := &recorder{reply: `"OK"`}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	c := sdk.New(sdk.Config{Endpoint: srv.URL, InstanceID: "i1", AccountID: "acc123", ApplicationID: "vonage-app-0001",
		InstanceServiceName: "neru-acc123-myproject-dev", PrivateKey: pemText})
	s := c.NewSession()
	if err := s.Log(context.Background(), sdk.LogInfo, "one", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Log(context.Background(), sdk.LogInfo, "two", nil); err != nil {
		t.Fatal(err)
	}
	_, h1, _ := rec.last()
	rec.mu.Lock()
	first := rec.headers[0].Get("Authorization")
	rec.mu.Unlock()
	tok, ok := strings.CutPrefix(h1.Get("Authorization"), "Bearer ")
	if !ok || "Bearer "+tok != first {
		t.Fatalf("tokens %q / %q: want one cached bearer token", first, h1.Get("Authorization"))
	}
	parts := strings.Split(tok, ".")
	hdr, _ := base64.RawURLEncoding.DecodeString(parts[0])
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	if string(hdr) != `{"alg":"RS256","typ":"JWT"}` {
		t.Fatalf("header %s", hdr)
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		t.Fatalf("signature: %v", err)
	}
	var claims struct{ Exp, Iat int64 }
	_ = json.Unmarshal(payload, &claims)
	if claims.Exp-claims.Iat != 300 {
		t.Fatalf("lifetime %d s, want 300", claims.Exp-claims.Iat)
	}
	// Key order as jsonwebtoken writes it.
	want := `{"aud":"provider","iss":"project-instance","api_application_id":"vonage-app-0001","api_account_id":"acc123","exp":` +
		jsonInt(claims.Exp) + `,"sub":"neru-acc123-myproject-dev","iat":` + jsonInt(claims.Iat) + `}`
	if string(payload) != want {
		t.Fatalf("claims\n %s\nwant %s", payload, want)
	}

	// Unset variables leave their claims out.
	minimal := sdk.New(sdk.Config{Endpoint: srv.URL, PrivateKey: pemText})
	if err := minimal.NewSession().Log(context.Background(), sdk.LogInfo, "x", nil); err != nil {
		t.Fatal(err)
	}
	_, h2, _ := rec.last()
	payload, _ = base64.RawURLEncoding.DecodeString(strings.Split(strings.TrimPrefix(h2.Get("Authorization"), "Bearer "), ".")[1])
	var m map[string]any
	_ = json.Unmarshal(payload, &m)
	if len(m) != 4 || m["aud"] != "provider" || m["iss"] != "project-instance" {
		t.Fatalf("minimal claims %s, want {aud, iss, exp, iat}", payload)
	}

	// Keys jsonwebtoken refuses are refused here too, at the first call.
	_, small := newKey(t, 1024)
	for name, p := range map[string]string{"1024-bit key": small, "not PEM": "hello"} {
		err := sdk.New(sdk.Config{Endpoint: srv.URL, PrivateKey: p}).NewSession().Log(context.Background(), sdk.LogInfo, "x", nil)
		if err == nil || !strings.Contains(err.Error(), "PrivateKey") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

// Listener, log and vonage-api requests have the JS SDKs' shapes.
func TestRequestShapes(t *testing.T) {
	rec := &recorder{reply: `"OK"`}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	c := sdk.New(sdk.Config{Endpoint: srv.URL, InstanceID: "instance-id-0001", InstanceServiceName: "svc"})
	s := c.Session("sess-1")
	ctx := context.Background()
	payload := func() map[string]any {
		body, _, _ := rec.last()
		var env struct {
			Actions []map[string]any `json:"actions"`
		}
		if err := json.Unmarshal(body, &env); err != nil || len(env.Actions) != 1 {
			t.Fatalf("not a Command envelope: %s", body)
		}
		return env.Actions[0]
	}

	id, err := s.OnInboundCall(ctx, "onInboundCall", sdk.Contact{Number: "447700900000"}, &sdk.Contact{Number: "447700900001"})
	if err != nil {
		t.Fatal(err)
	}
	a := payload()
	p := a["payload"].(map[string]any)
	cb := p["callback"].(map[string]any)
	if a["action"] != "conversation-subscribe-inbound-call" || cb["id"] != id || cb["path"] != "onInboundCall" || cb["sessionId"] != "sess-1" ||
		cb["instanceServiceName"] != "svc" || !reflect.DeepEqual(p["to"], map[string]any{"type": "phone", "number": "447700900000"}) {
		t.Fatalf("onInboundCall action %v", a)
	}
	if _, err := s.ListenForEvents(ctx, "onDTMF", "CON-1", sdk.TypeFilter("audio:dtmf")); err != nil {
		t.Fatal(err)
	}
	a = payload()
	p = a["payload"].(map[string]any)
	if a["action"] != "conversation-subscribe-event" || p["conversationId"] != "CON-1" ||
		!reflect.DeepEqual(p["callback"].(map[string]any)["filters"], []any{map[string]any{"path": "type", "op": "contains", "values": []any{"audio:dtmf"}}}) {
		t.Fatalf("listenForEvents action %v", a)
	}

	rec.mu.Lock()
	rec.reply = `{"message_uuid":"m-1"}`
	rec.mu.Unlock()
	uuid, err := s.Messages().SendText(ctx, sdk.Contact{Type: "sms", Number: "447700900000"}, sdk.Contact{Number: "447700900001"}, "hi")
	if err != nil || uuid != "m-1" {
		t.Fatalf("SendText = %q, %v", uuid, err)
	}
	a = payload()
	p = a["payload"].(map[string]any)
	if a["provider"] != "vonage-api" || a["action"] != "invoke" || p["url"] != "https://api.nexmo.com/v1/messages" || p["method"] != "POST" ||
		!reflect.DeepEqual(p["body"], map[string]any{"message_type": "text", "channel": "sms", "from": "447700900000", "to": "447700900001", "text": "hi"}) {
		t.Fatalf("SendText action %v", a)
	}
	if _, err := s.VonageAPI().Do(ctx, sdk.Invoke{URL: "https://api.nexmo.com/v1/calls/u", Method: "PUT", Body: map[string]string{"action": "hangup"}, OnSuccess: "onInvokeOk", OnError: "onInvokeFail"}); err != nil {
		t.Fatal(err)
	}
	a = payload()
	if a["successCallback"].(map[string]any)["path"] != "onInvokeOk" || a["errorCallback"].(map[string]any)["path"] != "onInvokeFail" {
		t.Fatalf("invoke callbacks %v", a)
	}

	if err := s.Log(ctx, sdk.LogError, "boom", &sdk.LogContext{ActionName: "custom", Payload: "p", Result: "r"}); err != nil {
		t.Fatal(err)
	}
	body, _, url := rec.last()
	var l map[string]any
	_ = json.Unmarshal(body, &l)
	if !strings.Contains(url, "func=logs-submission.neru") || l["log_level"] != "error" || l["message"] != "boom" || l["session_id"] != "sess-1" ||
		l["source_type"] != "application" || l["source_id"] != "svc" || l["instance_id"] != "instance-id-0001" ||
		!reflect.DeepEqual(l["context"], map[string]any{"actionName": "custom", "payload": "p", "result": "r"}) {
		t.Fatalf("log %s to %s", body, url)
	}
}

// SignRS256 takes a map too (tests build odd claims that way), and what it
// signs verifies as RS256 with the public key; other claim types are an
// error, not a token.
func TestSignRS256(t *testing.T) {
	key, _ := newKey(t, 2048)
	exp := time.Now().Add(time.Minute).Unix()
	tok, err := sdk.SignRS256(key, map[string]any{"aud": []string{"provider", "other"}, "exp": exp})
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := jwt.Parse(tok, func(*jwt.Token) (any, error) { return &key.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithAudience("provider"), jwt.WithExpirationRequired())
	if err != nil || !parsed.Valid {
		t.Fatalf("token does not verify: %v", err)
	}
	if _, err := sdk.SignRS256(key, struct{ Aud string }{"provider"}); err == nil || !strings.Contains(err.Error(), "claims of type") {
		t.Fatalf("struct claims without jwt.Claims: %v, want an error", err)
	}
}
