package sdkapi

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/neru-dev/neru/instance"
	"github.com/neru-dev/neru/internal/httpx"
	"github.com/neru-dev/neru/queue"
)

func (a *API) queueAdapter() adapter {
	return adapter{name: queue.Provider, serve: a.serveQueue, errors: queue.HTTPErrors}
}

// serveQueue serves queue-service's REST routes (protocol §3.6). Names are
// per instance. Bodies of GET, DELETE, PUT and deadletter/pop are empty
// (with Content-Type: application/json) and are not read. Replies follow
// the SDK typings where they have one, and are "OK" otherwise; the SDKs
// only need a 2xx.
func (a *API) serveQueue(c echo.Context, inst *instance.Instance) error {
	r := c.Request()
	ctx := r.Context()
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if parts[0] != "queue" {
		return httpx.Errorf(http.StatusNotFound, "not_found", "queue-service has no route %s %s", r.Method, r.URL.Path)
	}
	st := a.d.Queues
	ok := func(err error) error {
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, "OK")
	}
	name := ""
	if len(parts) > 1 {
		name = parts[1]
		if err := queue.ValidateName(name); err != nil {
			return err
		}
	}
	route := r.Method + " " + strings.Join(append([]string{"queue"}, pattern(parts[1:])...), "/")
	switch route {
	case "POST queue": // createQueue
		body, err := httpx.ReadBody(r, a.cfg.MaxBody)
		if err != nil {
			return err
		}
		q, err := queue.ParseCreate(inst.ID, body)
		if err != nil {
			return err
		}
		return ok(st.Create(ctx, inst.ID, q))
	case "GET queue": // list
		names, err := st.List(ctx, inst.ID)
		if err != nil {
			return err
		}
		if names == nil {
			names = []string{}
		}
		return c.JSON(http.StatusOK, names)
	case "POST queue/{name}": // updateQueue
		body, err := httpx.ReadBody(r, a.cfg.MaxBody)
		if err != nil {
			return err
		}
		rate, err := queue.ParseUpdate(body)
		if err != nil {
			return err
		}
		return ok(st.Update(ctx, inst.ID, name, rate))
	case "GET queue/{name}": // getQueueDetails
		d, err := st.Details(ctx, inst.ID, name)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, d)
	case "DELETE queue/{name}":
		return ok(st.Delete(ctx, inst.ID, name))
	case "PUT queue/{name}/pause":
		return ok(st.SetActive(ctx, inst.ID, name, false))
	case "PUT queue/{name}/resume":
		return ok(st.SetActive(ctx, inst.ID, name, true))
	case "POST queue/{name}/enqueue":
		body, err := httpx.ReadBody(r, a.cfg.MaxBody)
		if err != nil {
			return err
		}
		items, err := queue.ParseItems(body)
		if err != nil {
			return err
		}
		return ok(st.Enqueue(ctx, inst.ID, name, items))
	case "GET queue/{name}/deadletter":
		items, err := st.DeadLetters(ctx, inst.ID, name, queue.MaxDeadLetters)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, items)
	case "POST queue/{name}/deadletter/pop":
		count, err := queue.ParseCount(c.QueryParam("count"))
		if err != nil {
			return err
		}
		items, err := st.PopDeadLetters(ctx, inst.ID, name, count)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, items)
	}
	return httpx.Errorf(http.StatusNotFound, "not_found", "queue-service has no route %s %s", r.Method, r.URL.Path)
}

// pattern replaces the queue name (the first segment) with {name}.
func pattern(rest []string) []string {
	if len(rest) == 0 {
		return nil
	}
	return append([]string{"{name}"}, rest[1:]...)
}
