package sdkapi

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

// schedulerActions serves vonage-scheduler (protocol §3.5): neru sends
// Command actions create|list|get|cancel, vcr POSTs /v2/<action> with the
// same payloads.
func (a *API) schedulerAdapter() adapter {
	acts := map[string]action{}
	for name, act := range map[string]action{
		"create": a.scheduleCreate,
		"list":   a.scheduleList,
		"get":    a.scheduleGet,
		"cancel": a.scheduleCancel,
	} {
		acts[name] = act
		acts["v2/"+name] = act
	}
	return adapter{name: scheduler.Provider, actions: acts, errors: scheduler.HTTPErrors}
}

// scheduleCreate answers {"id"}: vcr's startAt returns it (neru returns the
// callback id, which is the schedule id unless the app chose one).
func (a *API) scheduleCreate(ctx context.Context, c *call) (any, error) {
	sc, err := scheduler.Parse(c.inst.ID, c.payload)
	if err != nil {
		return nil, err
	}
	sc.Header = map[string]string{"instanceId": c.inst.ID}
	if c.session != "" {
		sc.Header["sessionId"] = c.session
	}
	if err := a.d.Schedules.Create(ctx, c.inst.ID, sc); err != nil {
		return nil, err
	}
	return map[string]string{"id": sc.ID}, nil
}

// scheduleList answers ListAllSchedulersResponse. The cursor is the number
// a previous page returned as next_cursor (0: no more); anything else
// starts from the beginning.
func (a *API) scheduleList(ctx context.Context, c *call) (any, error) {
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
	ids, next, err := a.d.Schedules.List(ctx, c.inst.ID, max(cursor, 0), p.PageSize)
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

func (a *API) scheduleGet(ctx context.Context, c *call) (any, error) {
	id, err := scheduleID(c)
	if err != nil {
		return nil, err
	}
	return a.d.Schedules.Get(ctx, c.inst.ID, id)
}

// scheduleCancel succeeds for an unknown id: an app cancelling a schedule
// that already ran out must not throw.
func (a *API) scheduleCancel(ctx context.Context, c *call) (any, error) {
	id, err := scheduleID(c)
	if err != nil {
		return nil, err
	}
	if err := a.d.Schedules.Cancel(ctx, c.inst.ID, id); err != nil && !errors.Is(err, scheduler.ErrNotFound) {
		return nil, err
	}
	return "OK", nil
}
