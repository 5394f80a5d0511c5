package tail

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Follow reads the live stream from a gateway's admin API
// (GET <gateway>/admin/v1/tail, token as the bearer) and calls fn with each
// event f selects until ctx ends or the stream does. ready (if not nil) is
// called once the gateway says events from then on will come.
func Follow(ctx context.Context, gateway, token string, f Filter, ready func(), fn func(Event)) error {
	q := url.Values{}
	if f.Instance != "" {
		q.Set("instance", f.Instance)
	}
	if f.Session != "" {
		q.Set("session", f.Session)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(gateway, "/")+"/admin/v1/tail?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	// No client timeout: the stream lasts as long as ctx.
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("cannot reach the gateway at %s: %w", gateway, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		var e struct{ Code, Message string }
		if json.Unmarshal(raw, &e) == nil && e.Message != "" {
			return fmt.Errorf("%s: %s", e.Code, e.Message)
		}
		return fmt.Errorf("gateway answered %s", resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	event, data := "", ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if event == "ready" && ready != nil {
				ready()
			} else if event == "" && data != "" {
				var ev Event
				if json.Unmarshal([]byte(data), &ev) == nil {
					fn(ev)
				}
			}
			event, data = "", ""
		case strings.HasPrefix(line, "event: "):
			event = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			data += line[len("data: "):]
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("live stream: %w", err)
	}
	return fmt.Errorf("the gateway ended the live stream")
}
