package bench

// Greylist benchmarks: decisions per second of greylist.Policy on the
// in-memory store and on Redis (greylist/redisstore), each holding 1 million
// distinct triplets, and heap bytes per entry of the in-memory store.
//
//	cd bench && go test -run='^$' -bench='^BenchmarkGreylist' -benchtime=2s -count=5 .
//
// Decisions run from many goroutines at once, as an SMTP server with many
// connections would. "hit" asks about triplets already stored (each
// updates the record: the first ask of a triplet is its passing retry, later
// ones find it known); "miss" asks about new ones (each inserts one). The
// Redis benchmark starts its own redis-server on a free loopback port, fills
// it with 1 million triplets, and stops it at the
// end; it is skipped when redis-server is missing. Redis is filled with
// pipelined SETs in the store's record format; the memory store through the
// policy.

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldmail/herald/greylist"
	"github.com/heraldmail/herald/greylist/redisstore"
	"github.com/redis/go-redis/v9"
)

const greylistTriplets = 1_000_000

// greylistClock fills the store at t0 and decides ten minutes later, so that
// a hit is a retry that passes (and updates its record), not an early
// retry that only reads it.
type greylistClock struct{ now atomic.Int64 }

func (c *greylistClock) Now() time.Time { return time.UnixMilli(c.now.Load()) }

func newGreylistPolicy(tb testing.TB, store greylist.Store, clock *greylistClock) *greylist.Policy {
	clock.now.Store(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC).UnixMilli())
	// Auto-whitelisting is off so that every decision reads and writes a
	// triplet record rather than stopping at the client's.
	p, err := greylist.New(&greylist.Options{Store: store, Now: clock.Now, AutoWhitelist: -1})
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// greylistRequest returns the i-th of a family of distinct triplets: 65536
// client networks, 1 million senders, 5000 recipients.
func greylistRequest(i int) greylist.Request {
	return greylist.Request{
		Client:    netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), byte(i >> 16)}),
		Sender:    "newsletter-sender" + strconv.Itoa(i) + "@mail" + strconv.Itoa(i%1000) + ".example.org",
		Recipient: "user" + strconv.Itoa(i%5000) + "@example.net",
	}
}

// fillGreylist runs n distinct first attempts through p from several
// goroutines.
func fillGreylist(tb testing.TB, p *greylist.Policy, from, n, workers int) {
	var next atomic.Int64
	next.Store(int64(from))
	end := int64(from + n)
	var wg sync.WaitGroup
	var failed atomic.Pointer[error]
	for range workers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= end {
					return
				}
				if _, err := p.Check(context.Background(), greylistRequest(int(i))); err != nil {
					failed.Store(&err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		tb.Fatal(*err)
	}
}

// benchDecisions measures decisions per second on the policy: hit asks about
// the stored triplets, miss about new ones.
func benchDecisions(b *testing.B, p *greylist.Policy, miss bool, parallelism int) {
	var seq atomic.Int64
	if miss {
		seq.Store(int64(greylistTriplets) + time.Now().UnixNano()%1_000_000*1000)
	}
	b.SetParallelism(parallelism)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			i := int(seq.Add(1))
			if !miss {
				i = int(uint64(i)*2654435761) % greylistTriplets
			}
			if _, err := p.Check(ctx, greylistRequest(i)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "decisions/s")
}

func BenchmarkGreylistMemory(b *testing.B) {
	store, err := greylist.NewMemoryStore(&greylist.MemoryOptions{MaxEntries: 4 * greylistTriplets})
	if err != nil {
		b.Fatal(err)
	}
	var clock greylistClock
	p := newGreylistPolicy(b, store, &clock)
	fillGreylist(b, p, 0, greylistTriplets, runtime.GOMAXPROCS(0))
	clock.now.Add((10 * time.Minute).Milliseconds())
	b.Run("hit", func(b *testing.B) { benchDecisions(b, p, false, 1) })
	b.Run("miss", func(b *testing.B) { benchDecisions(b, p, true, 1) })
}

// BenchmarkGreylistMemoryFull measures new triplets (misses) on a memory
// store that is full, so that every miss evicts a record, next to the same
// store with room to spare. Each sub-benchmark starts from a fresh store
// holding 1 million triplets; run it with -benchtime=10000000x to insert 10
// million, as a spam run of never-retried triplets would:
//
//	cd bench && go test -run='^$' -bench=GreylistMemoryFull -benchtime=10000000x -count=3 .
//
// bytes/entry is the live heap after the run over the records held.
func BenchmarkGreylistMemoryFull(b *testing.B) {
	for _, bc := range []struct {
		name       string
		maxEntries func(n int) int
	}{
		{"full", func(int) int { return greylistTriplets }},
		{"room", func(n int) int { return greylistTriplets + n + 1000 }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			store, err := greylist.NewMemoryStore(&greylist.MemoryOptions{MaxEntries: bc.maxEntries(b.N)})
			if err != nil {
				b.Fatal(err)
			}
			var clock greylistClock
			p := newGreylistPolicy(b, store, &clock)
			fillGreylist(b, p, 0, greylistTriplets, runtime.GOMAXPROCS(0))
			clock.now.Add((10 * time.Minute).Milliseconds())
			benchDecisions(b, p, true, 1)
			b.StopTimer()
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(ms.HeapAlloc)/float64(store.Len()), "bytes/entry")
			b.ReportMetric(float64(store.Len()), "entries")
			runtime.KeepAlive(store)
		})
	}
}

