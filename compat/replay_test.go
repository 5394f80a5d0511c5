package compat

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/neru-dev/neru/cmd/neru/fakevonage"
	sdkcaptures "github.com/neru-dev/neru/internal/captures"
)

// Providers whose captures are replayed, and those left to other work.
var (
	replayed = map[string]bool{
		"vonage-voice": true, "vonage-messaging": true, "client-persistence-api": true,
		"vonage-api": true, "events-submission": true, "logs-submission": true,
	}
	notReplayed = map[string]string{
		"vonage-scheduler": "scheduler: not built yet",
		"queue-service":    "queue: not built yet",
		"vonage-assets":    "assets: not built yet",
		"vonage-overai":    "overai: not built yet",
		"direct":           "never reaches the platform (the SDK GETs the recording URL itself)",
	}
)

// capture is one file of internal/captures.
type capture struct {
	File           string
	SDKCall        string `json:"sdkCall"`
	SDKCallOutcome *struct {
		Returned json.RawMessage `json:"returned"`
		Threw    string          `json:"threw"`
	} `json:"sdkCallOutcome"`
	Seq        int             `json:"seq"`
	Method     string          `json:"method"`
	URL        string          `json:"url"`
	Provider   string          `json:"provider"`
	Action     string          `json:"action"`
	RawHeaders [][2]string     `json:"rawHeaders"`
	Body       json.RawMessage `json:"body"`
	JWT        *struct {
		Payload json.RawMessage `json:"payload"`
	} `json:"jwt"`
}

// captureDirs are replayed in this order, each against a fresh platform, and
// within a folder in the order the SDK sent them (state builds on itself).
var captureDirs = []string{"neru-alpha-5.1.0", "neru-alpha-5.1.0/prod-mode", "vcr-sdk-1.3.0", "vcr-sdk-1.3.0/prod-mode"}

func loadCaptures(t *testing.T, dir string) []capture {
	t.Helper()
	files, err := fs.Glob(sdkcaptures.FS, dir+"/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no captures in internal/captures/%s (%v)", dir, err)
	}
	var out []capture
	for _, f := range files {
		if filepath.Base(f) == "_index.json" {
			continue
		}
		raw, err := sdkcaptures.FS.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		c := capture{File: strings.TrimSuffix(filepath.Base(f), ".json")}
		if err := json.Unmarshal(raw, &c); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out
}

// TestCaptureReplay sends every captured request of the providers in scope
// to the command endpoint again, exactly as the SDK sent it (method, URL in
// origin or absolute form, headers), except that a captured JWT is replaced by
// one with the same claims signed by the test's key. The reply must be one the
// SDK accepts: 2xx, and for state what §3.1 says the SDK decodes, giving the
// value the SDK call returned when it was captured.
func TestCaptureReplay(t *testing.T) {
	for _, dir := range captureDirs {
		t.Run(dir, func(t *testing.T) {
			captures := loadCaptures(t, dir)
			var skipped []string
			for _, c := range captures {
				if !replayed[c.Provider] {
					why, ok := notReplayed[c.Provider]
					if !ok {
						t.Errorf("%s: unknown provider %q: decide whether to replay it", c.File, c.Provider)
					}
					skipped = append(skipped, c.File+" ("+why+")")
				}
			}
			if len(skipped) > 0 {
				t.Logf("out of scope, not replayed (%d): %s", len(skipped), strings.Join(skipped, ", "))
			}
			// The captures' own identities: the platform must take them from
			// the (re-signed) token, or, for neru in DEBUG mode, from loopback.
			e := start(t, options{InstanceID: "instance-id-0001", ApplicationID: "vonage-app-0001", AccountID: "acc123"})
			for _, c := range captures {
				if replayed[c.Provider] {
					t.Run(c.File, func(t *testing.T) { replay(t, e, c) })
				}
			}
		})
	}
}

