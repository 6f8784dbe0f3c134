package greylist

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io/fs"
	"os"
	"sync"
	"time"
)

// Defaults of [MemoryOptions].
const (
	// DefaultMaxEntries bounds a MemoryStore: about 130 MB of heap with
	// typical addresses (see bench/greylist_test.go).
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
	seed       maphash.Seed
	perShard   int
	sweepEvery int64
	path       string
	saveMu     sync.Mutex
}

type memShard struct {
	mu        sync.Mutex
	triplets  map[string]TripletRecord
	clients   map[string]ClientRecord
	nextSweep int64
	_         [64]byte // keep shards on separate cache lines
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
		seed:       maphash.MakeSeed(),
		perShard:   max(1, (maxEntries+memShards-1)/memShards),
		sweepEvery: max(1, orDefault(o.SweepInterval, DefaultSweepInterval).Milliseconds()),
		path:       o.SnapshotPath,
	}
	for i := range m.shards {
		m.shards[i].triplets = make(map[string]TripletRecord)
		m.shards[i].clients = make(map[string]ClientRecord)
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

// tripletKey appends the map key of a triplet to b: the length of the
// client key, the client key and the envelope key, so that no two
// (client, envelope) pairs share a key.
func tripletKey(b []byte, client, envelope string) []byte {
	b = binary.AppendUvarint(b, uint64(len(client)))
	b = append(b, client...)
	return append(b, envelope...)
}

// Check applies [Step] to the stored state of q's triplet and client
// network, atomically.
func (m *MemoryStore) Check(ctx context.Context, q Query) (Outcome, error) {
	if err := ctx.Err(); err != nil {
		return Outcome{}, err
	}
	if err := q.Rules.Validate(); err != nil {
		return Outcome{}, err
	}
	var buf [512]byte
	key := tripletKey(buf[:0], q.Client, q.Envelope)
	awl := q.Rules.AutoWhitelist > 0
	now := q.Now.UnixMilli()
	ti := maphash.Bytes(m.seed, key) % memShards
	ci := ti
	if awl {
		ci = maphash.String(m.seed, q.Client) % memShards
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

	var st State
	st.Triplet = ts.triplets[string(key)]
	if awl {
		st.Client = cs.clients[q.Client]
	}
	ns, out := Step(q, st)
	if ns.Triplet != st.Triplet {
		if st.Triplet.IsZero() {
			ts.makeRoom(now, m.perShard)
		}
		ts.triplets[string(key)] = ns.Triplet
	}
	if awl && ns.Client != st.Client {
		if st.Client.IsZero() {
			cs.makeRoom(now, m.perShard)
		}
		cs.clients[q.Client] = ns.Client
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
		if now >= r.Expires {
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
	return n
}

// makeRoom makes sure one more record fits in the shard.
func (s *memShard) makeRoom(now int64, limit int) {
	if len(s.triplets)+len(s.clients) < limit {
		return
	}
	s.sweep(now)
	for len(s.triplets)+len(s.clients) >= limit {
		s.evictOne()
	}
}

// evictOne drops the record with the earliest expiry among a few picked at
// random (Go map iteration starts at a random place), preferring triplets.
func (s *memShard) evictOne() {
	if len(s.triplets) > 0 {
		var victim string
		var exp int64
		i := 0
		for k, r := range s.triplets {
			if i == 0 || r.Expires < exp {
				victim, exp = k, r.Expires
			}
			if i++; i == evictSample {
				break
			}
		}
		delete(s.triplets, victim)
		return
	}
	var victim string
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

// maphashString returns the index of the shard that holds key.
func maphashString(m *MemoryStore, key string) uint64 {
	return maphash.String(m.seed, key) % memShards
}