// startBenchRedis starts a private redis-server on a free loopback port and
// stops it when the benchmark ends.
func startBenchRedis(b *testing.B) string {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		b.Skipf("redis-server not found: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir := b.TempDir()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir, "--logfile", dir+"/redis.log")
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	for deadline := time.Now().Add(10 * time.Second); ; {
		if err = c.Ping(context.Background()).Err(); err == nil {
			return addr
		}
		if time.Now().After(deadline) {
			b.Fatalf("redis-server did not start: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func BenchmarkGreylistRedis(b *testing.B) {
	addr := startBenchRedis(b)
	c := redis.NewClient(&redis.Options{Addr: addr, PoolSize: 128})
	defer c.Close()
	var clock greylistClock
	store := redisstore.New(c, nil)
	p := newGreylistPolicy(b, store, &clock)
	start := time.Now()
	fillRedis(b, c, store, p, clock.Now())
	clock.now.Add((10 * time.Minute).Milliseconds())
	n, err := c.DBSize(context.Background()).Result()
	if err != nil || n != greylistTriplets {
		b.Fatalf("redis holds %d keys (%v), want %d", n, err, greylistTriplets)
	}
	b.Logf("filled redis with %d triplets in %v", n, time.Since(start).Round(time.Millisecond))
	if mem, err := c.MemoryUsage(context.Background(), mustRedisKey(b, store, p, 0)).Result(); err == nil {
		b.Logf("redis MEMORY USAGE of one triplet record: %d bytes", mem)
	}
	if info, err := c.InfoMap(context.Background(), "memory").Result(); err == nil {
		if used, err := strconv.ParseInt(info["Memory"]["used_memory"], 10, 64); err == nil {
			b.Logf("redis used_memory: %.1f bytes per triplet", float64(used)/greylistTriplets)
		}
	}
	// 32 goroutines per core: enough requests in flight to cover the
	// loopback round trip.
	b.Run("hit", func(b *testing.B) { benchDecisions(b, p, false, 32) })
	b.Run("miss", func(b *testing.B) { benchDecisions(b, p, true, 32) })
}

// fillRedis writes the records of greylistTriplets first attempts at now
// straight into Redis, pipelined 10000 at a time, in the record format the
// redisstore package documents and under the keys the policy and the store
// build. A few of them are then checked through the store.
func fillRedis(b *testing.B, c *redis.Client, store *redisstore.Store, p *greylist.Policy, now time.Time) {
	ctx := context.Background()
	window := p.Rules().RetryWindow
	ms := now.UnixMilli()
	value := fmt.Sprintf("%d:%d:0", ms, ms+window.Milliseconds())
	const batch = 10000
	for from := 0; from < greylistTriplets; from += batch {
		pipe := c.Pipeline()
		for i := from; i < from+batch && i < greylistTriplets; i++ {
			client, env, err := p.Keys(greylistRequest(i))
			if err != nil {
				b.Fatal(err)
			}
			_, tk := store.Keys(client, env)
			pipe.Set(ctx, tk, value, window)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			b.Fatal(err)
		}
	}
	for _, i := range []int{0, 1, greylistTriplets / 2, greylistTriplets - 1} {
		d, err := p.Check(ctx, greylistRequest(i))
		if err != nil || d.Reason != greylist.ReasonEarly {
			b.Fatalf("preloaded triplet %d: %+v, %v; want early", i, d, err)
		}
	}
}

// mustRedisKey returns the Redis key of the i-th triplet.
func mustRedisKey(b *testing.B, store *redisstore.Store, p *greylist.Policy, i int) string {
	client, env, err := p.Keys(greylistRequest(i))
	if err != nil {
		b.Fatal(err)
	}
	_, tk := store.Keys(client, env)
	return tk
}

// BenchmarkGreylistMemoryPerEntry reports the heap growth of a MemoryStore
// per stored triplet after inserting 1 million, with plain keys and in
// privacy mode.
func BenchmarkGreylistMemoryPerEntry(b *testing.B) {
	for _, privacy := range []bool{false, true} {
		b.Run(fmt.Sprintf("privacy=%v", privacy), func(b *testing.B) {
			var perEntry float64
			for range b.N {
				store, err := greylist.NewMemoryStore(&greylist.MemoryOptions{MaxEntries: 2 * greylistTriplets})
				if err != nil {
					b.Fatal(err)
				}
				p, err := greylist.New(&greylist.Options{Store: store, Privacy: privacy, PrivacyKey: []byte("k"), AutoWhitelist: -1})
				if err != nil {
					b.Fatal(err)
				}
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				fillGreylist(b, p, 0, greylistTriplets, 1)
				runtime.GC()
				runtime.ReadMemStats(&after)
				if store.Len() != greylistTriplets {
					b.Fatalf("store holds %d records", store.Len())
				}
				perEntry = float64(after.HeapAlloc-before.HeapAlloc) / greylistTriplets
				runtime.KeepAlive(store)
			}
			b.ReportMetric(perEntry, "bytes/entry")
		})
	}
}
