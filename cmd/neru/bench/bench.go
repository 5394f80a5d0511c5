// Package bench is `neru bench`: it drives webhooks through the whole
// platform in one process (gateway over real loopback HTTP → router →
// JetStream → worker → an app) and measures what comes out.
//
// The platform is wired exactly as `neru dev` wires it (platform.Open); the
// app is a sink that records when each delivery arrives. A run:
//
//  1. starts the servers it was not given (miniredis, embedded nats-server),
//     the sink, and an instance whose base URL is the sink;
//  2. registers L listeners with listener.Store.Add, many at once. Only
//     min(L, sessions) of them match the generated webhooks, one per
//     session; the others listen for numbers nothing is sent from, so every
//     index set holds one id and matching cost must not grow with L;
//  3. serves the gateway on a loopback port, runs a worker, and warms both
//     up with a few webhooks;
//  4. posts N inbound SMS webhooks from C posters over keep-alive
//     connections, round-robin over the matching listeners' senders, then
//     waits until every stored delivery has reached the sink (or a timeout).
//
// Ingest→delivery latency is the sink's arrival time minus the time the
// webhook's POST started; the webhook's message_uuid carries its sequence
// number, so the sink needs no JSON decoding to find it.
//
// Against a real Redis the run uses a fresh keyspace and deletes it at the
// end. Against a real NATS it uses that server's NERU_EVENTS and takes over
// its partition consumers: never point it at a NATS a platform is using.
package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"

	"github.com/neru-dev/neru/delivery"
	"github.com/neru-dev/neru/gateway"
	"github.com/neru-dev/neru/instance"
	"github.com/neru-dev/neru/internal/devenv"
	"github.com/neru-dev/neru/internal/redisx"
	"github.com/neru-dev/neru/listener"
	"github.com/neru-dev/neru/platform"
	"github.com/neru-dev/neru/worker"
)

// run is the state of one benchmark run. Times are nanoseconds since t0
// plus one (monotonic), so zero means "not yet".
type run struct {
	o        Options
	id       uint32
	keyspace string
	t0       time.Time

	starts   []atomic.Int64 // POST started
	acks     []atomic.Int64 // gateway answered 2xx
	arrivals []atomic.Int64 // first arrival at the sink

	delivered, warmDelivered, dups, strays atomic.Int64
}

func (r *run) now() int64 { return int64(time.Since(r.t0)) + 1 }

