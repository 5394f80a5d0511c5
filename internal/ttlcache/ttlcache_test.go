package ttlcache

import (
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTest(max int, ttl time.Duration) (*Cache[string, int], *clock) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	c := New[string, int](max, ttl)
	c.now = clk.now
	return c, clk
}

func TestExpiry(t *testing.T) {
	c, clk := newTest(10, time.Second)
	c.Put("a", 1)
	if v, ok := c.Get("a"); !ok || v != 1 {
		t.Fatalf("Get(a) = %v, %v; want 1, true", v, ok)
	}
	clk.t = clk.t.Add(time.Second)
	if _, ok := c.Get("a"); ok {
		t.Fatal("entry still served at its expiry")
	}
	if c.Len() != 0 {
		t.Fatalf("expired entry kept after Get: Len = %d", c.Len())
	}
}

func TestPutUntil(t *testing.T) {
	c, clk := newTest(10, time.Hour)
	c.PutUntil("tok", 7, clk.t.Add(2*time.Second))
	c.PutUntil("old", 8, clk.t.Add(-time.Second))
	if _, ok := c.Get("old"); ok {
		t.Fatal("an already expired value was stored")
	}
	clk.t = clk.t.Add(1999 * time.Millisecond)
	if _, ok := c.Get("tok"); !ok {
		t.Fatal("value dropped before its own expiry")
	}
	clk.t = clk.t.Add(time.Millisecond)
	if _, ok := c.Get("tok"); ok {
		t.Fatal("value served past its own expiry")
	}
}

func TestBounded(t *testing.T) {
	c, clk := newTest(100, time.Minute)
	c.Put("stale", 0)
	clk.t = clk.t.Add(2 * time.Minute)
	for i := range 1000 {
		c.Put(string(rune('a'+i%26))+string(rune(i)), i)
		if c.Len() > 100 {
			t.Fatalf("Len = %d after %d puts; max is 100", c.Len(), i+1)
		}
	}
	c.Put("last", 1)
	if v, ok := c.Get("last"); !ok || v != 1 {
		t.Fatal("the newest entry was evicted by its own Put")
	}
	if _, ok := c.Get("stale"); ok {
		t.Fatal("expired entry survived eviction")
	}
}

func TestDelete(t *testing.T) {
	c, _ := newTest(10, time.Minute)
	c.Put("a", 1)
	c.Delete("a")
	if _, ok := c.Get("a"); ok {
		t.Fatal("deleted entry still served")
	}
}
