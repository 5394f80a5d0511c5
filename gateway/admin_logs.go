package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/neru-dev/neru/internal/httpx"
)

// App logs (logs-submission) are kept per instance in a capped list, each
// entry numbered, so `neru logs --follow` can ask for what came after the
// last entry it printed:
//
//	logs:{<instance>}      list of {"seq":n,"receivedAt":"<RFC 3339>","log":<the SDK's log JSON>}
//	logs:seq:{<instance>}  the last seq handed out
//
// Both keys share the {<instance>} hash tag, so the append script is
// cluster-safe. The script numbers and appends in one step, so the list is
// always in seq order.
var appendLogScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[2])
redis.call('RPUSH', KEYS[1], '{"seq":' .. n .. ',"receivedAt":"' .. ARGV[2] .. '","log":' .. ARGV[1] .. '}')
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[3]), -1)
return n
`)

func (g *Gateway) logKeys(instanceID string) []string {
	return []string{g.d.Keyspace + "logs:{" + instanceID + "}", g.d.Keyspace + "logs:seq:{" + instanceID + "}"}
}

// appendLog stores one log submission; compact must be compact valid JSON.
func (g *Gateway) appendLog(ctx context.Context, instanceID string, compact []byte) error {
	now := time.Now().UTC().Format(time.RFC3339Nano)
	return appendLogScript.Run(ctx, g.d.Redis, g.logKeys(instanceID), compact, now, g.cfg.LogsKept).Err()
}

// LogEntry is one stored log submission, as the admin API returns it.
type LogEntry struct {
	Seq        int64           `json:"seq"`
	ReceivedAt time.Time       `json:"receivedAt"`
	Log        json.RawMessage `json:"log"`
}

// listLogs serves GET /admin/v1/instances/:id/logs?after=<seq>&limit=<n>:
// the instance's kept log submissions with seq > after, oldest first, at
// most limit (default 100, at most 1000). next is the seq to pass as after
// for the following page (or poll).
func (g *Gateway) listLogs(c echo.Context) error {
	ctx := c.Request().Context()
	in, err := g.d.Instances.Get(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	after, err := queryInt(c, "after", 0)
	if err != nil {
		return err
	}
	limit, err := queryInt(c, "limit", 100)
	if err != nil {
		return err
	}
	limit = min(max(limit, 1), 1000)
	raw, err := g.d.Redis.LRange(ctx, g.logKeys(in.ID)[0], 0, -1).Result()
	if err != nil {
		return err
	}
	out := make([]LogEntry, 0, min(int64(len(raw)), limit))
	next := after
	for _, r := range raw {
		var e LogEntry
		if json.Unmarshal([]byte(r), &e) != nil || e.Seq <= after {
			continue
		}
		if int64(len(out)) == limit {
			break
		}
		out = append(out, e)
		next = e.Seq
	}
	return c.JSON(http.StatusOK, map[string]any{"instance": in.ID, "logs": out, "next": next})
}

func queryInt(c echo.Context, name string, def int64) (int64, error) {
	v := c.QueryParam(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, httpx.Errorf(http.StatusBadRequest, "bad_query", "%s must be a non-negative integer", name)
	}
	return n, nil
}
