package e2e

import (
	"context"
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/neru-dev/neru/queue"
)

// schedQueueCaptures are one SDK's scheduler and queue captures, in the
// order the SDK sent them.
func schedQueueCaptures(t *testing.T, sdkName string) []*sdkCapture {
	t.Helper()
	entries, err := captures.ReadDir(sdkName)
	if err != nil {
		t.Fatal(err)
	}
	type seqd struct {
		seq int
		c   *sdkCapture
	}
	var out []seqd
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "vonage-scheduler-") && !strings.HasPrefix(e.Name(), "queue-service-") {
			continue
		}
		raw, _ := captures.ReadFile(sdkName + "/" + e.Name())
		var s struct{ Seq int }
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatal(err)
		}
		out = append(out, seqd{s.Seq, loadCapture(t, sdkName+"/"+e.Name())})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	cs := make([]*sdkCapture, len(out))
	for i, s := range out {
		cs[i] = s.c
	}
	return cs
}

// Every scheduler and queue request both SDKs sent, replayed in order as the
// capture's tenant (JWT re-signed): each reply is a 2xx the SDK parses into
// what its typings promise, and where the reply decides what the app gets
// (vcr's startAt, list, the dead-letter routes) it is what the app got.
func TestSchedulerAndQueueCaptures(t *testing.T) {
	for _, sdkName := range []string{"neru-alpha-5.1.0", "vcr-sdk-1.3.0"} {
		t.Run(sdkName, func(t *testing.T) {
			h := start(t)
			tn := h.addTenant(capInstance, capApp, capAccount)
			caps := schedQueueCaptures(t, sdkName)
			if len(caps) < 15 {
				t.Fatalf("only %d captures", len(caps))
			}
			neru := sdkName == "neru-alpha-5.1.0"
			for _, c := range caps {
				r := h.replay(c, "debug", tn)
				if r.Status < 200 || r.Status > 299 {
					t.Fatalf("%s: %d %s; any non-2xx makes the SDK throw", c.SDKCall, r.Status, r.Body)
				}
				var got any
				if err := json.Unmarshal(r.Body, &got); err != nil {
					t.Fatalf("%s: reply %s is not JSON", c.SDKCall, r.Body)
				}
				var want any
				_ = json.Unmarshal(c.Outcome.Returned, &want)
				obj, _ := got.(map[string]any)
				switch c.SDKCall {
				case "scheduler.startAt", "scheduler.startAt(minimal)":
					// vcr returns response.id; neru returns the callback id,
					// which must then be the schedule id when the app chose none.
					if !neru && obj["id"] != want {
						t.Fatalf("%s: reply %s, the SDK would return %v instead of %v", c.SDKCall, r.Body, obj["id"], want)
					}
					if neru && c.SDKCall == "scheduler.startAt(minimal)" && obj["id"] != want {
						t.Fatalf("minimal startAt: schedule id %v, but the app got %v to cancel with", obj["id"], want)
					}
				case "scheduler.list", "scheduler.listAll":
					list, _ := obj["list"].([]any)
					_, numCursor := obj["next_cursor"].(float64)
					if !numCursor || obj["page_size"] != float64(5) || len(list) == 0 || list[0] != "my-job-1" {
						t.Fatalf("%s: %s", c.SDKCall, r.Body)
					}
					if !neru && !reflect.DeepEqual(got, want) {
						t.Fatalf("list: %s, the app got %s", r.Body, c.Outcome.Returned)
					}
				case "scheduler.get":
					exec, _ := obj["execution"].(map[string]any)
					cb, _ := obj["callback"].(map[string]any)
					_, counter := exec["invocation_counter"].(float64)
					_, retries := exec["retry_counter"].(float64)
					_, execID := exec["neru_execution_id"].(string)
					_, created := obj["created_at"].(string)
					if obj["id"] != "my-job-1" || obj["startAt"] != "2030-01-01T00:00:00.000Z" || !counter || !retries || !execID || !created ||
						cb["path"] != "onSchedule" || cb["instanceId"] != capInstance || !reflect.DeepEqual(obj["payload"], map[string]any{"text": "test payload"}) {
						t.Fatalf("get: %s", r.Body)
					}
				case "scheduler.cancel":
					if _, err := h.schedStore().Get(context.Background(), capInstance, "my-job-1"); err == nil {
						t.Fatal("cancelled schedule still there")
					}
				case "queue.list", "queue.deadLetterList", "queue.deadLetterDequeue":
					if !reflect.DeepEqual(got, want) {
						t.Fatalf("%s: %s, the app got %s", c.SDKCall, r.Body, c.Outcome.Returned)
					}
				case "queue.getQueueDetails":
					det, _ := obj["queueDetails"].(map[string]any)
					stats, _ := obj["stats"].(map[string]any)
					if det["name"] != "q1" || !reflect.DeepEqual(det["rate"], map[string]any{"maxInflight": float64(2), "msgPerSecond": float64(1)}) || det["active"] != true {
						t.Fatalf("details: %s (rate as updated just before)", r.Body)
					}
					for _, k := range []string{"currentRate", "currentInflight", "totalSent", "totalError", "totalEnqueue"} {
						if _, ok := stats[k].(float64); !ok {
							t.Fatalf("details: stats.%s missing: %s", k, r.Body)
						}
					}
				}
			}
			// The captures end with deleteQueue.
			if names, _ := h.queueStore().List(context.Background(), capInstance); len(names) != 0 {
				t.Fatalf("queues left: %v", names)
			}

			// Production mode: absolute-form URI through HTTP_PROXY, or the
			// Host header, with a percent-encoded queue name.
			q, err := queue.ParseCreate(capInstance, createQueueBody("q 1", 1, 1))
			if err != nil {
				t.Fatal(err)
			}
			if err := h.queueStore().Create(context.Background(), capInstance, q); err != nil {
				t.Fatal(err)
			}
			c := loadCapture(t, sdkName+"/prod-mode/queue-service-POST_queue_q_1_deadletter_pop.json")
			for _, style := range []string{"proxy", "host", "debug"} {
				if r := h.replay(c, style, tn); r.Status != 200 || strings.TrimSpace(string(r.Body)) != c.Response.Wire {
					t.Fatalf("prod-mode pop (%s): %d %s, want 200 %s", style, r.Status, r.Body, c.Response.Wire)
				}
			}
		})
	}
}
