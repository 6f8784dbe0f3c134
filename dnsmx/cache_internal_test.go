package dnsmx

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestCacheExpiryAndEviction(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	c := newCache(cacheShards, func() time.Time { return now }) // one entry per shard
	k := func(i int) cacheKey { return cacheKey{name: fmt.Sprintf("n%d.example", i), qtype: 1} }
	r := func(i int) *result { return &result{name: k(i).name} }

	c.put(k(1), r(1), 10*time.Second)
	if got := c.get(k(1)); got == nil || got.name != k(1).name {
		t.Fatalf("get after put = %v", got)
	}
	c.put(k(2), r(2), 0)
	if c.get(k(2)) != nil {
		t.Fatal("a zero TTL was cached")
	}
	now = now.Add(10 * time.Second)
	if c.get(k(1)) != nil {
		t.Fatal("entry outlived its TTL")
	}
	// Replacing keeps one entry per key.
	c.put(k(1), r(1), time.Minute)
	c.put(k(1), r(1), time.Minute)
	if c.len() != 1 {
		t.Fatalf("len = %d after replacing", c.len())
	}
	for i := range 1000 {
		c.put(k(i), r(i), time.Minute)
	}
	if n := c.len(); n > cacheShards {
		t.Fatalf("len = %d, bound %d", n, cacheShards)
	}
}

func TestCacheSecondChance(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	c := newCache(4*cacheShards, func() time.Time { return now })
	// Fill one shard with keys that hash to it.
	var keys []cacheKey
	target := c.shard(cacheKey{name: "hot.example", qtype: 1})
	for i := 0; len(keys) < 6; i++ {
		k := cacheKey{name: fmt.Sprintf("k%d.example", i), qtype: 1}
		if c.shard(k) == target {
			keys = append(keys, k)
		}
	}
	for _, k := range keys[:4] {
		c.put(k, &result{name: k.name}, time.Minute)
	}
	c.get(keys[0]) // referenced: survives the next eviction
	c.put(keys[4], &result{name: keys[4].name}, time.Minute)
	if c.get(keys[0]) == nil {
		t.Fatal("a referenced entry was evicted first")
	}
	if c.get(keys[1]) != nil {
		t.Fatal("the unreferenced entry under the hand survived")
	}
}

func TestCacheConcurrent(t *testing.T) {
	t.Parallel()
	var clock atomic.Int64
	c := newCache(64, func() time.Time { return time.Unix(0, clock.Load()) })
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				k := cacheKey{name: fmt.Sprintf("n%d.example", (i*7+g)%300), qtype: uint16(i % 3)}
				if r := c.get(k); r != nil && r.name != k.name {
					t.Errorf("got %q for %q", r.name, k.name)
					return
				}
				c.put(k, &result{name: k.name}, time.Duration(1+i%5)*time.Second)
				if i%100 == 0 {
					clock.Add(int64(time.Second))
				}
			}
		})
	}
	wg.Wait()
	if n := c.len(); n > 64+cacheShards {
		t.Fatalf("len = %d over the bound", n)
	}
}
