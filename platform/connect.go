package platform

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/neru-dev/neru/delivery"
	"github.com/neru-dev/neru/internal/natsx"
	"github.com/neru-dev/neru/internal/readiness"
	"github.com/neru-dev/neru/internal/redisx"
)

// What a process waits for at start, as /readyz names it.
const (
	waitRedis   = "redis"
	waitNATS    = "nats"
	waitStreams = "jetstream streams"
)

// connect opens Redis and NATS and makes sure the streams are as cfg says,
// waiting with backoff for each in turn (reported to ready) until ctx ends:
// a process started before its servers, or while a NATS cluster elects its
// stream leaders, comes up when they do instead of exiting. A stream
// configuration the servers will never take (another partition count,
// replicas a standalone server cannot have) ends the wait at once with
// the reason. It also registers Redis and NATS as live readiness checks.
func connect(ctx context.Context, cfg Config, log *slog.Logger, ready *readiness.Reporter, natsOpts ...nats.Option) (redis.UniversalClient, *nats.Conn, jetstream.JetStream, error) {
	for _, w := range []string{waitRedis, waitNATS, waitStreams} {
		ready.Await(w)
	}
	log = log.With("component", "platform")
	rdb, err := redisx.Open(cfg.RedisURL)
	if err != nil {
		return nil, nil, nil, err
	}
	fail := func(err error, closers ...func()) (redis.UniversalClient, *nats.Conn, jetstream.JetStream, error) {
		for _, c := range closers {
			c()
		}
		return nil, nil, nil, err
	}
	closeRedis := func() { _ = rdb.Close() }
	if err := ready.Wait(ctx, log, waitRedis, readiness.DefaultBackoff, func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		return redisx.Ping(ctx, rdb)
	}); err != nil {
		return fail(errors.Join(errors.New("platform: redis"), err), closeRedis)
	}
	nc, err := natsx.Connect(cfg.NATSURL, "neru", natsOpts...)
	if err != nil {
		return fail(err, closeRedis)
	}
	closeNATS := func() { nc.Close() }
	if err := ready.Wait(ctx, log, waitNATS, readiness.DefaultBackoff, func(ctx context.Context) error {
		return natsx.WaitConnected(ctx, nc)
	}); err != nil {
		return fail(errors.Join(errors.New("platform: nats"), err), closeNATS, closeRedis)
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		return fail(err, closeNATS, closeRedis)
	}
	streams := delivery.StreamConfig{Replicas: cfg.StreamReplicas, Partitions: cfg.Partitions, Log: log}
	if err := ready.Wait(ctx, log, waitStreams, readiness.DefaultBackoff, func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		err := delivery.EnsureStreams(ctx, js, streams)
		if errors.Is(err, delivery.ErrStreamConfig) {
			return readiness.Fatal(err)
		}
		return err
	}); err != nil {
		return fail(err, closeNATS, closeRedis)
	}
	ready.AddCheck(waitRedis, redisReady(rdb))
	ready.AddCheck(waitNATS, natsReady(nc))
	return rdb, nc, js, nil
}

// redisReady is the live check of Redis: every master answers.
func redisReady(rdb redis.UniversalClient) func(context.Context) error {
	return func(ctx context.Context) error { return redisx.Ping(ctx, rdb) }
}

// natsReady is the live check of NATS: the connection is up.
func natsReady(nc *nats.Conn) func(context.Context) error {
	return func(context.Context) error {
		if !nc.IsConnected() {
			return natsx.ErrNotConnected
		}
		return nil
	}
}
