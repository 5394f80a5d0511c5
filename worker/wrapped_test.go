package worker

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/neru-dev/neru/delivery"
	"github.com/neru-dev/neru/instance"
	"github.com/neru-dev/neru/internal/httpx"
	"github.com/neru-dev/neru/internal/testenv"
)

// runWrapped publishes events e0..e<n-1> of one session on js, runs a
// worker that reaches JetStream through wrapped (a js that misbehaves on
// purpose), and waits until the stream is empty: a work-queue stream keeps
// a message until it is acked, so empty means every one was acked. It
// returns the worker and the delivery ids the app got, in order.
func runWrapped(t *testing.T, js, wrapped jetstream.JetStream, n int) (*Worker, []string) {
	t.Helper()
	rdb, ks := testenv.Redis(t)
	ctx := context.Background()
	var mu sync.Mutex
	var got []string
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, r.Header.Get("x-neru-delivery-id"))
	}))
	t.Cleanup(app.Close)
	instances := instance.NewStore(rdb, ks)
	if err := instances.Create(ctx, &instance.Instance{ID: "i1", BaseURL: app.URL, ApplicationID: "a1"}); err != nil {
		t.Fatal(err)
	}
	w, err := New(Config{ID: "w1", Partitions: 2, LeaseTTL: time.Second, DrainTime: time.Second, AppNetworks: httpx.Loopback},
		wrapped, rdb, ks, instances, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		d := &delivery.Delivery{ID: "e" + strconv.Itoa(i), InstanceID: "i1", SessionID: "s1", ListenerID: "l1", Path: "/on",
			Kind: "test", AcceptedAt: time.Now(), Body: []byte(`{}`)}
		if _, err := js.PublishMsg(ctx, d.Msg(2)); err != nil {
			t.Fatal(err)
		}
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	t.Cleanup(func() { cancel(); <-done })

	events, err := js.Stream(ctx, delivery.EventsStream)
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, func() bool {
		info, err := events.Info(ctx)
		return err == nil && info.State.Msgs == 0
	}, "events stay unacked in the stream")
	mu.Lock()
	defer mu.Unlock()
	return w, append([]string(nil), got...)
}
