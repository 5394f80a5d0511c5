package state

import (
	"strings"
	"testing"
)

// step is one command on key "k" and its exact reply body. args is the JSON
// args array as an SDK sends it.
type step struct{ op, args, want string }

// TestOps pins the exact reply bytes of every operation. Each case runs in
// every kind of namespace. Session writes go through a Lua script and the rest
// through plain commands, and both must answer the same bytes.
func TestOps(t *testing.T) {
	t.Parallel()
	namespaces := []string{"state:sess-1", "state:" + globalSession, "application:x", "account", "my-ns"}
	cases := []struct {
		name  string
		steps []step
	}{
		{"SET then GET", []step{{"SET", `["{\"a\":1}"]`, `"OK"`}, {"GET", `[]`, `"{\"a\":1}"`}}},
		{"GET keeps the text unescaped", []step{{"SET", `["\"<a&b>\""]`, `"OK"`}, {"GET", `[]`, `"\"<a&b>\""`}}},
		{"GET missing", []step{{"GET", `[]`, `null`}}},
		{"SET overwrites", []step{{"SET", `["1"]`, `"OK"`}, {"SET", `["2"]`, `"OK"`}, {"GET", `[]`, `"2"`}}},
		{"DEL", []step{{"SET", `["1"]`, `"OK"`}, {"DEL", `[]`, `1`}, {"DEL", `[]`, `0`}, {"GET", `[]`, `null`}}},

		{"INCRBY", []step{{"INCRBY", `["5"]`, `5`}, {"INCRBY", `["-3"]`, `2`}, {"GET", `[]`, `"2"`}}},
		{"INCRBY number arg", []step{{"INCRBY", `[5]`, `5`}}},
		{"DECRBY", []step{{"SET", `["10"]`, `"OK"`}, {"DECRBY", `["2"]`, `8`}}},

		{"EXPIRE missing", []step{{"EXPIRE", `["60"]`, `0`}}},
		{"EXPIRE", []step{{"SET", `["1"]`, `"OK"`}, {"EXPIRE", `["3600"]`, `1`}}},
		{"EXPIRE NX", []step{{"SET", `["1"]`, `"OK"`}, {"EXPIRE", `["60","NX"]`, `1`}, {"EXPIRE", `["30","NX"]`, `0`}}},
		{"EXPIRE XX", []step{{"SET", `["1"]`, `"OK"`}, {"EXPIRE", `["60","XX"]`, `0`}, {"EXPIRE", `["60"]`, `1`}, {"EXPIRE", `["30","XX"]`, `1`}}},
		{"EXPIRE GT", []step{{"SET", `["1"]`, `"OK"`}, {"EXPIRE", `["60","GT"]`, `0`}, {"EXPIRE", `["60"]`, `1`}, {"EXPIRE", `["120","GT"]`, `1`}, {"EXPIRE", `["30","GT"]`, `0`}}},
		{"EXPIRE LT", []step{{"SET", `["1"]`, `"OK"`}, {"EXPIRE", `["60","lt"]`, `1`}, {"EXPIRE", `["120","LT"]`, `0`}}},
		{"EXPIRE null option", []step{{"SET", `["1"]`, `"OK"`}, {"EXPIRE", `["60",null]`, `1`}}},
		{"EXPIRE 0 deletes", []step{{"SET", `["1"]`, `"OK"`}, {"EXPIRE", `["0"]`, `1`}, {"GET", `[]`, `null`}}},

		{"HSET", []step{{"HSET", `["f1","v1","f2","v2"]`, `2`}, {"HSET", `["f1","w"]`, `0`}}},
		{"HSET raw values", []step{{"HSET", `["n",7,"b",true,"f",1.5]`, `3`}, {"HGETALL", `[]`, `["b","true","f","1.5","n","7"]`}}},
		{"HGET", []step{{"HSET", `["f1","v1"]`, `1`}, {"HGET", `["f1"]`, `"v1"`}, {"HGET", `["nope"]`, `null`}}},
		{"HGETALL", []step{{"HSET", `["f1","v1","f2","v2"]`, `2`}, {"HGETALL", `[]`, `["f1","v1","f2","v2"]`}}},
		{"HGETALL missing", []step{{"HGETALL", `[]`, `[]`}}},
		{"HMGET", []step{{"HSET", `["f1","v1","f2","v2"]`, `2`}, {"HMGET", `["f1","nope","f2"]`, `["v1",null,"v2"]`}}},
		{"HVALS", []step{{"HSET", `["f1","v1","f2","v2"]`, `2`}, {"HVALS", `[]`, `["v1","v2"]`}}},
		{"HEXISTS", []step{{"HSET", `["f1","v1"]`, `1`}, {"HEXISTS", `["f1"]`, `1`}, {"HEXISTS", `["nope"]`, `0`}}},
		{"HDEL", []step{{"HSET", `["f1","v1","f2","v2"]`, `2`}, {"HDEL", `["f1","nope"]`, `1`}, {"HDEL", `["f2"]`, `1`}, {"HLEN", `[]`, `0`}}},
		{"HINCRBY", []step{{"HINCRBY", `["cnt","3"]`, `3`}, {"HINCRBY", `["cnt","-1"]`, `2`}, {"HGET", `["cnt"]`, `"2"`}}},
		{"HLEN", []step{{"HSET", `["f1","v1","f2","v2"]`, `2`}, {"HLEN", `[]`, `2`}}},
		{"HSCAN", []step{
			{"HSET", `["f1","v1","f2","v2","cnt","3"]`, `3`},
			{"HSCAN", `["0","MATCH","f*","COUNT","10"]`, `["0",["f1","v1","f2","v2"]]`},
			{"HSCAN", `["0","MATCH",null,"COUNT",null]`, `["0",["f1","v1","f2","v2","cnt","3"]]`},
			{"HSCAN", `["0","MATCH","c*"]`, `["0",["cnt","3"]]`},
			{"HSCAN", `["0","count","10"]`, `["0",["f1","v1","f2","v2","cnt","3"]]`},
			{"HSCAN", `["0"]`, `["0",["f1","v1","f2","v2","cnt","3"]]`},
		}},
		{"HSCAN missing", []step{{"HSCAN", `["0"]`, `["0",[]]`}}},

		{"RPUSH", []step{{"RPUSH", `["a"]`, `1`}, {"RPUSH", `["b","c"]`, `3`}, {"LRANGE", `["0","-1"]`, `["a","b","c"]`}}},
		{"LPUSH", []step{{"LPUSH", `["a"]`, `1`}, {"LPUSH", `["b"]`, `2`}, {"LRANGE", `["0","-1"]`, `["b","a"]`}}},
		{"LLEN", []step{{"LLEN", `[]`, `0`}, {"RPUSH", `["a","b"]`, `2`}, {"LLEN", `[]`, `2`}}},
		{"LRANGE", []step{{"RPUSH", `["{\"i\":0}","{\"i\":1}"]`, `2`}, {"LRANGE", `["0","-1"]`, `["{\"i\":0}","{\"i\":1}"]`}, {"LRANGE", `["1","1"]`, `["{\"i\":1}"]`}}},
		{"LRANGE missing", []step{{"LRANGE", `["0","-1"]`, `[]`}}},
		{"LPOP", []step{{"RPUSH", `["a","b","c","d"]`, `4`}, {"LPOP", `["1"]`, `["a"]`}, {"LPOP", `["2"]`, `["b","c"]`}, {"LPOP", `[]`, `"d"`}, {"LPOP", `["1"]`, `null`}}},
		{"RPOP", []step{{"RPUSH", `["a","b","c"]`, `3`}, {"RPOP", `["2"]`, `["c","b"]`}, {"RPOP", `["5"]`, `["a"]`}, {"RPOP", `["1"]`, `null`}}},
		{"LREM", []step{{"RPUSH", `["a","b","a"]`, `3`}, {"LREM", `["0","a"]`, `2`}, {"LREM", `["1","x"]`, `0`}}},
		{"LTRIM", []step{{"RPUSH", `["a","b","c"]`, `3`}, {"LTRIM", `["0","1"]`, `"OK"`}, {"LRANGE", `["0","-1"]`, `["a","b"]`}}},
		{"LINSERT", []step{{"RPUSH", `["a","c"]`, `2`}, {"LINSERT", `["BEFORE","c","b"]`, `3`}, {"LINSERT", `["after","c","d"]`, `4`}, {"LINSERT", `["AFTER","x","y"]`, `-1`}, {"LRANGE", `["0","-1"]`, `["a","b","c","d"]`}}},
		{"LINDEX", []step{{"RPUSH", `["{\"i\":0}"]`, `1`}, {"LINDEX", `["0"]`, `"{\"i\":0}"`}, {"LINDEX", `["5"]`, `null`}}},
		{"LSET", []step{{"RPUSH", `["a"]`, `1`}, {"LSET", `["0","z"]`, `"OK"`}, {"LINDEX", `["-1"]`, `"z"`}}},
	}

	covered := map[string]bool{}
	for _, c := range cases {
		for _, s := range c.steps {
			covered[s.op] = true
		}
	}
	for op := range ops {
		if !covered[op] {
			t.Errorf("no case covers %s", op)
		}
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			for _, ns := range namespaces {
				for i, s := range c.steps {
					if got := e.exec(tenantA, s.op, ns, "k", s.args); got != s.want {
						t.Errorf("%s: step %d %s %s = %s, want %s", ns, i, s.op, s.args, got, s.want)
					}
				}
			}
		})
	}
}

// TestOpsRegistered keeps the table in step with the protocol (§3.1): these
// 27 operations, the FT.* ones refused.
func TestOpsRegistered(t *testing.T) {
	t.Parallel()
	want := strings.Fields(`SET GET DEL INCRBY DECRBY EXPIRE HSET HGET HGETALL HMGET HVALS HEXISTS HDEL
		HINCRBY HLEN HSCAN RPUSH LPUSH LLEN LRANGE LPOP RPOP LREM LTRIM LINSERT LINDEX LSET`)
	if len(ops) != len(want) {
		t.Errorf("ops has %d entries, want %d", len(ops), len(want))
	}
	for _, op := range want {
		if _, ok := ops[op]; !ok {
			t.Errorf("ops lacks %s", op)
		}
	}
}
