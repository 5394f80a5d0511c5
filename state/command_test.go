package state

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDecodeCommand(t *testing.T) {
	t.Parallel()
	s := func(v string) *string { return &v }
	cases := []struct {
		body string
		want Args
	}{
		{`{"operation":"GET","namespace":"account","key":"k","args":[]}`, Args{}},
		{`{"operation":"GET","namespace":"account","key":"k"}`, nil},
		{`{"operation":"GET","namespace":"account","key":"k","args":null}`, nil},
		{`{"operation":"HSCAN","namespace":"n","key":"h","args":["0","MATCH",null,"COUNT",null]}`,
			Args{s("0"), s("MATCH"), nil, s("COUNT"), nil}},
		{`{"operation":"HSET","namespace":"n","key":"h","args":["n", 7, "f", -1.5e+21, "b", true, "c", false]}`,
			Args{s("n"), s("7"), s("f"), s("-1.5e+21"), s("b"), s("true"), s("c"), s("false")}},
		{`{"operation":"SET","namespace":"n","key":"k","args":["\"\u00e9<&>\""],"extra":1}`, Args{s(`"é<&>"`)}},
	}
	for _, c := range cases {
		cmd, err := DecodeCommand([]byte(c.body))
		if err != nil {
			t.Errorf("%s: %v", c.body, err)
			continue
		}
		if !reflect.DeepEqual(cmd.Args, c.want) {
			t.Errorf("%s: args = %s, want %s", c.body, show(cmd.Args), show(c.want))
		}
	}

	for _, body := range []string{
		``, `null x`, `[]`, `"GET"`, `{"operation":1}`, `{"args":"x"}`, `{"args":{}}`,
		`{"args":[{"a":1}]}`, `{"args":[["a"]]}`, `{"operation":"GET"}{}`,
	} {
		if _, err := DecodeCommand([]byte(body)); !errors.Is(err, ErrBadArgs) {
			t.Errorf("%q: err = %v, want ErrBadArgs", body, err)
		}
	}
}

func show(a Args) string {
	b, _ := json.Marshal(a)
	return string(b)
}

// FuzzDecodeCommand: any body either decodes or is ErrBadArgs, without
// panicking. A decoded command survives a round trip, and checking it
// (everything before Redis) does not panic either.
func FuzzDecodeCommand(f *testing.F) {
	for _, sdk := range []string{"neru-alpha-5.1.0", "vcr-sdk-1.3.0"} {
		for _, c := range loadCaptures(f, sdk) {
			b, _ := json.Marshal(c.Body)
			f.Add(b)
		}
	}
	for _, seed := range []string{
		`{"operation":"HSET","namespace":"state:x}y","key":"h","args":["a",1,"b",true,"c",null]}`,
		`{"operation":"HSCAN","namespace":"my-ns","key":"h","args":["0","MATCH",null,"COUNT",null]}`,
		`{"operation":"EXPIRE","namespace":"account","key":"k","args":["60",null]}`,
		`{"operation":"lpop","namespace":"application:","key":"{","args":["-0"]}`,
		`{"operation":"FT.SEARCH","namespace":"state:","key":"","args":[1e400]}`,
		`{"args":["\ud800"]}`,
		`null`,
	} {
		f.Add([]byte(seed))
	}
	store := NewStore(nil, "fz:", SessionTTLFunc(func(context.Context, string, string) (time.Time, bool, error) {
		return time.Time{}, false, nil
	}))
	f.Fuzz(func(t *testing.T, body []byte) {
		cmd, err := DecodeCommand(body)
		if err != nil {
			if !errors.Is(err, ErrBadArgs) {
				t.Fatalf("err = %v, want ErrBadArgs", err)
			}
			return
		}
		again, err := json.Marshal(cmd)
		if err != nil {
			t.Fatal(err)
		}
		cmd2, err := DecodeCommand(again)
		if err != nil || !reflect.DeepEqual(cmd, cmd2) {
			t.Fatalf("round trip %s: %+v, %v; want %+v", again, cmd2, err, cmd)
		}
		c, err := store.prepare(tenantA, cmd)
		if err != nil {
			if !isClientErr(err) {
				t.Fatalf("prepare: %v is not a client error", err)
			}
			return
		}
		// The key is tenant A's: its hash tag names the tenant and ends at
		// the first '}', right before ":<key>".
		tag, rest, ok := strings.Cut(c.key, "}")
		if !ok || rest != ":"+cmd.Key || !(strings.HasPrefix(tag, "fz:st:{inst-a:") || tag == "fz:st:{acct:acc-a") {
			t.Fatalf("key %q is not tenant A's key %q", c.key, cmd.Key)
		}
	})
}
