package bench

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// newClient is an HTTP client with c keep-alive connections to one host,
// as a provider keeps them open to a webhook endpoint.
func newClient(c int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns: c, MaxIdleConnsPerHost: c, MaxConnsPerHost: c,
			IdleConnTimeout: 90 * time.Second, DisableCompression: true,
		},
	}
}

// poster posts one phase's webhooks and records, per sequence number, when
// each POST started and when its 2xx answer came (Unix nanoseconds, so the
// sink's arrival times in another process compare with them).
type poster struct {
	client *http.Client
	url    string
	bodies [][]byte

	starts, acks []atomic.Int64
	posted       atomic.Int64
}

type postStats struct {
	accepted, errors, transport, unmatched int
	expected                               int64 // deliveries the platform reported stored
	statuses                               map[int]int
}

// run posts every body from c connections and waits for every answer. With
// perSecond > 0 the POSTs are paced: body i is not sent before start +
// i/perSecond (a late connection catches up at once, so the offered rate
// holds as long as c connections suffice).
func (p *poster) run(ctx context.Context, c int, perSecond float64) postStats {
	p.starts = make([]atomic.Int64, len(p.bodies))
	p.acks = make([]atomic.Int64, len(p.bodies))
	var (
		mu    sync.Mutex
		total = postStats{statuses: map[int]int{}}
		next  atomic.Int64
		wg    sync.WaitGroup
		t0    = time.Now()
	)
	for range c {
		wg.Go(func() {
			st := postStats{statuses: map[int]int{}}
			for {
				i := int(next.Add(1) - 1)
				if i >= len(p.bodies) || ctx.Err() != nil {
					break
				}
				if perSecond > 0 {
					if d := time.Until(t0.Add(time.Duration(float64(i) / perSecond * 1e9))); d > 0 {
						time.Sleep(d) // pacing the offered load, not waiting for a condition
					}
				}
				p.one(ctx, i, &st)
				p.posted.Add(1)
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
	return total
}

func (p *poster) one(ctx context.Context, i int, st *postStats) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(p.bodies[i]))
	if err != nil {
		st.transport++
		return
	}
	req.Header.Set("Content-Type", "application/json")
	p.starts[i].Store(time.Now().UnixNano())
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
	p.acks[i].Store(time.Now().UnixNano())
	st.accepted++
	// The platform answers {"deliveries":n}; the naive pipeline answers
	// nothing and stores exactly one delivery.
	reply := struct{ Deliveries int }{1}
	if len(body) > 0 && json.Unmarshal(body, &reply) != nil {
		reply.Deliveries = 0
	}
	if reply.Deliveries == 0 {
		st.unmatched++
	}
	st.expected += int64(reply.Deliveries)
}

// sinkClient drives the sink's control endpoints.
type sinkClient struct {
	url    string
	client *http.Client
}

func (s sinkClient) reset(ctx context.Context, run uint32, n int) error {
	_, err := s.do(ctx, http.MethodPost, fmt.Sprintf("/_bench/reset?run=%08x&n=%d", run, n))
	return err
}

func (s sinkClient) count(ctx context.Context) (delivered, dups, strays int, err error) {
	raw, err := s.do(ctx, http.MethodGet, "/_bench/count")
	if err != nil {
		return 0, 0, 0, err
	}
	f := strings.Fields(string(raw))
	if len(f) != 3 {
		return 0, 0, 0, fmt.Errorf("bench: sink count: unexpected %q", raw)
	}
	n := make([]int, 3)
	for i := range f {
		if n[i], err = strconv.Atoi(f[i]); err != nil {
			return 0, 0, 0, err
		}
	}
	return n[0], n[1], n[2], nil
}

func (s sinkClient) arrivals(ctx context.Context) ([]int64, error) {
	raw, err := s.do(ctx, http.MethodGet, "/_bench/arrivals")
	if err != nil {
		return nil, err
	}
	out := make([]int64, len(raw)/8)
	for i := range out {
		out[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
	}
	return out, nil
}

func (s sinkClient) do(ctx context.Context, method, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, s.url+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("bench: sink: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("bench: sink %s: %s %s", path, resp.Status, raw)
	}
	return raw, err
}