// Run performs one benchmark. A run that completes with missing
// deliveries is not an error: the Result says what is missing.
func Run(ctx context.Context, o Options) (res *Result, err error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	warm := min(o.Matching(), 100)
	r := &run{o: o, id: rand.Uint32(), t0: time.Now(), keyspace: "bench:"}
	r.starts = make([]atomic.Int64, o.Events+warm)
	r.acks = make([]atomic.Int64, o.Events+warm)
	r.arrivals = make([]atomic.Int64, o.Events+warm)
	res = &Result{
		Events: o.Events, Concurrency: o.Concurrency, Listeners: o.Listeners,
		MatchingListeners: o.Matching(), Sessions: o.Matching(), Partitions: o.Partitions,
		Storage: "file", GOMAXPROCS: runtime.GOMAXPROCS(0),
	}
	if o.MemoryStorage {
		res.Storage = "memory"
	}

	tmp, err := os.MkdirTemp("", "neru-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	redisURL, natsURL := o.RedisURL, o.NATSURL
	res.Redis, res.NATS = redisURL, natsURL
	if redisURL == "" || natsURL == "" {
		denv, err := devenv.Start(tmp, 0)
		if err != nil {
			return nil, err
		}
		defer denv.Close()
		if redisURL == "" {
			redisURL, res.Redis = denv.RedisURL, "in-process miniredis "+denv.RedisURL
		}
		if natsURL == "" {
			natsURL, res.NATS = denv.NATSURL, "embedded nats-server "+denv.NATSURL+" (JetStream in "+tmp+")"
		}
	}
	if o.RedisURL != "" {
		r.keyspace = fmt.Sprintf("neru-bench-%08x:", r.id)
		res.Redis += ", keyspace " + r.keyspace + " (deleted at the end)"
		// Registered first, so it runs last: after the worker has left.
		defer func() { err = errors.Join(err, r.cleanup(res)) }()
	}

	cfg := platform.Config{RedisURL: redisURL, NATSURL: natsURL, Keyspace: r.keyspace}
	cfg.Gateway = gateway.Config{Partitions: o.Partitions, CommandAddr: "-", AllowPrivateNetworks: true}
	cfg.Worker = worker.Config{Concurrency: o.WorkerConcurrency, AllowPrivateNetworks: true, DrainTime: 5 * time.Second}
	p, err := platform.Open(ctx, cfg, o.Log)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	if o.MemoryStorage {
		if err := memoryStreams(ctx, p.JS); err != nil {
			return nil, err
		}
	}

	sinkURL, stopSink, err := serve(http.HandlerFunc(r.sink))
	if err != nil {
		return nil, err
	}
	defer stopSink()
	inst := &instance.Instance{
		ID: "bench", BaseURL: sinkURL, ApplicationID: fmt.Sprintf("bench-%08x", r.id), Unauthenticated: true,
	}
	if err := p.Instances.Create(ctx, inst); err != nil {
		return nil, err
	}

	fmt.Fprintf(o.Progress, "registering %d listeners (%d matching, one per session)...\n", o.Listeners, o.Matching())
	took, err := r.register(ctx, p, inst.ID)
	if err != nil {
		return nil, fmt.Errorf("bench: register listeners: %w", err)
	}
	res.RegisterSeconds, res.RegisterPerSecond = took.Seconds(), rate(o.Listeners, took)
	fmt.Fprintf(o.Progress, "registered %d listeners in %s (%.0f/s)\n", o.Listeners, took.Round(time.Millisecond), res.RegisterPerSecond)

	g, err := p.Gateway()
	if err != nil {
		return nil, err
	}
	gatewayURL, stopGateway, err := serve(g.Handler())
	if err != nil {
		return nil, err
	}
	defer stopGateway()
	w, err := p.Worker()
	if err != nil {
		return nil, err
	}
	wctx, cancelWorker := context.WithCancel(context.Background())
	wdone := make(chan error, 1)
	go func() { wdone <- w.Run(wctx) }()
	stopWorker := sync.OnceValue(func() error { cancelWorker(); return <-wdone })
	defer stopWorker()

	bodies := make([][]byte, o.Events+warm)
	var path string
	for i := range bodies {
		path, bodies[i] = webhook(r.id, inst.ApplicationID, i, o.Matching())
	}
	post := &poster{r: r, url: gatewayURL + path, bodies: bodies, client: &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns: o.Concurrency, MaxIdleConnsPerHost: o.Concurrency,
			IdleConnTimeout: 90 * time.Second, DisableCompression: true,
		},
	}}
	defer post.client.CloseIdleConnections()

	// Warm-up: the worker claims its partitions, every connection pool fills.
	fmt.Fprintf(o.Progress, "warming up with %d webhooks...\n", warm)
	if st := post.run(ctx, o.Events, o.Events+warm, min(o.Concurrency, warm)); st.accepted != warm {
		return nil, fmt.Errorf("bench: warm-up: %d of %d webhooks accepted (non-2xx %v, transport errors %d)",
			st.accepted, warm, st.statuses, st.transport)
	}
	if !r.await(ctx, &r.warmDelivered, int64(warm), o.Timeout) {
		return nil, fmt.Errorf("bench: warm-up: %d of %d deliveries arrived within %s", r.warmDelivered.Load(), warm, o.Timeout)
	}

	// Measured phase.
	fmt.Fprintf(o.Progress, "posting %d webhooks with %d posters...\n", o.Events, o.Concurrency)
	res.LoadBefore = loadAvg()
	if o.CPUProfile != "" {
		f, err := os.Create(o.CPUProfile)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
	}
	stopTicker := r.tick(&post.done)
	pool0 := *p.Redis.PoolStats()
	rcpu0, rcpuOK := serverCPU(ctx, p.Redis)
	cpu0, phaseStart := cpuTime(), r.now()
	st := post.run(ctx, 0, o.Events, o.Concurrency)
	postEnd := r.now()
	r.await(ctx, &r.delivered, st.expected, o.Timeout)
	cpu1, wall := cpuTime(), time.Duration(r.now()-phaseStart)
	pool1 := *p.Redis.PoolStats()
	rcpu1, rcpuOK1 := serverCPU(ctx, p.Redis)
	stopTicker()
	if o.CPUProfile != "" {
		pprof.StopCPUProfile()
	}
	res.LoadAfter = loadAvg()
	if err := stopWorker(); err != nil {
		o.Log.Warn("worker stopped with an error", "err", err)
	}
	_, retried, dead := w.Metrics().Snapshot()

	res.Posted, res.Accepted, res.Errors, res.TransportErrors = int(post.done.Load()), st.accepted, st.errors, st.transport
	res.Statuses, res.Unmatched, res.Expected = st.statuses, st.unmatched, int(st.expected)
	res.PostSeconds = time.Duration(postEnd - phaseStart).Seconds()
	res.AcceptedPerSecond = rate(st.accepted, time.Duration(postEnd-phaseStart))
	lat, ack := make([]time.Duration, 0, o.Events), make([]time.Duration, 0, o.Events)
	var last int64
	for i := range o.Events {
		s := r.starts[i].Load()
		if a := r.acks[i].Load(); a > 0 {
			ack = append(ack, time.Duration(a-s))
		}
		if a := r.arrivals[i].Load(); a > 0 {
			lat = append(lat, time.Duration(a-s))
			last = max(last, a)
		}
	}
	res.AckLatency, res.Latency = summarize(ack), summarize(lat)
	res.Delivered = len(lat)
	res.Missing = max(res.Expected-res.Delivered, 0)
	res.Duplicates = int(r.dups.Load())
	if last > 0 {
		res.DeliverSeconds = time.Duration(last - phaseStart).Seconds()
		res.DeliveredPerSecond = rate(res.Delivered, time.Duration(last-phaseStart))
	}
	res.Retried, res.Dead = retried, dead
	res.CPUSeconds = (cpu1 - cpu0).Seconds()
	res.CoresUsed = res.CPUSeconds / wall.Seconds()
	if rcpuOK && rcpuOK1 {
		res.RedisCPUSeconds = (rcpu1 - rcpu0).Seconds()
	}
	if res.Delivered > 0 {
		res.CPUPerEventUs = (res.CPUSeconds + res.RedisCPUSeconds) / float64(res.Delivered) * 1e6
	}
	res.RedisPool = PoolUse{
		Conns:  int(pool1.TotalConns),
		Waits:  int(pool1.WaitCount - pool0.WaitCount),
		WaitMs: float64(pool1.WaitDurationNs-pool0.WaitDurationNs) / 1e6,
	}
	if n := r.strays.Load(); n > 0 {
		o.Log.Warn("the sink got deliveries it cannot attribute", "count", n)
	}
	return res, ctx.Err()
}

