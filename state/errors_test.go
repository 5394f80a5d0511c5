package state

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestBadInput: every client mistake is its sentinel and changes nothing,
// in session namespaces (Lua) and others (plain commands) alike.
func TestBadInput(t *testing.T) {
	t.Parallel()
	manyArgs := "[" + strings.Repeat(`"a",`, MaxArgs) + `"a"]`
	cases := []struct {
		op, key, args string
		want          error
	}{
		{"FLUSHALL", "k", `[]`, ErrUnknownOperation},
		{"EVAL", "k", `["return 1","0"]`, ErrUnknownOperation},
		{"KEYS", "k", `[]`, ErrUnknownOperation},
		{"", "k", `[]`, ErrBadArgs},
		{"FT.CREATE", "idx", `["ON","HASH","SCHEMA","name","TEXT"]`, ErrUnsupported},
		{"FT.SEARCH", "idx", `["@name:alice"]`, ErrUnsupported},
		{"FT.DROPINDEX", "idx", `["DD"]`, ErrUnsupported},

		{"SET", "k", `[]`, ErrBadArgs},
		{"SET", "k", `[null]`, ErrBadArgs},
		{"SET", "k", `["1","EX","10"]`, ErrBadArgs},
		{"SET", "", `["1"]`, ErrBadArgs},
		{"SET", strings.Repeat("k", MaxKeyLen+1), `["1"]`, ErrBadArgs},
		{"SET", "k", `[{"a":1}]`, ErrBadArgs},
		{"GET", "k", `["extra"]`, ErrBadArgs},
		{"INCRBY", "k", `["abc"]`, ErrBadArgs},
		{"INCRBY", "k", `["1.5"]`, ErrBadArgs},
		{"INCRBY", "k", `["99999999999999999999"]`, ErrBadArgs},
		{"EXPIRE", "k", `["60","KEEPTTL"]`, ErrBadArgs},
		{"EXPIRE", "k", `["soon"]`, ErrBadArgs},
		{"EXPIRE", "k", `["60","NX","GT"]`, ErrBadArgs},
		{"HSET", "h", `["f"]`, ErrBadArgs},
		{"HSET", "h", `[]`, ErrBadArgs},
		{"HSET", "h", `["f",null]`, ErrBadArgs},
		{"HMGET", "h", `[]`, ErrBadArgs},
		{"HINCRBY", "h", `["f","x"]`, ErrBadArgs},
		{"HSCAN", "h", `[]`, ErrBadArgs},
		{"HSCAN", "h", `["-1"]`, ErrBadArgs},
		{"HSCAN", "h", `["0","MATCH"]`, ErrBadArgs},
		{"HSCAN", "h", `["0","NOVALUES","x"]`, ErrBadArgs},
		{"HSCAN", "h", `["0","COUNT","0"]`, ErrBadArgs},
		{"HSCAN", "h", `["0",null,"f*"]`, ErrBadArgs},
		{"LPOP", "l", `["-1"]`, ErrBadArgs},
		{"LRANGE", "l", `["0"]`, ErrBadArgs},
		{"LINSERT", "l", `["MIDDLE","a","b"]`, ErrBadArgs},
		{"RPUSH", "l", manyArgs, ErrBadArgs},

		// Arguments that Redis rejects for the data it holds.
		{"LSET", "l", `["5","z"]`, ErrBadArgs},
		{"LSET", "nokey", `["0","z"]`, ErrBadArgs},
		{"INCRBY", "big", `["1"]`, ErrBadArgs},

		// WRONGTYPE, and values that are not numbers.
		{"HSET", "str", `["f","v"]`, ErrWrongType},
		{"RPUSH", "str", `["a"]`, ErrWrongType},
		{"LPOP", "str", `["1"]`, ErrWrongType},
		{"GET", "l", `[]`, ErrWrongType},
		{"HGETALL", "l", `[]`, ErrWrongType},
		{"INCRBY", "str", `["1"]`, ErrWrongType},
		{"HINCRBY", "h", `["f","1"]`, ErrWrongType},
	}
	for _, ns := range []string{"state:S", "state:" + globalSession, "application:x", "my-ns"} {
		t.Run(ns, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.exec(tenantA, "SET", ns, "str", `["\"text\""]`)
			e.exec(tenantA, "SET", ns, "big", `["9223372036854775807"]`)
			e.exec(tenantA, "HSET", ns, "h", `["f","v"]`)
			e.exec(tenantA, "RPUSH", ns, "l", `["a"]`)
			// The session's end moves, so a failed write that still ran the
			// expiry step would show in the snapshot.
			e.end = e.end.Add(time.Minute)
			before := e.snapshot()
			for _, c := range cases {
				name := fmt.Sprintf("%s %q %.40s", c.op, c.key, c.args)
				err := e.execErr(tenantA, c.op, ns, c.key, c.args)
				if !errors.Is(err, c.want) {
					t.Errorf("%s: err = %v, want %v", name, err, c.want)
				}
				if c.want != ErrBadArgs && !strings.Contains(err.Error(), c.op) {
					t.Errorf("%s: error %q does not name the operation", name, err)
				}
				if after := e.snapshot(); fmt.Sprint(after) != fmt.Sprint(before) {
					t.Errorf("%s changed Redis:\nbefore %v\nafter  %v", name, before, after)
				}
			}
		})
	}
}

// TestBadNamespace: namespaces that name nothing, or too much.
func TestBadNamespace(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, ns := range []string{"", "state:", strings.Repeat("n", MaxNamespaceLen+1)} {
		if err := e.execErr(tenantA, "SET", ns, "k", `["1"]`); !errors.Is(err, ErrBadArgs) {
			t.Errorf("namespace %.20q: err = %v, want ErrBadArgs", ns, err)
		}
	}
	if got := e.snapshot(); len(got) != 0 {
		t.Errorf("bad namespaces wrote %v", got)
	}
}
