package queue

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/neru-dev/neru/listener"
	"github.com/neru-dev/neru/session"
)

// Provider is the SDK provider name.
const Provider = "queue-service"

// MaxItemBytes bounds one enqueued item (compact JSON).
const MaxItemBytes = 8000

var (
	// ErrNotFound: no queue with that name in this instance.
	ErrNotFound = errors.New("queue not found")
	// ErrInvalid wraps every validation failure of a request.
	ErrInvalid = errors.New("invalid queue request")
	// ErrTooLarge: an item is over MaxItemBytes.
	ErrTooLarge = errors.New("queue item too large")
	// ErrFull: the queue holds as many items as it may.
	ErrFull = errors.New("queue full")
)

// Rate limits a queue's deliveries.
type Rate struct {
	MaxInflight  int     `json:"maxInflight"`
	MsgPerSecond float64 `json:"msgPerSecond"`
}

// Validate checks a rate.
func (r Rate) Validate() error {
	if r.MaxInflight < 1 || r.MaxInflight > 10000 {
		return fmt.Errorf("%w: rate.maxInflight must be 1-10000, got %d", ErrInvalid, r.MaxInflight)
	}
	if math.IsNaN(r.MsgPerSecond) || r.MsgPerSecond <= 0 || r.MsgPerSecond > 10000 {
		return fmt.Errorf("%w: rate.msgPerSecond must be above 0 and at most 10000, got %v", ErrInvalid, r.MsgPerSecond)
	}
	return nil
}

// Queue is a queue's definition, as getQueueDetails shows it.
type Queue struct {
	Name     string            `json:"name"`
	Callback listener.Callback `json:"callback"`
	Rate     Rate              `json:"rate"`
	Active   bool              `json:"active"`
}

// Stats are a queue's counters.
type Stats struct {
	CurrentRate     int64 `json:"currentRate"`
	CurrentInflight int64 `json:"currentInflight"`
	TotalSent       int64 `json:"totalSent"`
	TotalError      int64 `json:"totalError"`
	TotalEnqueue    int64 `json:"totalEnqueue"`
	// Waiting is not in the SDK typings: items not yet delivered, retries included.
	Waiting int64 `json:"waiting"`
	// DeadLetters is not in the SDK typings: the dead-letter list's length.
	DeadLetters int64 `json:"deadLetters"`
}

// Details is the getQueueDetails reply.
type Details struct {
	Queue Queue `json:"queueDetails"`
	Stats Stats `json:"stats"`
}

// ValidateName accepts what a URL path segment can carry, minus the
// characters we reserve: "/", braces and control characters.
func ValidateName(name string) error {
	if name == "" || len(name) > 128 || name == "." || name == ".." ||
		strings.ContainsAny(name, "/{}") || strings.IndexFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return fmt.Errorf("%w: queue name %q must be 1-128 characters without /, braces or control characters", ErrInvalid, name)
	}
	return nil
}

// ParseCreate reads a createQueue body of an authenticated instance. The
// callback's instance is always instanceID, whatever the client claimed.
func ParseCreate(instanceID string, body []byte) (*Queue, error) {
	var req struct {
		Name     string            `json:"name"`
		Callback listener.Callback `json:"callback"`
		Active   *bool             `json:"active"`
		Rate     *Rate             `json:"rate"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fmt.Errorf("%w: body is not a createQueue request: %v", ErrInvalid, err)
	}
	if err := ValidateName(req.Name); err != nil {
		return nil, err
	}
	if req.Rate == nil {
		return nil, fmt.Errorf("%w: rate {maxInflight, msgPerSecond} is required", ErrInvalid)
	}
	if err := req.Rate.Validate(); err != nil {
		return nil, err
	}
	cb := req.Callback
	if err := listener.ValidatePath(cb.Path); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := session.ValidateID(cb.SessionID); err != nil {
		return nil, fmt.Errorf("%w: callback.sessionId: %v", ErrInvalid, err)
	}
	cb.InstanceID, cb.Filters = instanceID, nil
	q := &Queue{Name: req.Name, Callback: cb, Rate: *req.Rate, Active: true}
	if req.Active != nil {
		q.Active = *req.Active
	}
	return q, nil
}

// ParseUpdate reads an updateQueue body.
func ParseUpdate(body []byte) (Rate, error) {
	var req struct {
		Rate *Rate `json:"rate"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.Rate == nil {
		return Rate{}, fmt.Errorf("%w: body must be {rate: {maxInflight, msgPerSecond}}", ErrInvalid)
	}
	return *req.Rate, req.Rate.Validate()
}

// ParseItems reads an enqueue body: a JSON array of items, each at most
// MaxItemBytes once compacted.
func ParseItems(body []byte) ([][]byte, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("%w: enqueue takes a JSON array of items", ErrInvalid)
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf("%w: enqueue of an empty array", ErrInvalid)
	}
	items := make([][]byte, len(raw))
	for i, r := range raw {
		var b bytes.Buffer
		if err := json.Compact(&b, r); err != nil {
			return nil, fmt.Errorf("%w: item %d: %v", ErrInvalid, i, err)
		}
		if b.Len() > MaxItemBytes {
			return nil, fmt.Errorf("%w: item %d is %d bytes, the limit is %d", ErrTooLarge, i, b.Len(), MaxItemBytes)
		}
		items[i] = b.Bytes()
	}
	return items, nil
}
