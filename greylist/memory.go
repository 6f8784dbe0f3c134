package greylist

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"
)

// Defaults of [MemoryOptions].
const (
	// DefaultMaxEntries bounds a MemoryStore: about 85 MB of heap when
	// full (see bench/greylist_test.go).
	DefaultMaxEntries = 1_000_000
	// DefaultSweepInterval is how often each part of a MemoryStore drops
	// its expired records.
	DefaultSweepInterval = time.Minute
)

// memShards is the number of independently locked parts of a MemoryStore.
const memShards = 64

// evictSample is how many records are looked at to choose one to evict.
const evictSample = 8

// MemoryOptions configure a [MemoryStore]. The zero value means the
// defaults and no snapshot file.
type MemoryOptions struct {
	// MaxEntries bounds the number of records (triplets plus client
	// networks). When the store is full, a new record replaces one whose
	// expiry is the earliest of a small random sample, which in practice
	// is a triplet that never retried. Zero means DefaultMaxEntries.
	MaxEntries int
	// SweepInterval is how often, in query time, each part of the store
	// drops its expired records during Check. Zero means
	// DefaultSweepInterval.
	SweepInterval time.Duration
	// SnapshotPath, when set, names a snapshot file: NewMemoryStore loads
	// it if it exists, and Save and Close write it atomically.
	SnapshotPath string
}

// MemoryStore is the in-memory [Store], the default of [Policy]. It is
// bounded in size, drops expired records as it goes, and can be saved to
// and loaded from a snapshot so that a restart loses nothing. It is safe for
// concurrent use; Check locks at most two of its 64 parts.
type MemoryStore struct {
	shards     [memShards]memShard
	perShard   int
	sweepEvery int64
	path       string
	saveMu     sync.Mutex
}

type memShard struct {
	mu        sync.Mutex
	triplets  map[memKey]memTriplet
	clients   map[memKey]ClientRecord
	nextSweep int64
	// lastNow is the query time of the last Check, in Unix milliseconds.
	lastNow int64
	// fullInserts counts the insertions into the shard while it was
	// full.
	fullInserts int
	// deletes counts the records deleted since the maps were last
	// rebuilt.
	deletes int
	_       [64]byte // keep shards on separate cache lines
}

// NewMemoryStore returns an empty store, loaded from opts.SnapshotPath if
// that file exists. Nil options mean the defaults.
func NewMemoryStore(opts *MemoryOptions) (*MemoryStore, error) {
	var o MemoryOptions
	if opts != nil {
		o = *opts
	}
	if o.MaxEntries < 0 || o.SweepInterval < 0 {
		return nil, errors.New("greylist: negative memory store option")
	}
	maxEntries := orDefault(o.MaxEntries, DefaultMaxEntries)
	m := &MemoryStore{
		perShard:   max(1, (maxEntries+memShards-1)/memShards),
		sweepEvery: max(1, orDefault(o.SweepInterval, DefaultSweepInterval).Milliseconds()),
		path:       o.SnapshotPath,
	}
	for i := range m.shards {
		m.shards[i].triplets = make(map[memKey]memTriplet)
		m.shards[i].clients = make(map[memKey]ClientRecord)
	}
	if m.path != "" {
		f, err := os.Open(m.path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("greylist: open snapshot: %w", err)
		default:
			_, err = m.ReadFrom(f)
			f.Close()
			if err != nil {
				return nil, fmt.Errorf("greylist: load snapshot %s: %w", m.path, err)
			}
		}
	}
	return m, nil
}

// memKey identifies a record in a MemoryStore: the first 128 bits of the
// SHA-256 digest of its key. A fixed-size key keeps a record in one map slot
// with no allocation of its own (about 85 bytes of heap per triplet instead
// of about 180 with string keys), and the store (and its snapshots) holds no
// address. SHA-256 keeps collisions out of reach of senders who would like
// their triplet to share a record with one that passed.
type memKey [16]byte

// tripletKey returns the key of a triplet: the digest of the client key's
// length, the client key and the envelope key, so that no two (client,
// envelope) pairs share an input.
func tripletKey(client, envelope string) memKey {
	var buf [512]byte
	b := binary.AppendUvarint(buf[:0], uint64(len(client)))
	b = append(b, client...)
	b = append(b, envelope...)
	sum := sha256.Sum256(b)
	return memKey(sum[:16])
}

// clientKey returns the key of a client network.
func clientKey(client string) memKey {
	var buf [128]byte
	sum := sha256.Sum256(append(buf[:0], client...))
	return memKey(sum[:16])
}

// shard returns the index of the shard that holds the key.
func (k memKey) shard() int {
	return int(binary.LittleEndian.Uint64(k[:8]) % memShards)
}

// memTriplet is a TripletRecord in 16 bytes: the passed flag is the low bit
// of expires2, which holds Expires shifted left by one.
type memTriplet struct {
	first    int64
	expires2 int64
}

func packTriplet(r TripletRecord) memTriplet {
	t := memTriplet{first: r.FirstSeen, expires2: r.Expires << 1}
	if r.Passed {
		t.expires2 |= 1
	}
	return t
}

func (t memTriplet) record() TripletRecord {
	return TripletRecord{FirstSeen: t.first, Expires: t.expires2 >> 1, Passed: t.expires2&1 == 1}
}

func (t memTriplet) expires() int64 { return t.expires2 >> 1 }