// memoryStreams recreates the (new, empty) streams of the embedded NATS with
// memory storage: platform.Open made them with file storage, and a stream's
// storage type cannot be updated in place.
func memoryStreams(ctx context.Context, js jetstream.JetStream) error {
	for _, s := range []string{delivery.EventsStream, delivery.DLQStream} {
		if err := js.DeleteStream(ctx, s); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			return fmt.Errorf("bench: delete stream %s: %w", s, err)
		}
	}
	return delivery.EnsureStreams(ctx, js, delivery.StreamConfig{MemoryStorage: true})
}

// serve serves h on a free loopback port and returns its base URL.
func serve(h http.Handler) (url string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}

var bufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// sink is the app: it records the first arrival of every webhook's delivery.
func (r *run) sink(w http.ResponseWriter, req *http.Request) {
	buf := bufs.Get().(*bytes.Buffer)
	buf.Reset()
	_, err := buf.ReadFrom(req.Body)
	at := r.now()
	seq, ok := seqOf(buf.Bytes())
	bufs.Put(buf)
	switch {
	case err != nil:
		w.WriteHeader(http.StatusBadRequest)
		return
	case !ok || seq >= len(r.arrivals):
		r.strays.Add(1)
	case !r.arrivals[seq].CompareAndSwap(0, at):
		r.dups.Add(1)
	case seq < r.o.Events:
		r.delivered.Add(1)
	default:
		r.warmDelivered.Add(1)
	}
	w.WriteHeader(http.StatusOK)
}

// await waits until *n reaches want, the timeout passes or ctx ends, and
// reports whether n reached want.
func (r *run) await(ctx context.Context, n *atomic.Int64, want int64, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for n.Load() < want {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(2 * time.Millisecond) // polling a counter the sink bumps
	}
	return true
}

