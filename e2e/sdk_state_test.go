package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/neru-dev/neru/sdk"
)

// Every state operation of the Go SDK against the platform, in a session,
// and the same encoding as the JS SDKs: what one writes, the other reads.
func TestSDKState(t *testing.T) {
	h := start(t)
	ctx := context.Background()
	s := h.sdk.NewSession()
	st := s.State()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	eq := func(what string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s = %#v, want %#v", what, got, want)
		}
	}

	// Strings.
	type doc struct {
		Hello string `json:"hello"`
		N     int    `json:"n"`
	}
	must(st.Set(ctx, "k", doc{"world", 1}))
	var d doc
	found, err := st.Get(ctx, "k", &d)
	must(err)
	eq("Get", d, doc{"world", 1})
	eq("found", found, true)
	// Stored as the JS SDK stores it: the GET capture's reply, byte for byte.
	eq("wire", h.stateGet(tenantOf(h.inst), st.Namespace, "k"), loadCapture(t, "neru-alpha-5.1.0/client-persistence-api-GET--state.get.json").Response.Wire)
	found, err = st.Get(ctx, "missing", &d)
	must(err)
	eq("Get missing", found, false)
	n, err := st.IncrBy(ctx, "n", 5)
	must(err)
	eq("IncrBy", n, int64(5))
	n, err = st.DecrBy(ctx, "n", 2)
	must(err)
	eq("DecrBy", n, int64(3))
	ok, err := st.Expire(ctx, "n", 3600, "")
	must(err)
	eq("Expire", ok, true)
	ok, err = st.Expire(ctx, "n", 60, "NX")
	must(err)
	eq("Expire NX", ok, false)
	n, err = st.Delete(ctx, "n")
	must(err)
	eq("Delete", n, int64(1))

	// Hashes.
	n, err = st.HSet(ctx, "h", map[string]string{"f1": "v1", "f2": "v2"})
	must(err)
	eq("HSet", n, int64(2))
	v, ok, err := st.HGet(ctx, "h", "f1")
	must(err)
	eq("HGet", []any{v, ok}, []any{"v1", true})
	_, ok, err = st.HGet(ctx, "h", "nope")
	must(err)
	eq("HGet missing", ok, false)
	n, err = st.HIncrBy(ctx, "h", "cnt", 3)
	must(err)
	eq("HIncrBy", n, int64(3))
	all, err := st.HGetAll(ctx, "h")
	must(err)
	eq("HGetAll", all, map[string]string{"f1": "v1", "f2": "v2", "cnt": "3"})
	m, err := st.HMGet(ctx, "h", "f1", "nope")
	must(err)
	if len(m) != 2 || m[0] == nil || *m[0] != "v1" || m[1] != nil {
		t.Fatalf("HMGet = %v", m)
	}
	vals, err := st.HVals(ctx, "h")
	must(err)
	eq("HVals", len(vals), 3)
	ok, err = st.HExists(ctx, "h", "f2")
	must(err)
	eq("HExists", ok, true)
	n, err = st.HLen(ctx, "h")
	must(err)
	eq("HLen", n, int64(3))
	next, fields, err := st.HScan(ctx, "h", "0", "f*", 10)
	must(err)
	eq("HScan", []any{next, fields}, []any{"0", map[string]string{"f1": "v1", "f2": "v2"}})
	n, err = st.HDel(ctx, "h", "f2", "nope")
	must(err)
	eq("HDel", n, int64(1))

	// Lists of JSON values.
	for i := range 3 {
		_, err := st.RPush(ctx, "l", map[string]int{"i": i})
		must(err)
	}
	n, err = st.LPush(ctx, "l", "head")
	must(err)
	eq("LPush", n, int64(4))
	n, err = st.LLen(ctx, "l")
	must(err)
	eq("LLen", n, int64(4))
	r, err := st.LRange(ctx, "l", 0, -1)
	must(err)
	eq("LRange", raws(r), []string{`"head"`, `{"i":0}`, `{"i":1}`, `{"i":2}`})
	n, err = st.LInsert(ctx, "l", true, map[string]int{"i": 1}, "before-1")
	must(err)
	eq("LInsert", n, int64(5))
	must(st.LSet(ctx, "l", 0, "HEAD"))
	var el string
	found, err = st.LIndex(ctx, "l", 0, &el)
	must(err)
	eq("LIndex", []any{el, found}, []any{"HEAD", true})
	found, err = st.LIndex(ctx, "l", 99, &el)
	must(err)
	eq("LIndex out of range", found, false)
	n, err = st.LRem(ctx, "l", "before-1", 0)
	must(err)
	eq("LRem", n, int64(1))
	r, err = st.LPop(ctx, "l", 1)
	must(err)
	eq("LPop", raws(r), []string{`"HEAD"`})
	r, err = st.RPop(ctx, "l", 2)
	must(err)
	eq("RPop", raws(r), []string{`{"i":2}`, `{"i":1}`})
	must(st.LTrim(ctx, "l", 1, -1))
	r, err = st.LPop(ctx, "l", 5)
	must(err)
	eq("LPop of an empty list", len(r), 0)

	// Instance and account state: the global session, shared by every
	// session of the instance (and, for the account, the account).
	must(h.sdk.InstanceState().Set(ctx, "iv", "instance-value"))
	must(h.sdk.AccountState().Set(ctx, "av", 42))
	eq("instance state wire", h.stateGet(tenantOf(h.inst), "application:whatever", "iv"),
		loadCapture(t, "neru-alpha-5.1.0/client-persistence-api-GET--instanceState.get.json").Response.Wire)
	var av int
	found, err = h.sdk.AccountState().Get(ctx, "av", &av)
	must(err)
	eq("account state", []any{av, found}, []any{42, true})

	// Errors are typed.
	must(st.Set(ctx, "str", "x"))
	_, err = st.HSet(ctx, "str", map[string]string{"f": "v"})
	var e *sdk.Error
	if !asErr(err, &e) || e.Status != 409 || e.Code != "wrong_type" {
		t.Fatalf("HSET on a string: %v", err)
	}
}

// A JWT-signing Go SDK client (Config.PrivateKey) acts as its instance.
func TestSDKSignsItsToken(t *testing.T) {
	h := start(t)
	tn := h.addTenant("inst-go", "app-go", "acct-go")
	c := tn.client(h)
	if err := c.NewSession().State().Set(context.Background(), "who", "go"); err != nil {
		t.Fatal(err)
	}
	if err := c.AccountState().Set(context.Background(), "who", "go"); err != nil {
		t.Fatal(err)
	}
	if got := h.stateGet(tenantOf(tn.inst), "account", "who"); got != `"\"go\""` {
		t.Fatalf("account state of acct-go: %s", got)
	}
	// A wrong key is refused.
	bad := sdk.New(sdk.Config{Endpoint: h.command.URL, ApplicationID: "app-go", PrivateKey: privatePEM(t, testKey(t, "intruder"))})
	err := bad.AccountState().Set(context.Background(), "who", "intruder")
	var e *sdk.Error
	if !asErr(err, &e) || e.Status != 401 {
		t.Fatalf("wrong key: %v", err)
	}
}

func raws(r []json.RawMessage) []string {
	out := make([]string, len(r))
	for i, x := range r {
		out[i] = string(x)
	}
	return out
}

func asErr(err error, target **sdk.Error) bool { return errors.As(err, target) }
