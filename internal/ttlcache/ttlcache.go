// Package ttlcache is the platform's one in-process cache: a bounded map
// whose entries expire. It backs every "remember this for a few seconds"
// in the code (instance records, listener records, verified tokens, keys
// read from disk), so bounding and expiry are decided in one place.
//
// It has no background goroutine: expired entries are dropped when read,
// and when the cache is full a Put first sweeps expired entries, then
// evicts arbitrary ones (Go's map order) until there is room. Arbitrary
// eviction is deliberate: every user caches values it can read again, and
// hot entries come straight back, so an LRU list would cost a write on
// every hit for little gain.
package ttlcache

import (
	"sync"
	"time"
)

// Cache maps keys to values for a limited time. The zero value is not
// usable; call New. Safe for concurrent use.
type Cache[K comparable, V any] struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu sync.Mutex
	m  map[K]entry[V]
}

type entry[V any] struct {
	v   V
	exp time.Time
}

// New returns a cache holding at most max entries, each for ttl unless Put
// with an explicit expiry.
func New[K comparable, V any](max int, ttl time.Duration) *Cache[K, V] {
	if max < 1 {
		max = 1
	}
	return &Cache[K, V]{ttl: ttl, max: max, now: time.Now, m: make(map[K]entry[V])}
}

// Get returns the value stored under k, if it has not expired.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok {
		var zero V
		return zero, false
	}
	if !now.Before(e.exp) {
		delete(c.m, k)
		var zero V
		return zero, false
	}
	return e.v, true
}

// Put stores v under k for the cache's ttl.
func (c *Cache[K, V]) Put(k K, v V) { c.PutUntil(k, v, c.now().Add(c.ttl)) }

// PutUntil stores v under k until exp (for values that carry their own
// expiry, such as a token). An exp in the past stores nothing.
func (c *Cache[K, V]) PutUntil(k K, v V, exp time.Time) {
	now := c.now()
	if !now.Before(exp) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; !ok && len(c.m) >= c.max {
		c.makeRoom(now)
	}
	c.m[k] = entry[V]{v: v, exp: exp}
}

// Delete forgets k.
func (c *Cache[K, V]) Delete(k K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, k)
}

// Len is the number of entries held, expired ones included until swept.
func (c *Cache[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// makeRoom frees at least one slot: expired entries first, then arbitrary
// ones, a tenth of the cache at a time so a full cache does not sweep on
// every Put. Called with c.mu held.
func (c *Cache[K, V]) makeRoom(now time.Time) {
	for k, e := range c.m {
		if !now.Before(e.exp) {
			delete(c.m, k)
		}
	}
	for k := range c.m {
		if len(c.m) < c.max-c.max/10 {
			break
		}
		delete(c.m, k)
	}
}
