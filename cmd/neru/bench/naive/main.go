// Command naive is the yardstick of `neru bench`, not a product: the
// pipeline someone would write in an afternoon from the platform's own
// libraries (echo, go-redis, nats.go), with none of its guarantees. Per
// webhook: read the body, one Redis HGETALL (the "listener lookup"), a
// JetStream publish that waits for its ack, 200. A pull consumer hands each
// message to one of 64 goroutines, which POSTs it to the app and acks it.
// No dedupe, no per-session order, no auth, no retries worth the name.
//
// It prints "naive <url>" once it serves, and deletes its stream on exit.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
)

type config struct {
	addr, redisURL, natsURL, appURL, stream string
	workers                                 int
}

func main() {
	var c config
	flag.StringVar(&c.addr, "addr", "127.0.0.1:0", "webhook listen address")
	flag.StringVar(&c.redisURL, "redis-url", "redis://127.0.0.1:6379", "Redis")
	flag.StringVar(&c.natsURL, "nats-url", "nats://127.0.0.1:4222", "NATS with JetStream")
	flag.StringVar(&c.appURL, "app-url", "http://127.0.0.1:3000/onMessage", "where each event is POSTed")
	flag.StringVar(&c.stream, "stream", "NAIVE", "JetStream stream (file storage), created and deleted by this process")
	flag.IntVar(&c.workers, "workers", 64, "app POSTs in flight")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, c, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "naive:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config, ready io.Writer) error {
	opt, err := redis.ParseURL(c.redisURL)
	if err != nil {
		return err
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	key := "naive:" + c.stream + ":route"
	if err := rdb.HSet(ctx, key, "path", "/onMessage", "instance", "naive").Err(); err != nil {
		return err
	}
	defer rdb.Del(context.Background(), key)

	nc, err := nats.Connect(c.natsURL)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	subject := "naive." + c.stream
	st, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: c.stream, Subjects: []string{subject}, Storage: jetstream.FileStorage})
	if err != nil {
		return err
	}
	defer js.DeleteStream(context.Background(), c.stream)
	cons, err := st.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "app", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		return err
	}

	app := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: c.workers}}
	work := make(chan jetstream.Msg, c.workers)
	for range c.workers {
		go func() {
			for m := range work {
				req, err := http.NewRequest(http.MethodPost, c.appURL, bytes.NewReader(m.Data()))
				if err != nil {
					_ = m.Term()
					continue
				}
				req.Header.Set("Content-Type", "application/json")
				resp, err := app.Do(req)
				if err != nil {
					_ = m.Nak()
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				_ = m.Ack()
			}
		}()
	}
	cc, err := cons.Consume(func(m jetstream.Msg) { work <- m })
	if err != nil {
		return err
	}
	defer cc.Stop()

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.POST("/webhooks/:app/messages/inbound", func(ec echo.Context) error {
		body, err := io.ReadAll(ec.Request().Body)
		if err != nil {
			return ec.NoContent(http.StatusBadRequest)
		}
		if err := rdb.HGetAll(ec.Request().Context(), key).Err(); err != nil {
			return ec.NoContent(http.StatusServiceUnavailable)
		}
		if _, err := js.Publish(ec.Request().Context(), subject, body); err != nil {
			return ec.NoContent(http.StatusServiceUnavailable)
		}
		return ec.NoContent(http.StatusOK)
	})
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(ready, "naive http://%s\n", ln.Addr())
	select {
	case <-ctx.Done():
	case err := <-errc:
		return err
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
