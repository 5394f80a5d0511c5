package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/neru-dev/neru/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// Every webhook it accepts reaches the app.
func TestNaiveDelivers(t *testing.T) {
	var got atomic.Int64
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if strings.Contains(string(body), "hello") {
			got.Add(1)
		}
	}))
	defer app.Close()
	ns := testenv.NATSServer(t)
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(t.Context(), config{addr: "127.0.0.1:0", redisURL: testenv.RedisURL(t), natsURL: ns.ClientURL(),
			appURL: app.URL + "/onMessage", stream: fmt.Sprintf("NAIVE_TEST_%d", time.Now().UnixNano()), workers: 4}, pw)
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	url := strings.TrimSpace(strings.TrimPrefix(line, "naive "))
	const n = 20
	for i := range n {
		resp, err := http.Post(url+"/webhooks/app/messages/inbound", "application/json", strings.NewReader(fmt.Sprintf(`{"text":"hello %d"}`, i)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("webhook %d: %s", i, resp.Status)
		}
	}
	testenv.Eventually(t, 30*time.Second, func() bool { return got.Load() == n }, "app got %d of %d", got.Load(), n)
	select {
	case err := <-done:
		t.Fatalf("naive stopped early: %v", err)
	default:
	}
}
