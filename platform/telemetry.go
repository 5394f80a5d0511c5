package platform

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/neru-dev/neru/delivery"
	"github.com/neru-dev/neru/internal/readiness"
	"github.com/neru-dev/neru/internal/telemetry"
	"github.com/neru-dev/neru/worker"
)

// defaultOpsAddr is each binary's operations listener unless NERU_OPS_ADDR
// says otherwise: loopback, so pprof and the metrics are not exposed by
// accident; deploy/ sets 0.0.0.0 for the kubelet and Prometheus.
var defaultOpsAddr = map[string]string{"gateway": "127.0.0.1:9090", "worker": "127.0.0.1:9091"}

// opsFromEnv reads the operations listener's settings: its address ("-"
// disables it) and whether metrics carry instance ids.
func opsFromEnv(name string) (addr string, opts telemetry.Options, err error) {
	addr = defaultOpsAddr[name]
	if v, ok := os.LookupEnv("NERU_OPS_ADDR"); ok {
		addr = v
	}
	if v, ok := os.LookupEnv("NERU_METRICS_INSTANCE_LABEL"); ok {
		b, perr := strconv.ParseBool(v)
		if perr != nil {
			return "", opts, errors.New("NERU_METRICS_INSTANCE_LABEL: " + strconv.Quote(v) + " is not true or false")
		}
		opts.InstanceLabel = b
	}
	return addr, opts, nil
}

// serveOps serves the operations endpoints on addr until ctx ends. It is
// started before the platform connects, so /healthz answers and /readyz
// says what is awaited while Redis and NATS are not there yet.
func serveOps(addr string, h http.Handler, log *slog.Logger) (stop func(), err error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("operations listener stopped", "err", err)
		}
	}()
	log.Info("operations listener", "addr", l.Addr().String())
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-done
	}, nil
}

// Instrument makes m the platform's metrics: it observes every webhook and
// delivery attempt, and its gauges read the DLQ depth and the workers'
// partitions and lanes at each scrape. Call it once, before building the
// gateway or the worker.
func (p *Platform) Instrument(m *telemetry.Metrics) {
	p.Metrics = m
	p.Observers.Add(m)
	m.SetGauges(telemetry.Gauges{
		DLQ: func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			s, err := p.JS.Stream(ctx, delivery.DLQStream)
			if err != nil {
				return -1 // the scrape still answers; -1 says the DLQ could not be read
			}
			info, err := s.Info(ctx)
			if err != nil {
				return -1
			}
			return float64(info.State.Msgs)
		},
		Partitions: func() float64 {
			return float64(p.workers.sum(func(w *worker.Worker) int { return w.PartitionsOwned() }))
		},
		Lanes: func() float64 { return float64(p.workers.sum(func(w *worker.Worker) int { return w.Lanes() })) },
		Circuits: func() float64 {
			return float64(p.workers.sum(func(w *worker.Worker) int {
				open := 0
				for _, c := range w.Circuits() {
					if c.Open {
						open++
					}
				}
				return open
			}))
		},
	})
}

// workerSet is the workers a platform built, for the gauges.
type workerSet struct {
	mu sync.Mutex
	ws []*worker.Worker
}

func (s *workerSet) add(w *worker.Worker) {
	s.mu.Lock()
	s.ws = append(s.ws, w)
	s.mu.Unlock()
}

func (s *workerSet) sum(f func(*worker.Worker) int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, w := range s.ws {
		n += f(w)
	}
	return n
}

// workerReady adds a worker's own condition to a process's readiness: it
// is not ready until the worker's first rebalance has claimed its share of
// the partitions and created their consumers.
func workerReady(ready *readiness.Reporter, w *worker.Worker) {
	ready.Await("partitions")
	go func() {
		<-w.Started()
		ready.Done("partitions")
	}()
}
