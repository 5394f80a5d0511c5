package worker

import (
	"context"
	"errors"
	"fmt"

	"github.com/neru-dev/neru/delivery"
	"github.com/neru-dev/neru/instance"
	"github.com/neru-dev/neru/session"
)

// PermanentError is a failure that retrying cannot fix; the delivery goes
// to the DLQ at once.
type PermanentError struct{ Reason string }

func (e *PermanentError) Error() string { return e.Reason }

// errLookup wraps a failure to resolve the instance or the session (Redis): the request
// never reached the app, so it says nothing about the app's health.
var errLookup = errors.New("instance lookup failed")

// Instances resolves an instance id to its record (base URL).
type Instances interface {
	Get(ctx context.Context, id string) (*instance.Instance, error)
}

// sendOnce makes one attempt and returns the app's HTTP status (0: it gave
// none) and why it failed.
func (w *Worker) sendOnce(ctx context.Context, d *delivery.Delivery, attempt int) (int, error) {
	// The Redis lookups come before a slot is taken: slots bound requests
	// to apps, and a lane waiting on Redis should not hold one.
	if w.sessions != nil {
		// An ended session's deliveries never reach the app (package doc).
		at, ended, err := w.sessions.Ended(ctx, d.InstanceID, d.SessionID)
		if err != nil {
			return 0, fmt.Errorf("%w: session %s: %v", errLookup, d.SessionID, err)
		}
		if ended {
			return 0, &PermanentError{Reason: "session_expired: " + (&session.ExpiredError{ID: d.SessionID, At: at}).Error()}
		}
	}
	in, err := w.instances.Get(ctx, d.InstanceID)
	if errors.Is(err, instance.ErrNotFound) {
		return 0, &PermanentError{Reason: "instance " + d.InstanceID + " no longer exists"}
	}
	if err != nil {
		return 0, fmt.Errorf("%w: %v", errLookup, err)
	}
	select {
	case w.slots <- struct{}{}:
		defer func() { <-w.slots }()
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	status, _, err := w.client.Send(ctx, in, d, attempt, 0)
	if delivery.Permanent(err) {
		// The app refused this event, it cannot be sent at all, or the
		// egress rule refuses the app's address (the reason names the
		// setting); sending it again will not change that.
		return status, &PermanentError{Reason: err.Error()}
	}
	return status, err
}