// tick prints progress every two seconds until stopped.
func (r *run) tick(posted *atomic.Int64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fmt.Fprintf(r.o.Progress, "  posted %d/%d, delivered %d\n", posted.Load(), r.o.Events, r.delivered.Load())
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// register creates the sessions the listeners use (through the platform's
// session store, so they are indexed as in production), then the
// listeners, RegisterConcurrency at a time through a client with a pool
// that wide.
func (r *run) register(ctx context.Context, p *platform.Platform, instanceID string) (time.Duration, error) {
	start := time.Now()
	wide := widerClient(p.Redis, r.o.RegisterConcurrency)
	if wide == nil {
		wide = p.Redis
	} else {
		defer wide.Close()
	}
	ls := listener.NewStore(wide, r.keyspace)
	matching, sessions, total := r.o.Matching(), r.o.Matching(), r.o.Matching()+r.o.Listeners
	var next, done atomic.Int64
	eg, gctx := errgroup.WithContext(ctx)
	for range r.o.RegisterConcurrency {
		eg.Go(func() error {
			for {
				i := int(next.Add(1) - 1)
				if i >= total {
					return nil
				}
				var err error
				if i < sessions {
					// Listeners of a missing session never match: sessions first.
					_, err = p.Sessions.Create(gctx, instanceID, sessionID(r.id, i), 2*time.Hour)
				} else {
					err = ls.Add(gctx, listenerFor(r.id, instanceID, i-sessions, matching, sessions))
				}
				if err != nil {
					return err
				}
				done.Add(1)
			}
		})
	}
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				n := max(done.Load()-int64(sessions), 0)
				fmt.Fprintf(r.o.Progress, "  %d/%d listeners (%.0f/s)\n", n, r.o.Listeners, rate(int(n), time.Since(start)))
			}
		}
	}()
	err := eg.Wait()
	close(stop)
	return time.Since(start), err
}

// cleanup deletes the run's keyspace from the real Redis it was given.
func (r *run) cleanup(res *Result) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	rdb, err := redisx.Open(r.o.RedisURL)
	if err != nil {
		return err
	}
	defer rdb.Close()
	fmt.Fprintf(r.o.Progress, "deleting keyspace %s...\n", r.keyspace)
	start := time.Now()
	n, err := deleteKeyspace(ctx, rdb, r.keyspace)
	if res != nil {
		res.CleanupKeys, res.CleanupSeconds = n, time.Since(start).Seconds()
	}
	if err != nil {
		return fmt.Errorf("bench: delete keyspace %s (%d keys deleted): %w", r.keyspace, n, err)
	}
	return nil
}

// poster posts webhooks to the gateway.
type poster struct {
	r      *run
	url    string
	bodies [][]byte
	client *http.Client
	done   atomic.Int64 // measured webhooks answered (or failed)
}

type postStats struct {
	accepted, errors, transport, unmatched int
	expected                               int64 // deliveries the gateway reported stored
	statuses                               map[int]int
}

// run posts webhooks [from, to) from c posters and waits for every answer.
func (p *poster) run(ctx context.Context, from, to, c int) postStats {
	var (
		mu    sync.Mutex
		total = postStats{statuses: map[int]int{}}
		next  atomic.Int64
		wg    sync.WaitGroup
	)
	next.Store(int64(from))
	for range c {
		wg.Go(func() {
			var st postStats
			st.statuses = map[int]int{}
			for {
				i := int(next.Add(1) - 1)
				if i >= to || ctx.Err() != nil {
					break
				}
				p.one(ctx, i, &st)
				if i < p.r.o.Events {
					p.done.Add(1)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			total.accepted += st.accepted
			total.errors += st.errors
			total.transport += st.transport
			total.unmatched += st.unmatched
			total.expected += st.expected
			for code, n := range st.statuses {
				total.statuses[code] += n
			}
		})
	}
	wg.Wait()
	if len(total.statuses) == 0 {
		total.statuses = nil
	}
	return total
}

func (p *poster) one(ctx context.Context, i int, st *postStats) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(p.bodies[i]))
	if err != nil {
		st.transport++
		return
	}
	req.Header.Set("Content-Type", "application/json")
	p.r.starts[i].Store(p.r.now())
	resp, err := p.client.Do(req)
	if err != nil {
		st.transport++
		return
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		st.errors++
		st.statuses[resp.StatusCode]++
		return
	}
	if err != nil {
		st.transport++
		return
	}
	p.r.acks[i].Store(p.r.now())
	st.accepted++
	var reply struct{ Deliveries int }
	if json.Unmarshal(body, &reply) != nil || reply.Deliveries == 0 {
		st.unmatched++
	}
	st.expected += int64(reply.Deliveries)
}
