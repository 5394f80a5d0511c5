package state

import (
	"encoding/json"
	"testing"
)

// TestSessionEntries: an operator reads a session's keys with their values
// (each Redis type), key names as the app wrote them, other sessions' keys
// not included, and the cap reported.
func TestSessionEntries(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tn := Tenant{AccountID: "acc", InstanceID: "inst-a"}
	sid := "sess {1}%"
	ns := "state:" + sid
	e.exec(tn, "SET", ns, "transcript", `["\"hello there\""]`)
	e.exec(tn, "HSET", ns, "call", `["from","447700900001","uuid","CALL-1"]`)
	e.exec(tn, "RPUSH", ns, "log", `["a","b"]`)
	e.exec(tn, "SET", "state:other", "x", `["1"]`)

	got, more, err := e.store.SessionEntries(e.ctx, "inst-a", sid, 10)
	if err != nil || more {
		t.Fatalf("SessionEntries: %v, more=%v", err, more)
	}
	b, _ := json.Marshal(got)
	want := []Entry{
		{Key: "call", Type: "hash", Value: map[string]string{"from": "447700900001", "uuid": "CALL-1"}},
		{Key: "log", Type: "list", Value: []string{"a", "b"}},
		{Key: "transcript", Type: "string", Value: `"hello there"`},
	}
	wb, _ := json.Marshal(want)
	if len(got) != 3 {
		t.Fatalf("got %s", b)
	}
	for i := range got {
		if got[i].TTLSeconds == nil || *got[i].TTLSeconds <= 0 {
			t.Fatalf("entry %s has no session TTL: %s", got[i].Key, b)
		}
		got[i].TTLSeconds = nil
	}
	if b, _ = json.Marshal(got); string(b) != string(wb) {
		t.Fatalf("got  %s\nwant %s", b, wb)
	}
	if got, more, err := e.store.SessionEntries(e.ctx, "inst-a", sid, 1); err != nil || !more || len(got) != 1 || got[0].Key != "call" {
		t.Fatalf("capped at 1: %+v more=%v err=%v", got, more, err)
	}
	if got, _, err := e.store.SessionEntries(e.ctx, "inst-a", "nobody", 10); err != nil || len(got) != 0 {
		t.Fatalf("unknown session: %+v %v", got, err)
	}
}
