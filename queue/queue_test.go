package queue

import (
	"errors"
	"strings"
	"testing"
)

const cb = `"callback":{"filters":[],"id":"f515ed88-e766-47cc-9b6a-ffc62fec01f8","instanceServiceName":"svc","sessionId":"66726a67-bd25-441c-bd1e-cfdd4c9dc927","instanceId":"someone-else","path":"onQueueItem"}`

func TestParseCreate(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		wantErr error
		check   func(t *testing.T, q *Queue)
	}{
		{"capture", `{"name":"q1",` + cb + `,"active":true,"rate":{"maxInflight":5,"msgPerSecond":10}}`, nil, func(t *testing.T, q *Queue) {
			if q.Name != "q1" || !q.Active || q.Rate != (Rate{5, 10}) || q.Callback.InstanceID != "inst" || q.Callback.Path != "onQueueItem" {
				t.Fatalf("%+v", q)
			}
		}},
		{"active left out (options.active undefined) means active", `{"name":"q 1",` + cb + `,"rate":{"maxInflight":1,"msgPerSecond":0.5}}`, nil, func(t *testing.T, q *Queue) {
			if !q.Active || q.Rate.MsgPerSecond != 0.5 {
				t.Fatalf("%+v", q)
			}
		}},
		{"created paused", `{"name":"q1",` + cb + `,"active":false,"rate":{"maxInflight":1,"msgPerSecond":1}}`, nil, func(t *testing.T, q *Queue) {
			if q.Active {
				t.Fatal("active")
			}
		}},
		{"no rate", `{"name":"q1",` + cb + `}`, ErrInvalid, nil},
		{"zero rate", `{"name":"q1",` + cb + `,"rate":{"maxInflight":1,"msgPerSecond":0}}`, ErrInvalid, nil},
		{"zero inflight", `{"name":"q1",` + cb + `,"rate":{"maxInflight":0,"msgPerSecond":1}}`, ErrInvalid, nil},
		{"slash in name", `{"name":"a/b",` + cb + `,"rate":{"maxInflight":1,"msgPerSecond":1}}`, ErrInvalid, nil},
		{"brace in name", `{"name":"a}",` + cb + `,"rate":{"maxInflight":1,"msgPerSecond":1}}`, ErrInvalid, nil},
		{"no name", `{` + cb + `,"rate":{"maxInflight":1,"msgPerSecond":1}}`, ErrInvalid, nil},
		{"callback URL", `{"name":"q1","callback":{"sessionId":"s","path":"https://evil"},"rate":{"maxInflight":1,"msgPerSecond":1}}`, ErrInvalid, nil},
		{"no session", `{"name":"q1","callback":{"path":"x"},"rate":{"maxInflight":1,"msgPerSecond":1}}`, ErrInvalid, nil},
		{"not JSON", `{`, ErrInvalid, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, err := ParseCreate("inst", []byte(tc.body))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, q)
		})
	}
}

func TestParseUpdateAndItems(t *testing.T) {
	if r, err := ParseUpdate([]byte(`{"rate":{"maxInflight":2,"msgPerSecond":1}}`)); err != nil || r != (Rate{2, 1}) {
		t.Fatalf("update: %+v %v", r, err)
	}
	for _, bad := range []string{``, `{}`, `{"rate":{"maxInflight":-1,"msgPerSecond":1}}`} {
		if _, err := ParseUpdate([]byte(bad)); !errors.Is(err, ErrInvalid) {
			t.Errorf("update %q: %v", bad, err)
		}
	}
	items, err := ParseItems([]byte(`[{"a": 1}, "x", 3, [1, 2]]`))
	if err != nil || len(items) != 4 || string(items[0]) != `{"a":1}` || string(items[3]) != `[1,2]` {
		t.Fatalf("items: %q %v", items, err)
	}
	for _, tc := range []struct {
		body string
		want error
	}{
		{`{"a":1}`, ErrInvalid},
		{`[]`, ErrInvalid},
		{``, ErrInvalid},
		{`["` + strings.Repeat("x", MaxItemBytes) + `"]`, ErrTooLarge},
	} {
		if _, err := ParseItems([]byte(tc.body)); !errors.Is(err, tc.want) {
			t.Errorf("items %.20q: %v, want %v", tc.body, err, tc.want)
		}
	}
	// Exactly at the limit is fine.
	if _, err := ParseItems([]byte(`["` + strings.Repeat("x", MaxItemBytes-2) + `"]`)); err != nil {
		t.Fatal(err)
	}
}