func replay(t *testing.T, e *env, c capture) {
	if c.Action == "unsubscribe-event" {
		registerFixture(t, e, c)
	}
	before := len(e.Upstream.Requests())
	status, reply := send(t, e, c)
	if c.Provider == "vonage-api" {
		checkUpstream(t, invokePayload(t, c), e.Upstream.Requests()[before:], status, reply)
		return
	}

	op := ""
	if c.Provider == "client-persistence-api" {
		var cmd struct{ Operation string }
		_ = json.Unmarshal(c.Body, &cmd)
		op = strings.ToUpper(cmd.Operation)
		if strings.HasPrefix(op, "FT.") && (status == 400 || status == 404 || status == 422 || status == 501) {
			t.Logf("%s refused with %d %s: full-text search needs RediSearch (state.ErrUnsupported); the SDK call throws", op, status, reply)
			return
		}
	}
	if status < 200 || status > 299 {
		t.Fatalf("%s %s answered %d %s\nthe SDK call %s would throw AxiosError (when captured it %s)",
			c.Method, c.URL, status, reply, c.SDKCall, c.outcome())
	}
	if c.Provider == "client-persistence-api" {
		checkStateReply(t, c, op, reply)
	}
}

func (c capture) outcome() string {
	switch {
	case c.SDKCallOutcome == nil:
		return "was not recorded"
	case c.SDKCallOutcome.Threw != "":
		return "threw " + c.SDKCallOutcome.Threw
	}
	return "returned " + string(c.SDKCallOutcome.Returned)
}

