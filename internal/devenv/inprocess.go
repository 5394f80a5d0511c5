package devenv

import (
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
)

// inProcessRedis is the fallback when no redis-server is installed:
// miniredis on a loopback port.
//
// miniredis's ClockTTL, which expires keys by the wall clock, advances every
// TTL on every command, and to do so copies and sorts the names of all keys
// (RedisDB.fastForward → allKeys, miniredis v2.40): each command costs
// O(k log k) in the number of keys. With one listener and one session per
// registered number that was 54 µs per match at 10 listeners and 56 ms at
// 10,000 (78% of CPU in that sort). So TTLs are advanced here by a ticker
// instead, at most every expiryEvery and never more than 2% of the time: a
// tick costs the same sort, so it is spaced 50× its own duration. An expired
// key therefore stays visible until the next tick (a second at small sizes,
// a few seconds at 100k listeners), which dev mode can live with; real
// Redis expires exactly.
type inProcessRedis struct {
	mr   *miniredis.Miniredis
	stop chan struct{}
	wg   sync.WaitGroup
}

const expiryEvery = time.Second

func startInProcessRedis() (*inProcessRedis, error) {
	mr := miniredis.NewMiniRedis()
	if err := mr.StartAddr("127.0.0.1:0"); err != nil {
		return nil, err
	}
	r := &inProcessRedis{mr: mr, stop: make(chan struct{})}
	r.wg.Add(1)
	go r.expire()
	return r, nil
}

func (r *inProcessRedis) expire() {
	defer r.wg.Done()
	last := time.Now()
	wait := expiryEvery
	for {
		select {
		case <-r.stop:
			return
		case <-time.After(wait):
		}
		now := time.Now()
		r.mr.FastForward(now.Sub(last))
		last = now
		wait = max(expiryEvery, 50*time.Since(now))
	}
}

func (r *inProcessRedis) close() {
	close(r.stop)
	r.wg.Wait()
	r.mr.Close()
}
