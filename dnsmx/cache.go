package dnsmx

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// cacheShards is the number of independently locked parts of the cache;
// a power of two.
const cacheShards = 16

type cacheKey struct {
	name  string
	qtype uint16
}

type cacheEntry struct {
	key     cacheKey
	expires int64 // unix nanoseconds
	res     *result
	ref     atomic.Bool // CLOCK reference bit
	slot    int         // index in shard.ring
}

// cache is a bounded, TTL-respecting map from (name, type) to a resolved
// result, safe for concurrent use. Eviction is CLOCK (second chance): a hit
// only takes a read lock and sets a bit, so concurrent hits do not contend
// on a write lock and allocate nothing.
type cache struct {
	seed   maphash.Seed
	now    func() time.Time
	shards [cacheShards]cacheShard
}

type cacheShard struct {
	mu   sync.RWMutex
	m    map[cacheKey]*cacheEntry
	ring []*cacheEntry
	hand int
	max  int
}

func newCache(size int, now func() time.Time) *cache {
	c := &cache{seed: maphash.MakeSeed(), now: now}
	per := (size + cacheShards - 1) / cacheShards
	if per < 1 {
		per = 1
	}
	for i := range c.shards {
		c.shards[i].m = make(map[cacheKey]*cacheEntry)
		c.shards[i].max = per
	}
	return c
}

func (c *cache) shard(k cacheKey) *cacheShard {
	h := maphash.String(c.seed, k.name) ^ uint64(k.qtype)*0x9e3779b97f4a7c15
	return &c.shards[h&(cacheShards-1)]
}

// get returns the live entry for k, or nil.
func (c *cache) get(k cacheKey) *result {
	s := c.shard(k)
	s.mu.RLock()
	e := s.m[k]
	s.mu.RUnlock()
	if e == nil || c.now().UnixNano() >= e.expires {
		return nil
	}
	if !e.ref.Load() {
		e.ref.Store(true)
	}
	return e.res
}

// put stores r for ttl; a ttl of zero or less stores nothing.
func (c *cache) put(k cacheKey, r *result, ttl time.Duration) {
	if ttl <= 0 {
		return
	}
	e := &cacheEntry{key: k, expires: c.now().Add(ttl).UnixNano(), res: r}
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.m[k]; old != nil {
		e.slot = old.slot
		s.ring[e.slot] = e
		s.m[k] = e
		return
	}
	if len(s.ring) < s.max {
		e.slot = len(s.ring)
		s.ring = append(s.ring, e)
		s.m[k] = e
		return
	}
	// Sweep: an expired entry goes at once, a referenced one gets a
	// second chance. Two turns of the hand always find a victim.
	now := c.now().UnixNano()
	for {
		v := s.ring[s.hand]
		if now < v.expires && v.ref.Load() {
			v.ref.Store(false)
			s.hand = (s.hand + 1) % len(s.ring)
			continue
		}
		delete(s.m, v.key)
		e.slot = s.hand
		s.ring[s.hand] = e
		s.m[k] = e
		s.hand = (s.hand + 1) % len(s.ring)
		return
	}
}

// len returns the number of entries, live or expired.
func (c *cache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}
