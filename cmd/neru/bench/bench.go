// Package bench is `neru bench`: it measures the platform from outside, as
// a user does. Every part runs in its own process, so the CPU each one
// spends is seen apart:
//
//   - the platform: `neru dev` started as a child (on the Redis and NATS
//     given, or its embedded ones), or an already running one (--target);
//   - the app: `neru bench sink`, a child that records when each delivery
//     arrived (and serves a bare echo handler for the state row);
//   - the load generator: this process, posting unique inbound-SMS webhooks
//     over keep-alive connections, as a provider does;
//   - optionally the naive pipeline (cmd/neru/bench/naive), a yardstick
//     built from the same libraries without any of the platform's
//     guarantees, driven with the same load in the same run.
//
// A run registers one listener and one session per sender number through
// the Go SDK (what an app does: in batches of a thousand, Client.Subscribe),
// then measures phases: the maximum rate (closed loop: every connection
// posts its next webhook once the previous one was answered), half of it
// (paced, for latency), the naive pipeline, SDK state operations against
// the echo handler, and the maximum again after registering up to a
// million listeners that never match.
//
// Times cross processes as wall-clock Unix nanoseconds (one machine, one
// clock). CPU seconds come from /proc/<pid>/stat of each process: the
// platform, the sink, this process, and the Redis and NATS servers found
// listening on the URLs' local ports.
//
// Against a real Redis the platform gets a fresh keyspace (NERU_KEYSPACE),
// deleted at the end. Against a real NATS it uses that server's NERU_EVENTS
// stream and takes over its partition consumers: never point it at a NATS
// a platform is using.
package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/neru-dev/neru/internal/redisx"
	"github.com/neru-dev/neru/sdk"
)

// bench is the state of one invocation.
type bench struct {
	o        Options
	keyspace string
	webhooks string // the platform's webhook base URL
	command  string // its SDK command endpoint
	appID    string
	instID   string

	sink            sinkClient
	sinkURL         string
	echoURL         string
	procs           []proc // whose CPU each phase reports
	registered      int
	runs            atomic.Uint32
	platform, naive *child
	sinkChild       *child
	devRedis        string // the Redis and NATS neru dev uses
	devNATS         string
}

// proc is a process whose CPU a phase reports.
type proc struct {
	role string
	pid  int // 0: not found (its CPU is not reported)
	note string
}