// send replays c against the command endpoint and returns the reply.
func send(t *testing.T, e *env, c capture) (int, []byte) {
	t.Helper()
	var body io.Reader
	if len(c.Body) > 0 && string(c.Body) != "null" {
		var buf bytes.Buffer
		if err := json.Compact(&buf, c.Body); err != nil { // JSON.stringify's form, byte for byte
			t.Fatal(err)
		}
		body = &buf
	}
	client := &http.Client{Timeout: 30 * time.Second}
	target := e.Command + c.URL
	if strings.HasPrefix(c.URL, "http://") {
		// Production mode as seen through HTTP_PROXY: the request line holds
		// the absolute URI (POST http://vonage-voice.neru/ HTTP/1.1).
		proxy, _ := url.Parse(e.Command)
		client.Transport = &http.Transport{Proxy: http.ProxyURL(proxy)}
		target = c.URL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, c.Method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range c.RawHeaders {
		switch strings.ToLower(h[0]) {
		case "host":
			req.Host = h[1]
		case "content-length":
			// Set by the client from the body.
		case "authorization":
			req.Header.Set(h[0], "Bearer "+resign(t, c))
		default:
			req.Header.Add(h[0], h[1])
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", c.Method, c.URL, err)
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, reply
}

// resign mints a token with the captured claims, fresh times, and the test's
// key (the SDK signs with PRIVATE_KEY; the captured key is not here).
func resign(t *testing.T, c capture) string {
	t.Helper()
	if c.JWT == nil {
		t.Fatalf("%s has an Authorization header but no decoded JWT", c.File)
	}
	var cl struct {
		Aud              string `json:"aud"`
		Iss              string `json:"iss"`
		ApiApplicationID string `json:"api_application_id,omitempty"`
		ApiAccountID     string `json:"api_account_id,omitempty"`
		Exp              int64  `json:"exp"`
		Sub              string `json:"sub,omitempty"`
		Iat              int64  `json:"iat"`
	}
	if err := json.Unmarshal(c.JWT.Payload, &cl); err != nil {
		t.Fatal(err)
	}
	cl.Iat = time.Now().Unix()
	cl.Exp = cl.Iat + 300 // the SDK's lifetime
	return signJWT(t, cl)
}

// registerFixture creates the listener a captured unsubscribe-event removes.
// The captures unsubscribe ids they never registered ("cb-id-to-remove"); the
// request only means something when the listener exists.
func registerFixture(t *testing.T, e *env, c capture) {
	t.Helper()
	var env struct {
		Actions []struct {
			Payload struct{ ID string } `json:"payload"`
		} `json:"actions"`
	}
	if json.Unmarshal(c.Body, &env) != nil || len(env.Actions) != 1 || env.Actions[0].Payload.ID == "" {
		t.Fatalf("%s: not an unsubscribe-event command: %s", c.File, c.Body)
	}
	cb := map[string]any{
		"filters": []any{}, "id": env.Actions[0].Payload.ID, "sessionId": "5b0f5a36-6f0e-4e43-9d43-4f38f8a8c0de",
		"instanceId": e.Inst.ID, "path": "onFixture",
	}
	action, payload := "subscribe-inbound-messages", map[string]any{
		"from": map[string]string{"type": "sms", "number": "447700900098"}, "to": map[string]string{"type": "sms", "number": "447700900099"}, "callback": cb,
	}
	if c.Provider == "vonage-voice" {
		action, payload = "vapi-subscribe-event", map[string]any{"callback": cb, "vapiId": "fixture-call-uuid"}
	}
	body, _ := json.Marshal(payload)
	req, _ := http.NewRequest(http.MethodPost, e.Command+"/"+action+"?func="+c.Provider+".neru&async=false", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Neru-SessionId", cb["sessionId"].(string))
	req.Header.Set("Authorization", "Bearer "+signJWT(t, map[string]any{
		"aud": "provider", "iss": "project-instance", "api_application_id": e.Inst.ApplicationID, "api_account_id": e.Inst.AccountID,
		"exp": time.Now().Unix() + 300, "iat": time.Now().Unix(),
	}))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	reply, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("registering the listener %s that %s removes: %d %s", cb["id"], c.File, resp.StatusCode, reply)
	}
}

// --- client-persistence-api ---

// checkStateReply decodes reply the way the SDK does (§3.1) and compares the
// result with what the SDK call returned when captured.
func checkStateReply(t *testing.T, c capture, op string, reply []byte) {
	t.Helper()
	got, err := sdkDecode(op, reply)
	if err != nil {
		t.Fatalf("%s replied %s: the SDK call %s would throw: %v", op, reply, c.SDKCall, err)
	}
	if c.SDKCallOutcome == nil || c.SDKCallOutcome.Returned == nil {
		return
	}
	var want any
	if err := json.Unmarshal(c.SDKCallOutcome.Returned, &want); err != nil {
		t.Fatal(err)
	}
	var args []any
	var cmd struct{ Args []any }
	if json.Unmarshal(c.Body, &cmd) == nil {
		args = cmd.Args
	}
	switch {
	case op == "EXPIRE" && len(args) > 1:
		// The capture server ignored NX/XX/GT/LT and always said 1; Redis
		// decides by the key's expiry. 0 or 1 are both valid.
		if n, ok := number(got); !ok || (n != 0 && n != 1) {
			t.Errorf("%s %v replied %s, want 0 or 1", op, args, reply)
		}
	case op == "HVALS":
		if !sameMultiset(got, want) {
			t.Errorf("%s: the SDK would return %s, want %s in any order", op, show(got), show(want))
		}
	case op == "HSCAN":
		// The capture server ignored MATCH; Redis filters the fields by it.
		g, w := asSlice(got), asSlice(want)
		if pattern := matchArg(args); pattern != "" && len(w) == 2 {
			w = []any{w[0], filterPairs(asSlice(w[1]), pattern)}
		}
		if len(g) != 2 || len(w) != 2 || !looseEqual(g[0], w[0]) || !samePairs(g[1], w[1]) {
			t.Errorf("%s: the SDK would return %s, want %s (pairs in any order)", op, show(got), show(want))
		}
	case strings.HasPrefix(op, "FT."):
		t.Logf("%s accepted: the SDK returns %s", op, show(got))
	default:
		if !looseEqual(got, want) {
			t.Errorf("%s: the SDK call %s would return %s (reply %s), but returned %s when captured", op, c.SDKCall, show(got), reply, show(want))
		}
	}
}

// sdkDecode is what both SDKs do with a state reply: axios parses the body as
// JSON when it can (else keeps the text), then the State method post-processes
// it. A reply the SDK cannot use is an error, as the SDK would throw (or, for
// HGETALL, silently return {}).
func sdkDecode(op string, reply []byte) (any, error) {
	var data any = string(reply)
	if json.Valid(reply) {
		_ = json.Unmarshal(reply, &data)
	}
	switch op {
	case "GET", "LINDEX":
		if data == nil || data == "" {
			return nil, nil
		}
		return jsonParse(data)
	case "INCRBY", "DECRBY":
		return jsonParse(data)
	case "HGETALL":
		flat, ok := data.([]any)
		if !ok {
			return nil, fmt.Errorf("HGETALL must reply with a flat [field, value, ...] array; the SDK turns %T into {}", data)
		}
		m := map[string]any{}
		for i := 0; i+1 < len(flat); i += 2 {
			m[fmt.Sprint(flat[i])] = flat[i+1]
		}
		return m, nil
	case "HMGET", "HVALS":
		if _, ok := data.([]any); !ok {
			return nil, fmt.Errorf("%s must reply with an array, got %T", op, data)
		}
		return data, nil
	case "LRANGE", "LPOP", "RPOP":
		if data == nil {
			return []any{}, nil
		}
		list, ok := data.([]any)
		if !ok {
			return nil, fmt.Errorf("%s must reply with an array of JSON texts (or null), got %T", op, data)
		}
		out := make([]any, len(list))
		for i, el := range list {
			v, err := jsonParse(el)
			if err != nil {
				return nil, fmt.Errorf("element %d: %w", i, err)
			}
			out[i] = v
		}
		return out, nil
	}
	return data, nil
}

// jsonParse is JavaScript's JSON.parse(v) for a value axios produced.
func jsonParse(v any) (any, error) {
	switch x := v.(type) {
	case string:
		var out any
		if err := json.Unmarshal([]byte(x), &out); err != nil {
			return nil, fmt.Errorf("SyntaxError: JSON.parse(%q): %v", x, err)
		}
		return out, nil
	case float64, bool, nil:
		return x, nil // JSON.parse(String(x)) gives x back
	}
	return nil, fmt.Errorf("SyntaxError: JSON.parse of a %T (%s) parses its string form, which is not JSON", v, show(v))
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case string:
		n, err := strconv.ParseFloat(x, 64)
		return n, err == nil
	}
	return 0, false
}

// looseEqual is deep equality where an integer may also come as a numeric
// string (the SDK passes most integer replies through as-is, §10).
func looseEqual(a, b any) bool {
	if x, ok := number(a); ok {
		if y, ok := number(b); ok {
			_, as := a.(string)
			_, bs := b.(string)
			return x == y && (as == bs || isInt(x))
		}
	}
	switch x := a.(type) {
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !looseEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k := range x {
			if !looseEqual(x[k], y[k]) {
				return false
			}
		}
		return true
	}
	return show(a) == show(b)
}

func isInt(f float64) bool { return f == float64(int64(f)) }

func asSlice(v any) []any { s, _ := v.([]any); return s }

func sameMultiset(a, b any) bool {
	x, y := asSlice(a), asSlice(b)
	if x == nil || y == nil || len(x) != len(y) {
		return false
	}
	xs, ys := make([]string, len(x)), make([]string, len(y))
	for i := range x {
		xs[i], ys[i] = show(x[i]), show(y[i])
	}
	slices.Sort(xs)
	slices.Sort(ys)
	return slices.Equal(xs, ys)
}

func samePairs(a, b any) bool {
	pairs := func(v any) []any {
		s := asSlice(v)
		out := make([]any, 0, len(s)/2)
		for i := 0; i+1 < len(s); i += 2 {
			out = append(out, show(s[i])+"="+show(s[i+1]))
		}
		if len(s)%2 != 0 {
			return nil
		}
		return out
	}
	return sameMultiset(pairs(a), pairs(b))
}

// matchArg is the pattern after MATCH in HSCAN args ("" if none).
func matchArg(args []any) string {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "MATCH" {
			p, _ := args[i+1].(string)
			return p
		}
	}
	return ""
}

// filterPairs keeps the field/value pairs whose field matches a Redis glob
// (path.Match covers the patterns in the captures).
func filterPairs(flat []any, pattern string) []any {
	var out []any
	for i := 0; i+1 < len(flat); i += 2 {
		if ok, _ := path.Match(pattern, fmt.Sprint(flat[i])); ok {
			out = append(out, flat[i], flat[i+1])
		}
	}
	return out
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// --- vonage-api ---

// apiInvoke is what the app asked vonage-api to call.
type apiInvoke struct {
	URL    string          `json:"url"`
	Method string          `json:"method"`
	Body   json.RawMessage `json:"body"`
}

func invokePayload(t *testing.T, c capture) apiInvoke {
	t.Helper()
	var p apiInvoke
	var env struct {
		Actions []struct {
			Payload apiInvoke `json:"payload"`
		} `json:"actions"`
	}
	if json.Unmarshal(c.Body, &env) == nil && len(env.Actions) == 1 {
		p = env.Actions[0].Payload // neru: Command envelope
	} else if err := json.Unmarshal(c.Body, &p); err != nil { // vcr: POST /invoke
		t.Fatalf("%s: %v", c.File, err)
	}
	if p.URL == "" || p.Method == "" {
		t.Fatalf("%s: no url or method in %s", c.File, c.Body)
	}
	return p
}

// checkUpstream: vonage-api made exactly the call the app asked for, to the
// host it named, and relayed the upstream status and body unchanged (the SDK
// returns that body to the app). A non-2xx the fake Vonage API gave for an
// endpoint it does not implement is relayed like any other; it is noted, not
// failed, because it says nothing about the platform.
func checkUpstream(t *testing.T, p apiInvoke, got []fakevonage.Request, status int, reply []byte) {
	t.Helper()
	u, err := url.Parse(p.URL)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("%s %s: vonage-api answered %d %s and the fake Vonage API got %d requests, want 1: %s",
			p.Method, p.URL, status, reply, len(got), describe(got))
	}
	r := got[0]
	if r.Method != strings.ToUpper(p.Method) || r.Host != u.Hostname() || r.Path != u.Path || r.Query != u.RawQuery {
		t.Errorf("upstream got %s %s%s?%s, want %s %s%s?%s", r.Method, r.Host, r.Path, r.Query, strings.ToUpper(p.Method), u.Hostname(), u.Path, u.RawQuery)
	}
	if len(p.Body) > 0 && string(p.Body) != "null" && !jsonEqual(r.Body, p.Body) {
		t.Errorf("upstream body %s, want the app's %s", r.Body, p.Body)
	}
	if status != r.Status {
		t.Fatalf("vonage-api answered %d %s, but the upstream answered %d %s", status, reply, r.Status, r.Response)
	}
	if len(r.Response) == 0 {
		if len(bytes.TrimSpace(reply)) != 0 {
			t.Errorf("the upstream answered no body, the app got %s", reply)
		}
	} else if !jsonEqual(reply, r.Response) {
		t.Errorf("the app got %s, want the upstream body %s unchanged", reply, r.Response)
	}
	if status < 200 || status > 299 {
		t.Logf("relayed faithfully, but the fake Vonage API answered %d for %s %s%s: it does not implement that endpoint", status, r.Method, r.Host, r.Path)
	}
}
