package readiness

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

var fast = Backoff{Min: time.Millisecond, Max: 5 * time.Millisecond}

func probe(t *testing.T, r *Reporter) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("/readyz body %q: %v", rec.Body.String(), err)
	}
	return rec.Code, body
}

// While Wait retries, /readyz names what is awaited; once try succeeds, the
// process is ready.
func TestWaitRetriesUntilReady(t *testing.T) {
	r := New()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var tries atomic.Int32
	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- r.Wait(context.Background(), log, "redis", fast, func(context.Context) error {
			tries.Add(1)
			select {
			case <-release:
				return nil
			default:
				return errors.New("connection refused")
			}
		})
	}()
	for tries.Load() < 3 {
		time.Sleep(time.Millisecond) // polling the retry counter
	}
	code, body := probe(t, r)
	if code != http.StatusServiceUnavailable || body["message"] != "waiting for redis" {
		t.Fatalf("while waiting: %d %v; want 503 waiting for redis", code, body)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Wait = %v", err)
	}
	if code, body := probe(t, r); code != http.StatusOK || body["status"] != "ready" {
		t.Fatalf("after Wait: %d %v; want 200 ready", code, body)
	}
}

// A Fatal error is returned at once, unwrapped, and not retried.
func TestWaitStopsOnFatal(t *testing.T) {
	r := New()
	refused := errors.New("partitions differ")
	n := 0
	err := r.Wait(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)), "streams", fast, func(context.Context) error {
		n++
		return Fatal(refused)
	})
	if err != refused || n != 1 {
		t.Fatalf("Wait = %v after %d tries; want the refusal after 1", err, n)
	}
}

// Live checks count once nothing is awaited.
func TestLiveCheck(t *testing.T) {
	r := New()
	var down atomic.Bool
	r.AddCheck("nats", func(context.Context) error {
		if down.Load() {
			return errors.New("disconnected")
		}
		return nil
	})
	if code, _ := probe(t, r); code != http.StatusOK {
		t.Fatalf("healthy: %d", code)
	}
	down.Store(true)
	if code, body := probe(t, r); code != http.StatusServiceUnavailable || body["message"] != "waiting for nats" {
		t.Fatalf("nats down: %d %v", code, body)
	}
}
