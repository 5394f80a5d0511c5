package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"reflect"
	"sort"
	"strings"
	"testing"

	sdkcaptures "github.com/neru-dev/neru/internal/captures"
)

// captures holds the client-persistence-api requests the real SDKs sent,
// from internal/captures (protocol §9).
var captures = sdkcaptures.FS

type capture struct {
	file    string
	Seq     int     `json:"seq"`
	SDKCall string  `json:"sdkCall"`
	Body    Command `json:"body"`
	Outcome struct {
		Returned json.RawMessage `json:"returned"`
	} `json:"sdkCallOutcome"`
}

// loadCaptures returns one SDK's captures in the order it sent them.
func loadCaptures(t testing.TB, sdk string) []capture {
	t.Helper()
	dir := sdk
	entries, err := captures.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []capture
	for _, e := range entries {
		if e.IsDir() || !strings.HasPrefix(e.Name(), "client-persistence-api-") {
			continue
		}
		b, err := captures.ReadFile(path.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		c := capture{file: e.Name()}
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out
}

// TestSDKCaptures replays every state request of both SDKs, in the order
// they sent them, as the tenant of the capture environment. Each reply must
// decode the way the SDK decodes it (protocol §3.1) to what the SDK returned
// to the app. The exceptions are the few calls where the capture server's
// canned reply is not what Redis says. Those are listed with the reason.
func TestSDKCaptures(t *testing.T) {
	t.Parallel()
	// The capture environment (protocol §9.1).
	tenant := Tenant{AccountID: "acc123", InstanceID: "instance-id-0001"}
	redisSays := map[string]string{
		// The previous call, EXPIRE 3600, gave the key a TTL, so NX does not apply.
		"neru-alpha-5.1.0/client-persistence-api-EXPIRE--state.expire_NX.json": `0`,
		// The app never set a TTL, and GT counts "no TTL" as infinite.
		"vcr-sdk-1.3.0/client-persistence-api-EXPIRE.json": `0`,
		// MATCH f* leaves out the field "cnt".
		"neru-alpha-5.1.0/client-persistence-api-HSCAN.json":             `["0",["f1","v1","f2","v2"]]`,
		"vcr-sdk-1.3.0/client-persistence-api-HSCAN--state.mapScan.json": `["0",["f1","v1","f2","v2"]]`,
	}
	for _, sdk := range []string{"neru-alpha-5.1.0", "vcr-sdk-1.3.0"} {
		t.Run(sdk, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			caps := loadCaptures(t, sdk)
			if len(caps) < 30 {
				t.Fatalf("only %d captures", len(caps))
			}
			for _, c := range caps {
				name := sdk + "/" + c.file
				reply, err := e.store.Exec(e.ctx, tenant, c.Body)
				if strings.HasPrefix(c.Body.Operation, "FT.") {
					if !errors.Is(err, ErrUnsupported) {
						t.Errorf("%s: err = %v, want ErrUnsupported", name, err)
					}
					continue
				}
				if err != nil {
					t.Errorf("%s: %v", name, err)
					continue
				}
				got, err := sdkDecode(c.Body.Operation, reply)
				if err != nil {
					t.Errorf("%s: the SDK (%s) would throw on %s: %v", name, c.SDKCall, reply, err)
					continue
				}
				want := decodeJSON(t, c.Outcome.Returned)
				if r, ok := redisSays[name]; ok {
					want, _ = sdkDecode(c.Body.Operation, json.RawMessage(r))
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s: the SDK (%s) returns %v from %s, want %v", name, c.SDKCall, got, reply, want)
				}
			}
		})
	}
}

// sdkDecode does what the SDKs' State methods do with a reply body (protocol
// §3.1). axios JSON.parses the body. get, lindex, incrby and decrby
// JSON.parse the result again. hgetall folds the flat array into an object.
// lrange, lpop and rpop JSON.parse every element. Other methods return it as
// it is. An error is where the SDK would throw.
func sdkDecode(op string, body []byte) (any, error) {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, fmt.Errorf("axios would return raw text: %w", err)
	}
	switch op {
	case "GET", "LINDEX":
		if v == nil || v == "" {
			return nil, nil
		}
		return jsonParse(v)
	case "INCRBY", "DECRBY":
		return jsonParse(v)
	case "HGETALL":
		flat, ok := v.([]any)
		if !ok || len(flat)%2 != 0 {
			return nil, fmt.Errorf("not a flat field/value array: %s", body)
		}
		obj := map[string]any{}
		for i := 0; i < len(flat); i += 2 {
			obj[fmt.Sprint(flat[i])] = flat[i+1]
		}
		return obj, nil
	case "LRANGE", "LPOP", "RPOP":
		if v == nil {
			return []any{}, nil
		}
		list, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("not an array: %s", body)
		}
		out := make([]any, len(list))
		for i, e := range list {
			p, err := jsonParse(e)
			if err != nil {
				return nil, err
			}
			out[i] = p
		}
		return out, nil
	}
	return v, nil
}

// jsonParse is JavaScript's JSON.parse(x): x is turned into a string first,
// so a number parses to itself.
func jsonParse(x any) (any, error) {
	switch x := x.(type) {
	case string:
		var v any
		if err := json.Unmarshal([]byte(x), &v); err != nil {
			return nil, fmt.Errorf("SyntaxError: %q is not valid JSON", x)
		}
		return v, nil
	case float64:
		return x, nil
	}
	return nil, fmt.Errorf("SyntaxError: JSON.parse(%v)", x)
}

func decodeJSON(t testing.TB, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}
