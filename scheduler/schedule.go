package scheduler

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/google/uuid"
	"github.com/robfig/cron/v3"

	"github.com/neru-dev/neru/listener"
	"github.com/neru-dev/neru/session"
)

// Provider is the SDK provider name.
const Provider = "vonage-scheduler"

// MaxPayload bounds a schedule's payload (it is stored with the schedule).
const MaxPayload = 64 << 10

var (
	// ErrNotFound: no schedule with that id in this instance.
	ErrNotFound = errors.New("schedule not found")
	// ErrInvalid wraps every validation failure of a request.
	ErrInvalid = errors.New("invalid schedule")
	// ErrTooLarge: the payload is over MaxPayload.
	ErrTooLarge = errors.New("schedule payload too large")
	// ErrLimit: the instance has as many schedules as it may.
	ErrLimit = errors.New("too many schedules")
)

// validID is the pattern both SDKs check client ids against.
var validID = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9-_]*$`)

// Interval repeats a schedule (protocol §3.5).
type Interval struct {
	Cron  string `json:"cron"`
	Until *Until `json:"until,omitempty"`
}

// Until ends a repeating schedule: at Date, or after MaxInvocations
// invocations (0: no limit), whichever comes first.
type Until struct {
	Date           string `json:"date,omitempty"`
	MaxInvocations int    `json:"maxInvocations,omitempty"`
}

// Request is the create payload of both SDKs.
type Request struct {
	StartAt  string            `json:"startAt"`
	Callback listener.Callback `json:"callback"`
	Payload  json.RawMessage   `json:"payload,omitempty"`
	Interval *Interval         `json:"interval,omitempty"`
	ID       string            `json:"id,omitempty"`
}

// Schedule is a stored schedule. It does not change until it is replaced.
type Schedule struct {
	ID       string            `json:"id"`
	Header   map[string]string `json:"header,omitempty"`
	StartAt  time.Time         `json:"startAt"`
	Callback listener.Callback `json:"callback"`
	Payload  json.RawMessage   `json:"payload"`
	Interval *Interval         `json:"interval,omitempty"`
	// ExecutionID is new at every create: it tells a replaced schedule's
	// invocations apart from the old one's.
	ExecutionID string    `json:"executionId"`
	CreatedAt   time.Time `json:"createdAt"`

	cron  cron.Schedule
	until time.Time // zero: no end date
}

// Parse validates a create request of an authenticated instance and returns
// the schedule it describes. The callback's instance is always instanceID,
// whatever the client claimed.
func Parse(instanceID string, raw []byte) (*Schedule, error) {
	var req Request
	if err := json.Unmarshal(raw, &req); err != nil {
		return nil, fmt.Errorf("%w: payload is not a create request: %v", ErrInvalid, err)
	}
	start, err := parseTime(req.StartAt)
	if err != nil {
		return nil, fmt.Errorf("%w: startAt: %v", ErrInvalid, err)
	}
	cb := req.Callback
	if err := listener.ValidatePath(cb.Path); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := session.ValidateID(cb.SessionID); err != nil {
		return nil, fmt.Errorf("%w: callback.sessionId: %v", ErrInvalid, err)
	}
	cb.InstanceID = instanceID
	cb.Filters = nil // meaningless for a schedule
	id := req.ID
	switch {
	case id != "":
		if !validID.MatchString(id) || len(id) > 128 {
			return nil, fmt.Errorf("%w: id %q must match %s (at most 128 characters)", ErrInvalid, id, validID)
		}
	case validID.MatchString(cb.ID) && len(cb.ID) <= 128:
		id = cb.ID // what neru's startAt returns to the app (protocol §8.12)
	default:
		id = "sched-" + uuid.NewString()
	}
	payload, err := compactPayload(req.Payload)
	if err != nil {
		return nil, err
	}
	s := &Schedule{
		ID: id, StartAt: start, Callback: cb, Payload: payload, Interval: req.Interval,
		ExecutionID: uuid.NewString(), CreatedAt: time.Now().UTC(),
	}
	if err := s.compile(); err != nil {
		return nil, err
	}
	if !s.until.IsZero() && s.StartAt.After(s.until) {
		return nil, fmt.Errorf("%w: interval.until.date is before startAt", ErrInvalid)
	}
	return s, nil
}

func compactPayload(p json.RawMessage) (json.RawMessage, error) {
	if len(bytes.TrimSpace(p)) == 0 || bytes.Equal(bytes.TrimSpace(p), []byte("null")) {
		// The app's route gets a JSON body it can parse (express.json()
		// refuses a bare null).
		return json.RawMessage(`{}`), nil
	}
	if len(p) > MaxPayload {
		return nil, fmt.Errorf("%w: payload is over %d bytes", ErrTooLarge, MaxPayload)
	}
	var b bytes.Buffer
	if err := json.Compact(&b, p); err != nil {
		return nil, fmt.Errorf("%w: payload: %v", ErrInvalid, err)
	}
	return b.Bytes(), nil
}

// compile parses the interval, after Parse or after loading from Redis.
func (s *Schedule) compile() error {
	if s.Interval == nil {
		return nil
	}
	c, err := cron.ParseStandard(s.Interval.Cron)
	if err != nil {
		return fmt.Errorf("%w: interval.cron %q: %v", ErrInvalid, s.Interval.Cron, err)
	}
	s.cron = c
	if u := s.Interval.Until; u != nil {
		if u.MaxInvocations < 0 {
			return fmt.Errorf("%w: interval.until.maxInvocations must not be negative", ErrInvalid)
		}
		if u.Date != "" {
			if s.until, err = parseTime(u.Date); err != nil {
				return fmt.Errorf("%w: interval.until.date: %v", ErrInvalid, err)
			}
		}
	}
	return nil
}

// Next returns when the schedule is next due after the invocation due at
// due, which was its invocations-th, or false when that one was the last.
// Cron times already past at now are coalesced: the next one after now is
// taken instead.
func (s *Schedule) Next(due, now time.Time, invocations int) (time.Time, bool) {
	if s.cron == nil {
		return time.Time{}, false
	}
	if u := s.Interval.Until; u != nil && u.MaxInvocations > 0 && invocations >= u.MaxInvocations {
		return time.Time{}, false
	}
	next := s.cron.Next(due)
	if next.Before(now) {
		next = s.cron.Next(now)
	}
	if next.IsZero() || (!s.until.IsZero() && next.After(s.until)) {
		return time.Time{}, false
	}
	return next, true
}

// parseTime reads an ISO-8601 time as JavaScript's toISOString writes it,
// or any RFC 3339 time. A time without a zone is UTC.
func parseTime(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, errors.New("is required (ISO-8601)")
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC().Truncate(time.Millisecond), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an ISO-8601 time", v)
}

// isoMillis formats a time as JavaScript's toISOString does.
func isoMillis(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// Execution is the run state of a schedule, as the SDKs' typings name it.
type Execution struct {
	ExecutionID       string `json:"neru_execution_id"`
	InvocationCounter int    `json:"invocation_counter"`
	RetryCounter      int    `json:"retry_counter"`
}

// View is a schedule as `get` returns it (GetSchedulerResponse), plus when
// it is next due.
type View struct {
	ID        string            `json:"id"`
	Header    map[string]string `json:"header"`
	StartAt   string            `json:"startAt"`
	Callback  listener.Callback `json:"callback"`
	Payload   json.RawMessage   `json:"payload"`
	Interval  *Interval         `json:"interval,omitempty"`
	Execution Execution         `json:"execution"`
	CreatedAt string            `json:"created_at"`
	// NextAt is empty while an invocation is being fired.
	NextAt string `json:"next_at,omitempty"`
}

func (s *Schedule) view(invocations int, next time.Time) *View {
	v := &View{
		ID: s.ID, Header: s.Header, StartAt: isoMillis(s.StartAt), Callback: s.Callback, Payload: s.Payload,
		Interval: s.Interval, CreatedAt: isoMillis(s.CreatedAt),
		Execution: Execution{ExecutionID: s.ExecutionID, InvocationCounter: invocations},
	}
	if v.Header == nil {
		v.Header = map[string]string{}
	}
	if v.Callback.Filters == nil {
		v.Callback.Filters = []listener.Filter{}
	}
	if !next.IsZero() {
		v.NextAt = isoMillis(next)
	}
	return v
}