// Check applies [Step] to the stored state of q's triplet and client
// network, atomically.
func (m *MemoryStore) Check(ctx context.Context, q Query) (Outcome, error) {
	if err := ctx.Err(); err != nil {
		return Outcome{}, err
	}
	if err := q.Rules.Validate(); err != nil {
		return Outcome{}, err
	}
	awl := q.Rules.AutoWhitelist > 0
	now := q.Now.UnixMilli()
	tk := tripletKey(q.Client, q.Envelope)
	ti, ci := tk.shard(), tk.shard()
	var ck memKey
	if awl {
		ck = clientKey(q.Client)
		ci = ck.shard()
	}
	ts, cs := &m.shards[ti], &m.shards[ci]

	// Lock in index order so that two queries never deadlock.
	lo, hi := ts, cs
	if ci < ti {
		lo, hi = cs, ts
	}
	lo.mu.Lock()
	defer lo.mu.Unlock()
	if hi != lo {
		hi.mu.Lock()
		defer hi.mu.Unlock()
	}

	ts.maybeSweep(now, m.sweepEvery)
	if awl && cs != ts {
		cs.maybeSweep(now, m.sweepEvery)
	}
	ts.lastNow, cs.lastNow = now, now

	var st State
	old, ok := ts.triplets[tk]
	if ok {
		st.Triplet = old.record()
	}
	if awl {
		st.Client = cs.clients[ck]
	}
	ns, out := Step(q, st)
	if ns.Triplet != st.Triplet {
		if st.Triplet.IsZero() {
			ts.makeRoom(m.perShard)
		}
		ts.triplets[tk] = packTriplet(ns.Triplet)
	}
	if awl && ns.Client != st.Client {
		if st.Client.IsZero() {
			cs.makeRoom(m.perShard)
		}
		cs.clients[ck] = ns.Client
	}
	return out, nil
}

// Len returns the number of records held, expired or not.
func (m *MemoryStore) Len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += len(s.triplets) + len(s.clients)
		s.mu.Unlock()
	}
	return n
}

// Sweep drops every record expired at now and returns how many it dropped.
// Check sweeps on its own every SweepInterval; Sweep is for callers that
// want to do it at a time of their choosing.
func (m *MemoryStore) Sweep(now time.Time) int {
	n := 0
	ms := now.UnixMilli()
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += s.sweep(ms)
		s.nextSweep = ms + m.sweepEvery
		s.mu.Unlock()
	}
	return n
}

func (s *memShard) maybeSweep(now, every int64) {
	if now < s.nextSweep {
		return
	}
	s.sweep(now)
	s.nextSweep = now + every
}

func (s *memShard) sweep(now int64) int {
	n := 0
	for k, r := range s.triplets {
		if now >= r.expires() {
			delete(s.triplets, k)
			n++
		}
	}
	for k, r := range s.clients {
		if now >= r.Expires {
			delete(s.clients, k)
			n++
		}
	}
	s.deletes += n
	return n
}

// makeRoom makes sure one more record fits in the shard. A full shard is
// swept for expired records before it evicts live ones, but only on the
// first insertion into it when full and then once for every quarter of its
// size in insertions: a spam
// run of new triplets into a full store gets a new record on every query,
// and a sweep each time would cost a scan of the whole shard per query. So
// a sweep of n records is paid for by n/4 insertions, O(1) amortised;
// between sweeps the eviction sample still finds expired records first, as
// they have the earliest expiries.
func (s *memShard) makeRoom(limit int) {
	if len(s.triplets)+len(s.clients) < limit {
		return
	}
	if s.fullInserts%(limit/4+1) == 0 {
		s.sweep(s.lastNow)
	}
	s.fullInserts++
	for len(s.triplets)+len(s.clients) >= limit {
		s.evictOne()
		s.deletes++
	}
	if s.deletes >= 2*limit {
		s.compact()
	}
}

// compact rebuilds the shard's maps. A Go map does not give back the room
// of deleted entries to later insertions of other keys in every case: in a
// full store under a steady flood of new triplets, evictions and
// insertions grew the heap from 84 to 169 bytes per record over 30 million
// insertions (bench/greylist_test.go, BenchmarkGreylistMemoryFull). A copy
// after every 2 shards' worth of deletions keeps it near its size when
// filled, at an amortised cost of one copied record per two deletions.
func (s *memShard) compact() {
	t := make(map[memKey]memTriplet, len(s.triplets))
	for k, v := range s.triplets {
		t[k] = v
	}
	c := make(map[memKey]ClientRecord, len(s.clients))
	for k, v := range s.clients {
		c[k] = v
	}
	s.triplets, s.clients, s.deletes = t, c, 0
}

// evictOne drops the record with the earliest expiry among a few picked at
// random (Go map iteration starts at a random place), preferring triplets.
func (s *memShard) evictOne() {
	if len(s.triplets) > 0 {
		var victim memKey
		var exp int64
		i := 0
		for k, r := range s.triplets {
			if i == 0 || r.expires() < exp {
				victim, exp = k, r.expires()
			}
			if i++; i == evictSample {
				break
			}
		}
		delete(s.triplets, victim)
		return
	}
	var victim memKey
	var exp int64
	i := 0
	for k, r := range s.clients {
		if i == 0 || r.Expires < exp {
			victim, exp = k, r.Expires
		}
		if i++; i == evictSample {
			break
		}
	}
	delete(s.clients, victim)
}
