package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/neru-dev/neru/internal/httpx"
	"github.com/neru-dev/neru/session"
	"github.com/neru-dev/neru/tail"
)

// Stream is the live stream of webhooks and delivery attempts
// (tail.Watcher). Watch calls ready once events from then on reach fn,
// and returns when ctx ends.
type Stream interface {
	Watch(ctx context.Context, f tail.Filter, ready func(), fn func(tail.Event)) error
}

// heartbeat keeps idle proxies from closing a quiet stream and finds
// clients that went away.
const heartbeat = 15 * time.Second

// watch serves GET /admin/v1/tail?instance=&session= as server-sent
// events: first an "event: ready", then one "data: <tail.Event JSON>" per
// webhook or attempt. A client that cannot keep up loses events; the
// stream never waits for it.
func (a *Admin) watch(c echo.Context) error {
	if a.d.Stream == nil {
		return httpx.Errorf(http.StatusServiceUnavailable, "unavailable", "this gateway has no live stream")
	}
	f := tail.Filter{Instance: c.QueryParam("instance"), Session: c.QueryParam("session")}
	ctx, cancel := context.WithCancel(c.Request().Context())
	defer cancel()
	if f.Instance != "" {
		if _, err := a.d.Instances.Get(ctx, f.Instance); err != nil {
			return err
		}
	}
	if f.Session != "" {
		if err := session.ValidateID(f.Session); err != nil {
			return err
		}
	}
	events := make(chan tail.Event, 256)
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- a.d.Stream.Watch(ctx, f, func() { close(ready) }, func(ev tail.Event) {
			select {
			case events <- ev:
			default: // the client is slow: drop, never hold the stream
			}
		})
	}()
	select {
	case <-ready:
	case err := <-done:
		if err != nil {
			return err
		}
		return nil
	}
	w := c.Response()
	h := w.Header()
	h.Set(echo.HeaderContentType, "text/event-stream")
	h.Set(echo.HeaderCacheControl, "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx and friends: do not buffer
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprint(w, "retry: 2000\nevent: ready\ndata: {}\n\n"); err != nil {
		return nil
	}
	w.Flush()
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		var err error
		select {
		case <-ctx.Done():
			return nil
		case err = <-done:
			if err != nil {
				a.d.Log.Warn("live stream ended", "err", err)
			}
			return nil
		case <-tick.C:
			_, err = fmt.Fprint(w, ": heartbeat\n\n")
		case ev := <-events:
			var b []byte
			if b, err = json.Marshal(&ev); err == nil {
				_, err = fmt.Fprintf(w, "data: %s\n\n", b)
			}
		}
		if err != nil {
			return nil // the client went away
		}
		w.Flush()
	}
}
