package simulate

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/neru-dev/neru/tail"
)

// Watch follows the gateway's live stream so that Explain can say what
// became of a webhook posted after it returns. It fails when the stream
// cannot be watched (no admin access): the caller then shows only the
// gateway's answer.
func Watch(ctx context.Context, gateway, token string) (*Watching, error) {
	ctx, cancel := context.WithCancel(ctx)
	w := &Watching{events: make(chan tail.Event, 1024), cancel: cancel}
	ready, failed := make(chan struct{}), make(chan error, 1)
	go func() {
		failed <- tail.Follow(ctx, or(gateway, DefaultGateway), token, tail.Filter{}, func() { close(ready) }, func(ev tail.Event) {
			select {
			case w.events <- ev:
			default:
			}
		})
	}()
	select {
	case <-ready:
		return w, nil
	case err := <-failed:
		cancel()
		return nil, err
	case <-time.After(10 * time.Second):
		cancel()
		return nil, fmt.Errorf("the live stream did not open within 10s")
	}
}

// Watching is an open live stream; Close ends it.
type Watching struct {
	events chan tail.Event
	cancel context.CancelFunc
}

// Close stops watching.
func (w *Watching) Close() { w.cancel() }

// Explain says what happened to the webhook the gateway just answered with
// status and reply: for a call, whether the app's NCCO or the fallback
// answered it and why; for other webhooks, how many listeners it matched
// and what became of each delivery, waiting up to wait for each to be
// delivered or dead. uuid, when known, picks the webhook out of the stream.
func (w *Watching) Explain(ctx context.Context, uuid string, status int, reply []byte, wait time.Duration, out io.Writer) {
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	next := func() (tail.Event, bool) {
		select {
		case ev := <-w.events:
			return ev, true
		case <-deadline.C:
		case <-ctx.Done():
		}
		return tail.Event{}, false
	}
	var hook tail.Event
	for {
		ev, ok := next()
		if !ok {
			fmt.Fprintf(out, "the live stream did not show this webhook within %s\n%s\n", wait, reply)
			return
		}
		if ev.Type == tail.Webhook && (uuid == "" || strings.Contains(ev.EventID, uuid) || !strings.HasPrefix(ev.EventID, "msg-") && !strings.HasPrefix(ev.EventID, "answer:")) {
			hook = ev
			break
		}
	}
	switch hook.Outcome {
	case "answered":
		fmt.Fprintf(out, "answered with the app's NCCO (%s)\n%s\n", tail.Millis(hook.LatencyMs), reply)
		return
	case "fallback":
		fmt.Fprintf(out, "answered with the fallback NCCO: %s\n%s\n", or(hook.Error, "no listener answers it"), reply)
		return
	case "routed", "unmatched":
	default:
		fmt.Fprintf(out, "the gateway answered %d: %s (%s)\n", status, hook.Outcome, or(hook.Error, strings.TrimSpace(string(reply))))
		return
	}
	fmt.Fprintf(out, "matched %d listener%s\n", hook.Listeners, plural(hook.Listeners))
	if isJSONArray(reply) {
		fmt.Fprintf(out, "answered with the app's NCCO\n%s\n", reply) // an input result
	}
	open := slices.Clone(hook.Deliveries)
	for len(open) > 0 {
		ev, ok := next()
		if !ok {
			fmt.Fprintf(out, "%d deliver%s still being retried after %s; follow them with neru tail\n", len(open), pluralY(len(open)), wait)
			return
		}
		i := slices.Index(open, ev.DeliveryID)
		if ev.Type != tail.Attempt || i < 0 {
			continue
		}
		switch ev.Outcome {
		case "delivered":
			fmt.Fprintf(out, "delivered to %s (%d, %s)\n", ev.Route, ev.Status, tail.Millis(ev.LatencyMs))
		case "retried":
			fmt.Fprintf(out, "attempt %d to %s failed (%s, %s); it will be retried\n", ev.Attempt, ev.Route, failure(ev), tail.Millis(ev.LatencyMs))
			continue
		default:
			fmt.Fprintf(out, "%s: moved to the DLQ after attempt %d to %s (%s); see neru dlq list\n", ev.Outcome, ev.Attempt, ev.Route, failure(ev))
		}
		open = slices.Delete(open, i, i+1)
	}
}

func failure(ev tail.Event) string {
	s := "no answer"
	if ev.Status != 0 {
		s = fmt.Sprintf("the app answered %d", ev.Status)
	}
	if ev.Error != "" {
		s += ": " + ev.Error
	}
	return s
}

func isJSONArray(b []byte) bool {
	var a []json.RawMessage
	return json.Unmarshal(b, &a) == nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func pluralY(n int) string {
	if n == 1 {
		return "y is"
	}
	return "ies are"
}
