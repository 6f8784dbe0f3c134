package dkim

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/heraldmail/herald/dnsmx"
)

// Key cache defaults.
const (
	// DefaultKeyCacheEntries is how many key records a [KeyCache] holds
	// when its MaxEntries is 0.
	DefaultKeyCacheEntries = 10000
	// DefaultKeyCacheMaxTTL caps how long a key record stays cached,
	// whatever its TTL.
	DefaultKeyCacheMaxTTL = time.Hour
	// DefaultKeyCacheTTL is how long a record is kept when the resolver
	// does not tell its TTL (it is not a [dnsmx.Querier]).
	DefaultKeyCacheTTL = 5 * time.Minute
)

// KeyCache keeps parsed key records between messages, so that a verifier
// that sees many messages from one signer, as a mail server does, looks up
// and parses each (selector, domain) key once per TTL instead of once per
// message. Set it as [Verifier.Keys]; one KeyCache may serve several
// Verifiers and is safe for concurrent use. The zero value is ready to use.
//
// Only key records that parsed are cached, for the TTL of their TXT
// answer capped at MaxTTL. The TTL comes from the resolver when it is a
// [dnsmx.Querier] (as [*dnsmx.Client] is: the TXT answer it just cached,
// so asking costs no second query); for other resolvers it is DefaultTTL.
// Failures are not cached: not a DNS error, not a missing record, not a
// record that does not parse. NXDOMAIN and no-data answers are already
// cached by a caching resolver for their SOA minimum (RFC 2308), and a
// broken record costs a parse that fails early.
//
// The cache holds at most MaxEntries records. When it is full, the
// expired ones are dropped; if that frees less than a quarter of it, a
// quarter of the entries, chosen arbitrarily, are dropped too, so that a
// flood of new signers costs lookups but neither memory beyond the bound
// nor a scan per message.
//
// A cached *KeyRecord is shared by every Result that uses it and must not
// be modified.
type KeyCache struct {
	// MaxEntries bounds the records held; 0 means DefaultKeyCacheEntries.
	MaxEntries int
	// MaxTTL caps the time a record stays cached; 0 means
	// DefaultKeyCacheMaxTTL.
	MaxTTL time.Duration
	// DefaultTTL is the lifetime of a record whose resolver gives no TTL;
	// 0 means DefaultKeyCacheTTL.
	DefaultTTL time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time

	mu      sync.Mutex
	entries map[string]keyEntry
	hits    uint64
	misses  uint64
}

type keyEntry struct {
	key     *KeyRecord
	size    int // length of the record text, for Limits.KeyRecordBytes
	expires time.Time
}

// KeyCacheStats counts the lookups a KeyCache answered.
type KeyCacheStats struct {
	Hits, Misses uint64
	Entries      int
}

// Stats returns the counts since the cache was made.
func (c *KeyCache) Stats() KeyCacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return KeyCacheStats{Hits: c.hits, Misses: c.misses, Entries: len(c.entries)}
}

func (c *KeyCache) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// get returns the cached record at name, or nil.
func (c *KeyCache) get(name string, lim Limits) *KeyRecord {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[name]
	switch {
	case !ok:
	case !now.Before(e.expires):
		delete(c.entries, name)
	case e.size > lim.KeyRecordBytes:
		// Parsed under a larger limit by another Verifier: fetch and
		// judge it again.
	default:
		c.hits++
		return e.key
	}
	c.misses++
	return nil
}

// put caches k, read from a record of size octets, for ttl.
func (c *KeyCache) put(name string, k *KeyRecord, size int, ttl time.Duration) {
	maxTTL := c.MaxTTL
	if maxTTL <= 0 {
		maxTTL = DefaultKeyCacheMaxTTL
	}
	ttl = min(ttl, maxTTL)
	if ttl <= 0 {
		return
	}
	maxEntries := c.MaxEntries
	if maxEntries <= 0 {
		maxEntries = DefaultKeyCacheEntries
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = make(map[string]keyEntry)
	}
	if _, ok := c.entries[name]; !ok && len(c.entries) >= maxEntries {
		for n, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, n)
			}
		}
		if len(c.entries) > maxEntries-maxEntries/4 {
			drop := len(c.entries) - (maxEntries - maxEntries/4)
			for n := range c.entries {
				if drop == 0 {
					break
				}
				delete(c.entries, n)
				drop--
			}
		}
	}
	c.entries[name] = keyEntry{key: k, size: size, expires: now.Add(ttl)}
}

// cacheKey is the cache's name for a key lookup: ASCII case does not
// matter in DNS names.
func cacheKey(name string) string {
	for i := 0; i < len(name); i++ {
		if 'A' <= name[i] && name[i] <= 'Z' {
			return strings.ToLower(name)
		}
	}
	return name
}

// ttlOf returns the TTL of the TXT answer at name: from the resolver when
// it is a dnsmx.Querier, otherwise the cache's default.
func (c *KeyCache) ttlOf(ctx context.Context, r dnsmx.Resolver, name string) time.Duration {
	if q, ok := r.(dnsmx.Querier); ok {
		ans, err := q.Query(ctx, name, typeTXT)
		if err != nil {
			return 0
		}
		return ans.TTL
	}
	if c.DefaultTTL > 0 {
		return c.DefaultTTL
	}
	return DefaultKeyCacheTTL
}

// typeTXT is the DNS type of TXT records (github.com/miekg/dns TypeTXT).
const typeTXT = 16

// fetchKey looks the key up in the cache, then in DNS, and caches what it
// found.
func (v *Verifier) fetchKey(ctx context.Context, name string, lim Limits) (*KeyRecord, *Error, bool) {
	c := v.Keys
	if c == nil {
		k, e, tmp, _ := fetchKey(ctx, v.Resolver, name, lim)
		return k, e, tmp
	}
	ck := cacheKey(name)
	if k := c.get(ck, lim); k != nil {
		return k, nil, false
	}
	k, e, tmp, size := fetchKey(ctx, v.Resolver, name, lim)
	if e == nil {
		k.precompute()
		c.put(ck, k, size, c.ttlOf(ctx, v.Resolver, name))
	}
	return k, e, tmp
}
