package scheduler

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const cb = `"callback":{"filters":[],"id":"765db490-1871-4732-9006-c29770cbfcae","instanceServiceName":"svc","sessionId":"66726a67-bd25-441c-bd1e-cfdd4c9dc927","instanceId":"someone-else","path":"onSchedule"}`

func TestParse(t *testing.T) {
	big := `"` + strings.Repeat("x", MaxPayload) + `"`
	tests := []struct {
		name    string
		body    string
		wantErr error
		check   func(t *testing.T, s *Schedule)
	}{
		{"capture with id and interval", `{"startAt":"2030-01-01T00:00:00.000Z",` + cb + `,"payload":{"text":"test payload"},"interval":{"cron":"*/1 * * * *","until":{"date":"2030-01-02T00:00:00.000Z","maxInvocations":2}},"id":"my-job-1"}`, nil,
			func(t *testing.T, s *Schedule) {
				if s.ID != "my-job-1" || s.Callback.InstanceID != "inst" || string(s.Payload) != `{"text":"test payload"}` || s.cron == nil {
					t.Fatalf("%+v", s)
				}
				if !s.StartAt.Equal(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)) || !s.until.Equal(time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC)) {
					t.Fatalf("times %v %v", s.StartAt, s.until)
				}
			}},
		{"minimal: the callback id is the schedule id (neru returns it to the app)", `{"startAt":"2030-01-01T00:00:00.000Z",` + cb + `}`, nil,
			func(t *testing.T, s *Schedule) {
				if s.ID != "765db490-1871-4732-9006-c29770cbfcae" || string(s.Payload) != `{}` || s.Interval != nil || s.ExecutionID == "" {
					t.Fatalf("%+v", s)
				}
			}},
		{"no usable callback id: generated", `{"startAt":"2030-01-01T00:00:00Z","callback":{"id":"-bad","sessionId":"s1","path":"/x"}}`, nil,
			func(t *testing.T, s *Schedule) {
				if !strings.HasPrefix(s.ID, "sched-") {
					t.Fatalf("id %q", s.ID)
				}
			}},
		{"string payload kept as JSON", `{"startAt":"2030-01-01T00:00:00Z",` + cb + `,"payload":"test payload"}`, nil,
			func(t *testing.T, s *Schedule) {
				if string(s.Payload) != `"test payload"` {
					t.Fatalf("payload %s", s.Payload)
				}
			}},
		{"descriptor cron", `{"startAt":"2030-01-01T00:00:00Z",` + cb + `,"interval":{"cron":"@hourly"}}`, nil, nil},
		{"id against the SDK pattern", `{"startAt":"2030-01-01T00:00:00Z",` + cb + `,"id":"_x"}`, ErrInvalid, nil},
		{"id with a brace", `{"startAt":"2030-01-01T00:00:00Z",` + cb + `,"id":"a{b}"}`, ErrInvalid, nil},
		{"no startAt", `{` + cb + `}`, ErrInvalid, nil},
		{"bad startAt", `{"startAt":"tomorrow",` + cb + `}`, ErrInvalid, nil},
		{"bad cron", `{"startAt":"2030-01-01T00:00:00Z",` + cb + `,"interval":{"cron":"* * *"}}`, ErrInvalid, nil},
		{"until before start", `{"startAt":"2030-01-03T00:00:00Z",` + cb + `,"interval":{"cron":"* * * * *","until":{"date":"2030-01-02T00:00:00Z"}}}`, ErrInvalid, nil},
		{"negative maxInvocations", `{"startAt":"2030-01-03T00:00:00Z",` + cb + `,"interval":{"cron":"* * * * *","until":{"maxInvocations":-1}}}`, ErrInvalid, nil},
		{"callback URL", `{"startAt":"2030-01-01T00:00:00Z","callback":{"id":"c","sessionId":"s","path":"http://evil/x"}}`, ErrInvalid, nil},
		{"no session", `{"startAt":"2030-01-01T00:00:00Z","callback":{"id":"c","path":"/x"}}`, ErrInvalid, nil},
		{"payload too large", `{"startAt":"2030-01-01T00:00:00Z",` + cb + `,"payload":` + big + `}`, ErrTooLarge, nil},
		{"not JSON", `{"startAt":`, ErrInvalid, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse("inst", []byte(tc.body))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.check != nil {
				tc.check(t, s)
			}
		})
	}
}

func TestNext(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	mk := func(interval string) *Schedule {
		body := `{"startAt":"2030-01-01T00:00:00Z",` + cb
		if interval != "" {
			body += `,"interval":` + interval
		}
		s, err := Parse("inst", []byte(body+`}`))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tests := []struct {
		name        string
		s           *Schedule
		due, now    time.Time
		invocations int
		want        time.Time // zero: done
	}{
		{"one-shot is done", mk(""), t0, t0, 1, time.Time{}},
		{"every minute", mk(`{"cron":"*/1 * * * *"}`), t0, t0, 1, t0.Add(time.Minute)},
		{"maxInvocations reached", mk(`{"cron":"* * * * *","until":{"maxInvocations":2}}`), t0.Add(time.Minute), t0.Add(time.Minute), 2, time.Time{}},
		{"maxInvocations not yet", mk(`{"cron":"* * * * *","until":{"maxInvocations":2}}`), t0, t0, 1, t0.Add(time.Minute)},
		{"until date passed", mk(`{"cron":"0 * * * *","until":{"date":"2030-01-01T00:30:00Z"}}`), t0, t0, 1, time.Time{}},
		{"missed times coalesce", mk(`{"cron":"* * * * *"}`), t0, t0.Add(90 * time.Minute).Add(time.Second), 1, t0.Add(91 * time.Minute)},
		{"the start need not be on the cron grid", mk(`{"cron":"0 12 * * *"}`), t0, t0, 1, t0.Add(12 * time.Hour)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, more := tc.s.Next(tc.due, tc.now, tc.invocations)
			if more != !tc.want.IsZero() || !got.Equal(tc.want) {
				t.Fatalf("Next = %v, %v; want %v", got, more, tc.want)
			}
		})
	}
}