// Run performs the phases o asks for. A phase that completes with missing
// deliveries is not an error: its Phase says what is missing.
func Run(ctx context.Context, o Options) (rep *Report, err error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.Self == "" {
		if o.Self, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	b := &bench{o: o, sink: sinkClient{client: newClient(4)}}
	rep = &Report{Machine: describeMachine(o), Options: o}
	tmp, err := os.MkdirTemp("", "neru-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	defer func() { err = errors.Join(err, b.stop()) }()
	if err := b.startSink(ctx); err != nil {
		return nil, err
	}
	if err := b.startPlatform(ctx, tmp); err != nil {
		return nil, err
	}
	if o.RedisURL == "" && b.devRedis != "" {
		rep.Machine.Redis = "neru dev's own: " + redisVersion(b.devRedis)
	}

	reg, err := b.register(ctx, 0, o.Sessions+o.Listeners)
	if err != nil {
		return rep, err
	}
	rep.Register = reg
	if err := b.warmUp(ctx, b.webhooks); err != nil {
		return rep, err
	}
	var naiveTarget string
	var naiveProcs []proc
	if o.Naive != "" {
		if naiveTarget, naiveProcs, err = b.startNaive(ctx); err != nil {
			return rep, err
		}
	}
	// Platform and naive pipeline take turns, so a change in the machine's
	// load hits both; each is reported by its median round.
	var maxes, naives []*Phase
	for range o.Rounds {
		p, err := b.phase(ctx, "maximum", b.webhooks, o.Events, o.Rate, b.procs)
		if err != nil {
			return rep, err
		}
		maxes = append(maxes, p)
		if naiveTarget != "" {
			n, err := b.phase(ctx, "naive", naiveTarget, o.Events, o.Rate, naiveProcs)
			if err != nil {
				return rep, err
			}
			naives = append(naives, n)
			rep.Rounds = append(rep.Rounds, Round{Platform: p.DeliveredPerSecond, Naive: n.DeliveredPerSecond})
		}
	}
	rep.Max, rep.Naive = median(maxes), median(naives)
	b.naive.stop()
	b.naive = nil
	if o.HalfLoad && rep.Max.DeliveredPerSecond > 0 {
		rate := rep.Max.DeliveredPerSecond / 2
		if rep.Half, err = b.phase(ctx, "half", b.webhooks, max(o.Events/2, 1), rate, b.procs); err != nil {
			return rep, err
		}
	}
	if o.StateOps > 0 {
		if rep.State, err = b.stateOps(ctx); err != nil {
			return rep, err
		}
	}
	if o.ScaleTo > 0 {
		if rep.ScaleRegister, err = b.register(ctx, b.registered, o.ScaleTo); err != nil {
			return rep, err
		}
		if err := b.warmUp(ctx, b.webhooks); err != nil {
			return rep, err
		}
		if rep.Scaled, err = b.phase(ctx, "scaled", b.webhooks, o.Events, o.Rate, b.procs); err != nil {
			return rep, err
		}
	}
	return rep, ctx.Err()
}

func (b *bench) startSink(ctx context.Context) error {
	addr := b.o.AppAddr
	if b.o.Target == "" || addr == "" {
		var err error
		if addr, err = freeAddr(); err != nil {
			return err
		}
	}
	c, urls, err := start(ctx, "sink", b.o.Self, []string{"bench", "sink", "--addr", addr, "--echo-addr", "127.0.0.1:0"},
		b.o.SelfEnv, 30*time.Second, "sink ", "echo ")
	if err != nil {
		return err
	}
	b.sinkChild = c
	b.sinkURL, b.echoURL = urls[0], urls[1]
	b.sink.url = b.sinkURL
	b.procs = append(b.procs, proc{role: "app (sink)", pid: c.pid()})
	return nil
}

func (b *bench) startPlatform(ctx context.Context, tmp string) error {
	self := proc{role: "load generator", pid: os.Getpid()}
	if b.o.Target != "" {
		b.webhooks, b.command = strings.TrimRight(b.o.Target, "/"), strings.TrimRight(b.o.CommandURL, "/")
		b.appID, b.instID = b.o.ApplicationID, b.o.InstanceID
		pid := b.o.PlatformPID
		if pid == 0 {
			pid = listenerPID(b.webhooks)
		}
		b.procs = append(b.procs, proc{role: "platform", pid: pid}, self)
		return nil
	}
	run := rand.Uint32()
	addr, err1 := freeAddr()
	cmd, err2 := freeAddr()
	fake, err3 := freeAddr()
	if err := errors.Join(err1, err2, err3); err != nil {
		return err
	}
	b.appID, b.instID = fmt.Sprintf("bench-%08x", run), "bench"
	args := []string{"dev", "--data-dir", filepath.Join(tmp, "dev"), "--addr", addr, "--command-addr", cmd,
		"--fake-vonage-addr", fake, "--app-url", b.sinkURL, "--application-id", b.appID, "--instance", b.instID,
		"-q"} // a line per event would be part of what is measured
	if b.o.RedisURL != "" {
		args = append(args, "--redis-url", b.o.RedisURL)
	}
	if b.o.NATSURL != "" {
		args = append(args, "--nats-url", b.o.NATSURL)
	}
	if b.o.PprofAddr != "" {
		args = append(args, "--pprof-addr", b.o.PprofAddr)
	}
	b.keyspace = fmt.Sprintf("neru-bench-%08x:", run)
	env := append([]string{"NERU_KEYSPACE=" + b.keyspace, "NERU_LOG_LEVEL=error"}, b.o.SelfEnv...)
	fmt.Fprintf(b.o.Progress, "starting neru %s\n", strings.Join(args, " "))
	c, banner, err := start(ctx, "platform (neru dev)", b.o.Self, args, env, 2*time.Minute, "  redis ", "  nats ", "ready in")
	if err != nil {
		return err
	}
	b.platform = c
	b.webhooks, b.command = "http://"+addr, "http://"+cmd
	b.procs = append(b.procs, proc{role: "platform", pid: c.pid()}, self)
	// The banner says where neru dev's servers are: its own child
	// processes, in its process, or the ones given.
	b.devRedis, b.devNATS = urlIn(banner[0], b.o.RedisURL), urlIn(banner[1], b.o.NATSURL)
	b.procs = append(b.procs, serverProc("redis", b.devRedis, c.pid()), serverProc("nats", b.devNATS, c.pid()))
	return nil
}

// urlIn is the first URL in a banner line, or def.
func urlIn(line, def string) string {
	for _, f := range strings.Fields(line) {
		if strings.Contains(f, "://") {
			return strings.Trim(f, "(),;")
		}
	}
	return def
}

// serverProc finds the server listening on rawURL's port.
func serverProc(role, rawURL string, platform int) proc {
	switch pid := listenerPID(rawURL); pid {
	case 0:
		return proc{role: role, note: "not found on this machine"}
	case platform:
		return proc{role: role, note: "in the platform's process"}
	default:
		return proc{role: role, pid: pid}
	}
}

// stop ends every child and deletes the platform's keyspace.
func (b *bench) stop() error {
	b.sinkChild.stop()
	b.naive.stop()
	if b.platform == nil {
		return nil
	}
	b.platform.stop()
	if b.o.RedisURL == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	rdb, err := redisx.Open(b.o.RedisURL)
	if err != nil {
		return err
	}
	defer rdb.Close()
	fmt.Fprintf(b.o.Progress, "deleting keyspace %s...\n", b.keyspace)
	if n, err := deleteKeyspace(ctx, rdb, b.keyspace); err != nil {
		return fmt.Errorf("bench: delete keyspace %s (%d keys deleted): %w", b.keyspace, n, err)
	}
	return nil
}

// register registers listeners [from, to) through the Go SDK, as an app
// that registers many numbers at start does: in batches of
// sdk.MaxSubscriptions (Client.Subscribe, one subscribe-many request each),
// RegisterConcurrency requests in flight. Listener j < Sessions listens, in
// session j, for SMS from customer j; the others listen for strangers,
// spread over the same sessions.
func (b *bench) register(ctx context.Context, from, to int) (Registration, error) {
	fmt.Fprintf(b.o.Progress, "registering listeners %d-%d through the SDK...\n", from, to-1)
	c := sdk.New(sdk.Config{Endpoint: b.command, InstanceID: b.instID, ApplicationID: b.appID,
		HTTPClient: newClient(b.o.RegisterConcurrency)})
	run := uint32(0x5e55) // session ids stay the same across phases
	startAt := time.Now()
	var next, done atomic.Int64
	next.Store(int64(from))
	eg, gctx := errgroup.WithContext(ctx)
	for range b.o.RegisterConcurrency {
		eg.Go(func() error {
			for {
				first := int(next.Add(sdk.MaxSubscriptions) - sdk.MaxSubscriptions)
				if first >= to {
					return nil
				}
				subs := make([]sdk.Subscription, 0, min(sdk.MaxSubscriptions, to-first))
				for j := first; j < to && j < first+sdk.MaxSubscriptions; j++ {
					num := customer(j)
					if j >= b.o.Sessions {
						num = stranger(j)
					}
					subs = append(subs, c.Session(sessionID(run, j%b.o.Sessions)).MessageSubscription("/onMessage",
						sdk.Contact{Type: "sms", Number: num}, sdk.Contact{Type: "sms", Number: vonageNumber}))
				}
				if _, err := c.Subscribe(gctx, subs...); err != nil {
					return fmt.Errorf("bench: register listeners %d-%d: %w", first, first+len(subs)-1, err)
				}
				n := done.Add(int64(len(subs)))
				if prev := n - int64(len(subs)); n/100_000 > prev/100_000 {
					fmt.Fprintf(b.o.Progress, "  %d listeners (%.0f/s)\n", n/100_000*100_000, rate(int(n), time.Since(startAt)))
				}
			}
		})
	}
	err := eg.Wait()
	took := time.Since(startAt)
	b.registered = from + int(done.Load())
	r := Registration{Listeners: int(done.Load()), Seconds: took.Seconds(), PerSecond: rate(int(done.Load()), took)}
	fmt.Fprintf(b.o.Progress, "registered %d listeners in %.2fs (%.0f/s)\n", r.Listeners, r.Seconds, r.PerSecond)
	return r, err
}

// warmUp posts a webhook per session, so every lane, pool and consumer is
// up before a measured phase.
func (b *bench) warmUp(ctx context.Context, target string) error {
	p, err := b.phase(ctx, "", target, min(b.o.Sessions, 1000), 0, nil)
	if err != nil {
		return err
	}
	if !p.Complete() {
		return fmt.Errorf("bench: warm-up incomplete: %s", p.problem())
	}
	return nil
}

// phase posts n webhooks to target (closed loop, or paced at perSecond),
// waits for their deliveries at the sink and measures. An empty name is a
// warm-up: measured all the same, reported by nobody.
func (b *bench) phase(ctx context.Context, name, target string, n int, perSecond float64, procs []proc) (*Phase, error) {
	if err := b.alive(); err != nil {
		return nil, err
	}
	run := rand.Uint32()
	if err := b.sink.reset(ctx, run, n); err != nil {
		return nil, err
	}
	var path string
	bodies := make([][]byte, n)
	for i := range bodies {
		path, bodies[i] = webhook(run, b.appID, i, b.o.Sessions)
	}
	if name != "" {
		fmt.Fprintf(b.o.Progress, "phase %s: %d webhooks over %d connections%s...\n", name, n, b.o.Concurrency, paced(perSecond))
	}
	client := newClient(b.o.Concurrency)
	defer client.CloseIdleConnections()
	post := &poster{client: client, url: target + path, bodies: bodies}
	ph := &Phase{Name: name, Events: n, Concurrency: b.o.Concurrency, OfferedPerSecond: perSecond, LoadBefore: loadAvg()}
	cpu0 := cpuOf(procs)
	t0 := time.Now().UnixNano()
	st := post.run(ctx, b.o.Concurrency, perSecond)
	postEnd := time.Now().UnixNano()
	delivered, dups, strays, err := b.await(ctx, int(st.expected))
	if err != nil {
		return nil, err
	}
	end := time.Now().UnixNano()
	cpu1 := cpuOf(procs)
	arrivals, err := b.sink.arrivals(ctx)
	if err != nil {
		return nil, err
	}
	ph.LoadAfter = loadAvg()

	ph.Posted, ph.Accepted, ph.Errors, ph.TransportErrors = int(post.posted.Load()), st.accepted, st.errors, st.transport
	ph.Statuses, ph.Unmatched, ph.Expected = st.statuses, st.unmatched, int(st.expected)
	ph.Delivered, ph.Duplicates, ph.Strays = delivered, dups, strays
	ph.Missing = max(ph.Expected-ph.Delivered, 0)
	ph.AcceptedPerSecond = rate(st.accepted, time.Duration(postEnd-t0))
	ack, lat := make([]time.Duration, 0, n), make([]time.Duration, 0, n)
	var last int64
	for i := range n {
		s := post.starts[i].Load()
		if a := post.acks[i].Load(); a > 0 {
			ack = append(ack, time.Duration(a-s))
		}
		if i < len(arrivals) && arrivals[i] > 0 && s > 0 {
			lat = append(lat, time.Duration(arrivals[i]-s))
			last = max(last, arrivals[i])
		}
	}
	ph.Ack, ph.Latency = summarize(ack), summarize(lat)
	if last > t0 {
		ph.Seconds = time.Duration(last - t0).Seconds()
		ph.DeliveredPerSecond = rate(len(lat), time.Duration(last-t0))
	}
	for i, p := range procs {
		pc := ProcCPU{Role: p.role, PID: p.pid, Note: p.note}
		if p.pid != 0 {
			pc.Name = procName(p.pid)
			pc.Seconds = (cpu1[i] - cpu0[i]).Seconds()
			if delivered > 0 {
				pc.MicrosPerEvent = pc.Seconds / float64(delivered) * 1e6
			}
		}
		ph.CPU = append(ph.CPU, pc)
	}
	ph.WallSeconds = time.Duration(end - t0).Seconds()
	if name != "" {
		ph.WriteText(b.o.Progress)
	}
	return ph, nil
}

func paced(perSecond float64) string {
	if perSecond <= 0 {
		return " (closed loop)"
	}
	return fmt.Sprintf(", paced at %.0f/s", perSecond)
}

func cpuOf(procs []proc) []time.Duration {
	out := make([]time.Duration, len(procs))
	for i, p := range procs {
		if p.pid != 0 {
			out[i], _ = procCPU(p.pid)
		}
	}
	return out
}

// await polls the sink until want deliveries arrived or none arrived for
// the timeout.
func (b *bench) await(ctx context.Context, want int) (delivered, dups, strays int, err error) {
	lastChange, lastN := time.Now(), -1
	for {
		if delivered, dups, strays, err = b.sink.count(ctx); err != nil {
			return
		}
		if delivered >= want {
			return
		}
		if delivered != lastN {
			lastChange, lastN = time.Now(), delivered
		} else if time.Since(lastChange) > b.o.Timeout {
			return
		}
		if err = b.alive(); err != nil {
			return
		}
		select {
		case <-ctx.Done():
			err = ctx.Err()
			return
		case <-time.After(2 * time.Millisecond): // polling the sink's counter
		}
	}
}

func (b *bench) alive() error {
	for _, c := range []*child{b.platform, b.naive} {
		if c != nil {
			if err := c.alive(); err != nil {
				return err
			}
		}
	}
	return nil
}

// startNaive starts the naive pipeline on the same servers, delivering to
// the same sink, and warms it up. It returns its webhook base URL and the
// processes its phases measure: itself instead of the platform.
func (b *bench) startNaive(ctx context.Context) (string, []proc, error) {
	addr, err := freeAddr()
	if err != nil {
		return "", nil, err
	}
	stream := fmt.Sprintf("NAIVE_%08x", rand.Uint32())
	c, urls, err := start(ctx, "naive pipeline", b.o.Naive, []string{"--addr", addr, "--redis-url", b.o.RedisURL,
		"--nats-url", b.o.NATSURL, "--app-url", b.sinkURL + "/onMessage", "--stream", stream}, nil, time.Minute, "naive ")
	if err != nil {
		return "", nil, err
	}
	b.naive = c
	procs := []proc{{role: "naive pipeline", pid: c.pid()}}
	for _, p := range b.procs {
		if p.role != "platform" {
			procs = append(procs, p)
		}
	}
	if err := b.warmUp(ctx, urls[0]); err != nil {
		return "", nil, fmt.Errorf("bench: naive: %w", err)
	}
	return urls[0], procs, nil
}

// median is the phase with the median delivered/s (the lower middle one of
// an even count); nil for none.
func median(ps []*Phase) *Phase {
	if len(ps) == 0 {
		return nil
	}
	sorted := slices.Clone(ps)
	slices.SortFunc(sorted, func(a, b *Phase) int { return cmp.Compare(a.DeliveredPerSecond, b.DeliveredPerSecond) })
	return sorted[(len(sorted)-1)/2]
}

// stateOps measures SDK state operations (set, then get of the same key)
// through the command endpoint against POSTs of the same size to a bare
// echo handler, both from Concurrency connections.
func (b *bench) stateOps(ctx context.Context) (*StateResult, error) {
	n, conc := b.o.StateOps, b.o.Concurrency
	fmt.Fprintf(b.o.Progress, "phase state: %d SDK state operations, then %d echo requests, over %d connections...\n", n, n, conc)
	c := sdk.New(sdk.Config{Endpoint: b.command, InstanceID: b.instID, ApplicationID: b.appID, HTTPClient: newClient(conc)})
	res := &StateResult{Ops: n, Concurrency: conc}
	timed := func(op func(i int) error) (float64, error) {
		var next atomic.Int64
		eg, gctx := errgroup.WithContext(ctx)
		t0 := time.Now()
		for range conc {
			eg.Go(func() error {
				for i := int(next.Add(1) - 1); i < n && gctx.Err() == nil; i = int(next.Add(1) - 1) {
					if err := op(i); err != nil {
						return err
					}
				}
				return nil
			})
		}
		err := eg.Wait()
		return rate(n, time.Since(t0)), err
	}
	value := map[string]any{"text": "hello from the bench", "n": 42}
	var err error
	res.StatePerSecond, err = timed(func(i int) error {
		st := c.Session(sessionID(0x5e55, i%b.o.Sessions)).State()
		key := fmt.Sprintf("k%d", i/2%1000)
		if i%2 == 0 {
			return st.Set(ctx, key, value)
		}
		var out map[string]any
		_, err := st.Get(ctx, key, &out)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("bench: state ops: %w", err)
	}
	echo := newClient(conc)
	body := `{"command":"set","key":"k1","args":["{\"text\":\"hello from the bench\",\"n\":42}"]}`
	res.EchoPerSecond, err = timed(func(int) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.echoURL+"/state", strings.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := echo.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("echo answered %s", resp.Status)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("bench: echo: %w", err)
	}
	res.Ratio = res.StatePerSecond / max(res.EchoPerSecond, 1)
	fmt.Fprintf(b.o.Progress, "  state %.0f ops/s, echo %.0f req/s: %.2f\n", res.StatePerSecond, res.EchoPerSecond, res.Ratio)
	return res, nil
}
