package worker

import (
	"context"
	"errors"

	"github.com/neru-dev/neru/delivery"
	"github.com/neru-dev/neru/instance"
	"github.com/neru-dev/neru/internal/httpx"
)

// PermanentError is a failure that retrying cannot fix; the delivery goes
// to the DLQ at once.
type PermanentError struct{ Reason string }

func (e *PermanentError) Error() string { return e.Reason }

// Instances resolves an instance id to its record (base URL).
type Instances interface {
	Get(ctx context.Context, id string) (*instance.Instance, error)
}

func (w *Worker) sendOnce(ctx context.Context, d *delivery.Delivery, attempt int) error {
	select {
	case w.slots <- struct{}{}:
		defer func() { <-w.slots }()
	case <-ctx.Done():
		return ctx.Err()
	}
	in, err := w.instances.Get(ctx, d.InstanceID)
	if errors.Is(err, instance.ErrNotFound) {
		return &PermanentError{Reason: "instance " + d.InstanceID + " no longer exists"}
	}
	if err != nil {
		return err
	}
	_, err = w.client.Post(ctx, in.BaseURL, d, attempt, 0)
	var se *delivery.StatusError
	if errors.As(err, &se) && se.Permanent() {
		// The app refused this event; sending it again will not change that.
		return &PermanentError{Reason: se.Error()}
	}
	var refused *httpx.RefusedError
	if errors.As(err, &refused) {
		// The egress rule refuses the app's address: no retry can pass it
		// until the operator lists the network. The reason names the setting.
		return &PermanentError{Reason: err.Error()}
	}
	return err
}
