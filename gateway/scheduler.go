package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/neru-dev/neru/internal/httpx"
	"github.com/neru-dev/neru/scheduler"
)

// schedules is the scheduler store (a handle; stores hold no state).
func (g *Gateway) schedules() *scheduler.Store {
	return scheduler.NewStore(g.d.Redis, g.d.Keyspace, 0)
}

// schedulerActions serves vonage-scheduler (protocol §3.5): neru sends
// Command actions create|list|get|cancel, vcr POSTs /v2/<action> with the
// same payloads.
func (g *Gateway) schedulerActions() map[string]action {
	acts := map[string]action{}
	for name, a := range map[string]action{
		"create": g.scheduleCreate,
		"list":   g.scheduleList,
		"get":    g.scheduleGet,
		"cancel": g.scheduleCancel,
	} {
		acts[scheduler.Provider+"/"+name] = a
		acts[scheduler.Provider+"/v2/"+name] = a
	}
	return acts
}

// scheduleCreate answers {"id"}: vcr's startAt returns it (neru returns the
// callback id, which is the schedule id unless the app chose one).
func (g *Gateway) scheduleCreate(ctx context.Context, c *call) (any, error) {
	sc, err := scheduler.Parse(c.inst.ID, c.payload)
	if err != nil {
		return nil, err
	}
	sc.Header = map[string]string{"instanceId": c.inst.ID}
	if c.session != "" {
		sc.Header["sessionId"] = c.session
	}
	if err := g.schedules().Create(ctx, c.inst.ID, sc); err != nil {
		return nil, err
	}
	return map[string]string{"id": sc.ID}, nil
}

// scheduleList answers ListAllSchedulersResponse. The cursor is the number
// a previous page returned as next_cursor (0: no more); anything else
// starts from the beginning.
func (g *Gateway) scheduleList(ctx context.Context, c *call) (any, error) {
	var p struct {
		PageSize int             `json:"page_size"`
		Cursor   json.RawMessage `json:"cursor"`
	}
	if len(c.payload) > 0 {
		if err := json.Unmarshal(c.payload, &p); err != nil {
			return nil, httpx.Errorf(http.StatusBadRequest, "bad_payload", "list needs {page_size, cursor?}")
		}
	}
	if p.PageSize <= 0 {
		p.PageSize = 10
	}
	p.PageSize = min(p.PageSize, 1000)
	cursor, _ := strconv.ParseInt(strings.Trim(string(p.Cursor), `"`), 10, 64)
	ids, next, err := g.schedules().List(ctx, c.inst.ID, max(cursor, 0), p.PageSize)
	if err != nil {
		return nil, err
	}
	if ids == nil {
		ids = []string{}
	}
	return map[string]any{"list": ids, "next_cursor": next, "page_size": p.PageSize}, nil
}

func scheduleID(c *call) (string, error) {
	var p struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(c.payload, &p); err != nil || p.ID == "" {
		return "", httpx.Errorf(http.StatusBadRequest, "bad_payload", "%s needs {\"id\": \"<schedule id>\"}", c.action)
	}
	return p.ID, nil
}

func (g *Gateway) scheduleGet(ctx context.Context, c *call) (any, error) {
	id, err := scheduleID(c)
	if err != nil {
		return nil, err
	}
	return g.schedules().Get(ctx, c.inst.ID, id)
}

// scheduleCancel succeeds for an unknown id: an app cancelling a schedule
// that already ran out must not throw.
func (g *Gateway) scheduleCancel(ctx context.Context, c *call) (any, error) {
	id, err := scheduleID(c)
	if err != nil {
		return nil, err
	}
	if err := g.schedules().Cancel(ctx, c.inst.ID, id); err != nil && !errors.Is(err, scheduler.ErrNotFound) {
		return nil, err
	}
	return "OK", nil
}
