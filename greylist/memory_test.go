package greylist_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/heraldmail/herald/greylist"
)

var testRules = greylist.Rules{Delay: 300 * time.Second, RetryWindow: 48 * time.Hour, MaxAge: 35 * 24 * time.Hour, AutoWhitelist: 5}

func query(client, env string, at time.Duration) greylist.Query {
	return greylist.Query{Client: client, Envelope: env, Now: t0.Add(at), Rules: testRules}
}

func mustCheck(t *testing.T, s greylist.Store, q greylist.Query) greylist.Outcome {
	t.Helper()
	out, err := s.Check(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func newMemory(t *testing.T, o *greylist.MemoryOptions) *greylist.MemoryStore {
	t.Helper()
	m, err := greylist.NewMemoryStore(o)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMemoryStoreBounded(t *testing.T) {
	const limit = 64 * 4
	m := newMemory(t, &greylist.MemoryOptions{MaxEntries: limit})
	// One passed triplet, then a flood of triplets that never retry.
	mustCheck(t, m, query("net", "keep", 0))
	if out := mustCheck(t, m, query("net", "keep", 10*time.Minute)); out.Verdict != greylist.VerdictRetried {
		t.Fatalf("keep: %v", out.Verdict)
	}
	for i := range 20 * limit {
		mustCheck(t, m, query(fmt.Sprint("spam", i%7), fmt.Sprint("e", i), 11*time.Minute))
		if n := m.Len(); n > limit {
			t.Fatalf("after %d inserts the store holds %d records, limit %d", i+1, n, limit)
		}
	}
	if n := m.Len(); n < limit*3/4 {
		t.Errorf("store holds only %d records of %d", n, limit)
	}
}

func TestMemoryStoreEvictsEarliestExpiry(t *testing.T) {
	// One shard's worth per shard: 64 records in all, about one per shard.
	m := newMemory(t, &greylist.MemoryOptions{MaxEntries: 64 * 8})
	q0 := func(c, e string, at time.Duration) greylist.Query {
		q := query(c, e, at)
		q.Rules.AutoWhitelist = 0
		return q
	}
	// Passed triplets expire in 35 days; pending ones in 2 days. Fill
	// with passed ones, then flood with pending ones: eviction samples
	// prefer the pending ones, so most passed triplets survive.
	const passed = 64 * 4
	for i := range passed {
		mustCheck(t, m, q0("n", fmt.Sprint("p", i), 0))
	}
	for i := range passed {
		mustCheck(t, m, q0("n", fmt.Sprint("p", i), 5*time.Minute))
	}
	for i := range 64 * 40 {
		mustCheck(t, m, q0("n", fmt.Sprint("spam", i), time.Hour))
	}
	kept := 0
	for i := range passed {
		if mustCheck(t, m, q0("n", fmt.Sprint("p", i), 2*time.Hour)).Verdict == greylist.VerdictKnown {
			kept++
		}
	}
	if kept < passed*9/10 {
		t.Errorf("only %d of %d passed triplets survived a flood of new ones", kept, passed)
	}
}

func TestMemoryStoreSweep(t *testing.T) {
	m := newMemory(t, &greylist.MemoryOptions{SweepInterval: time.Hour})
	for i := range 100 {
		mustCheck(t, m, query("n", fmt.Sprint("e", i), 0))
	}
	mustCheck(t, m, query("n", "e0", 10*time.Minute)) // passed: lives 35 days
	if n := m.Sweep(t0.Add(47 * time.Hour)); n != 0 {
		t.Fatalf("swept %d records before any expired", n)
	}
	if n := m.Sweep(t0.Add(48 * time.Hour)); n != 99 {
		t.Fatalf("swept %d records at the end of the retry window, want 99", n)
	}
	if n := m.Len(); n != 2 { // e0 and the client record
		t.Fatalf("%d records left, want 2", n)
	}

	// Check sweeps the parts it touches as query time goes by.
	m = newMemory(t, &greylist.MemoryOptions{SweepInterval: time.Minute})
	for i := range 1000 {
		mustCheck(t, m, query("n", fmt.Sprint("e", i), 0))
	}
	for i := range 1000 {
		mustCheck(t, m, query("other", fmt.Sprint("e", i), 49*time.Hour))
	}
	if n := m.Len(); n != 1000 {
		t.Errorf("%d records after the old ones expired, want 1000", n)
	}
}

func TestMemoryStoreSnapshot(t *testing.T) {
	path := filepath.Join(t.TempDir(), "greylist.snap")
	m := newMemory(t, &greylist.MemoryOptions{SnapshotPath: path})
	for i := range 500 {
		mustCheck(t, m, query(fmt.Sprint("net", i%10), fmt.Sprint("e", i), 0))
	}
	for i := range 250 {
		mustCheck(t, m, query(fmt.Sprint("net", i%10), fmt.Sprint("e", i), 10*time.Minute))
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("snapshot directory holds %d files, want 1 (no temporary left)", len(entries))
	}

	// A restart loses nothing: the same decisions follow.
	r := newMemory(t, &greylist.MemoryOptions{SnapshotPath: path})
	if r.Len() != m.Len() {
		t.Fatalf("restored %d records, want %d", r.Len(), m.Len())
	}
	for i := range 500 {
		q := query(fmt.Sprint("net", i%10), fmt.Sprint("e", i), 20*time.Minute)
		want, got := mustCheck(t, m, q), mustCheck(t, r, q)
		if got != want {
			t.Fatalf("triplet %d after restart: %+v, want %+v", i, got, want)
		}
	}

	// A store without a path does not write.
	if err := newMemory(t, nil).Save(); err != nil {
		t.Errorf("Save without path: %v", err)
	}
	// A missing file is an empty store; a directory as path is an error.
	if s := newMemory(t, &greylist.MemoryOptions{SnapshotPath: filepath.Join(t.TempDir(), "none")}); s.Len() != 0 {
		t.Errorf("missing snapshot loaded %d records", s.Len())
	}
	if _, err := greylist.NewMemoryStore(&greylist.MemoryOptions{SnapshotPath: t.TempDir()}); err == nil {
		t.Errorf("directory as snapshot loaded")
	}
	if err := (newMemory(t, &greylist.MemoryOptions{SnapshotPath: filepath.Join(t.TempDir(), "no", "dir")})).Save(); err == nil {
		t.Errorf("Save into a missing directory succeeded")
	}
}

func snapshotOf(t *testing.T, m *greylist.MemoryStore) []byte {
	t.Helper()
	var b bytes.Buffer
	n, err := m.WriteTo(&b)
	if err != nil || n != int64(b.Len()) {
		t.Fatalf("WriteTo: %d, %v (wrote %d)", n, err, b.Len())
	}
	return b.Bytes()
}

func TestMemoryStoreSnapshotDamaged(t *testing.T) {
	m := newMemory(t, nil)
	mustCheck(t, m, query("net", "a", 0))
	mustCheck(t, m, query("net", "b", 0))
	mustCheck(t, m, query("net", "b", time.Hour))
	good := snapshotOf(t, m)

	for name, data := range map[string][]byte{
		"empty":        nil,
		"other file":   []byte("hello world, this is not a snapshot\n"),
		"truncated":    good[:len(good)-3],
		"no end":       good[:len(good)-5],
		"flipped byte": flip(good, len(good)/2),
		"bad checksum": flip(good, len(good)-1),
	} {
		s := newMemory(t, nil)
		_, err := s.ReadFrom(bytes.NewReader(data))
		if !errors.Is(err, greylist.ErrBadSnapshot) {
			t.Errorf("%s: err = %v, want ErrBadSnapshot", name, err)
		}
		if s.Len() != 0 {
			t.Errorf("%s: %d records loaded from a damaged snapshot", name, s.Len())
		}
	}

	// A snapshot larger than the store's bound is refused.
	big := newMemory(t, nil)
	for i := range 200 {
		mustCheck(t, big, query("n", fmt.Sprint(i), 0))
	}
	small := newMemory(t, &greylist.MemoryOptions{MaxEntries: 64})
	if _, err := small.ReadFrom(bytes.NewReader(snapshotOf(t, big))); !errors.Is(err, greylist.ErrBadSnapshot) {
		t.Errorf("oversized snapshot: err = %v", err)
	}
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0x55
	return c
}

func TestMemoryStoreSnapshotMerge(t *testing.T) {
	a := newMemory(t, nil)
	mustCheck(t, a, query("n", "x", 0))
	mustCheck(t, a, query("n", "x", time.Hour)) // passed
	snap := snapshotOf(t, a)

	b := newMemory(t, nil)
	mustCheck(t, b, query("n", "x", 2*time.Hour)) // pending, expires sooner
	mustCheck(t, b, query("n", "y", 2*time.Hour))
	if _, err := b.ReadFrom(bytes.NewReader(snap)); err != nil {
		t.Fatal(err)
	}
	if out := mustCheck(t, b, query("n", "x", 3*time.Hour)); out.Verdict != greylist.VerdictKnown {
		t.Errorf("merged x: %v, want known (the later-expiring record wins)", out.Verdict)
	}
	if out := mustCheck(t, b, query("n", "y", 2*time.Hour+time.Minute)); out.Verdict != greylist.VerdictEarly {
		t.Errorf("y: %v, want early (kept)", out.Verdict)
	}
}

// A snapshot written while checks run is readable.
func TestMemoryStoreSnapshotConcurrent(t *testing.T) {
	m := newMemory(t, nil)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 2 {
		wg.Go(func() {
			for i := range 1000 {
				select {
				case <-stop:
					return
				default:
				}
				m.Check(context.Background(), query(fmt.Sprint("n", w), fmt.Sprint(i), time.Duration(i)*time.Second))
			}
		})
	}
	for range 5 {
		snap := snapshotOf(t, m)
		if _, err := newMemory(t, nil).ReadFrom(bytes.NewReader(snap)); err != nil {
			close(stop)
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
}

func TestNewMemoryStoreInvalid(t *testing.T) {
	for _, o := range []greylist.MemoryOptions{{MaxEntries: -1}, {SweepInterval: -time.Second}} {
		if _, err := greylist.NewMemoryStore(&o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}

// The policy, hammered from many goroutines on one triplet, defers once,
// then passes exactly one retry.
func TestPolicyConcurrent(t *testing.T) {
	var mu sync.Mutex
	now := t0
	p, err := greylist.New(&greylist.Options{Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }})
	if err != nil {
		t.Fatal(err)
	}
	burst := func() map[greylist.Reason]int {
		counts := map[greylist.Reason]int{}
		var cmu sync.Mutex
		var wg sync.WaitGroup
		for range 32 {
			wg.Go(func() {
				for range 20 {
					d, err := p.Check(context.Background(), req("192.0.2.1", "a@x", "b@y"))
					if err != nil {
						t.Error(err)
						return
					}
					cmu.Lock()
					counts[d.Reason]++
					cmu.Unlock()
				}
			})
		}
		wg.Wait()
		return counts
	}
	if got := burst(); got[greylist.ReasonNew] != 1 || got[greylist.ReasonEarly] != 639 {
		t.Errorf("first burst %v", got)
	}
	mu.Lock()
	now = now.Add(5 * time.Minute)
	mu.Unlock()
	if got := burst(); got[greylist.ReasonRetried] != 1 || got[greylist.ReasonKnown] != 639 {
		t.Errorf("retry burst %v", got)
	}
}

func FuzzMemoryStoreReadFrom(f *testing.F) {
	m, _ := greylist.NewMemoryStore(nil)
	m.Check(context.Background(), query("192.0.2.0/24", "a@b\x00c@d", 0))
	m.Check(context.Background(), query("192.0.2.0/24", "x@b\x00c@d", 0))
	m.Check(context.Background(), query("192.0.2.0/24", "x@b\x00c@d", time.Hour))
	var b bytes.Buffer
	m.WriteTo(&b)
	f.Add(b.Bytes())
	empty, _ := greylist.NewMemoryStore(nil)
	b.Reset()
	empty.WriteTo(&b)
	f.Add(b.Bytes())
	f.Add([]byte("herald-greylist-snapshot 1\nT\xff\xff\xff\xff\x0f"))
	f.Add([]byte("herald-greylist-snapshot 1\nC\x01a\x00\x00E\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, _ := greylist.NewMemoryStore(&greylist.MemoryOptions{MaxEntries: 1000})
		_, err := s.ReadFrom(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, greylist.ErrBadSnapshot) {
				t.Fatalf("error %v is not ErrBadSnapshot", err)
			}
			if s.Len() != 0 {
				t.Fatalf("%d records loaded from a bad snapshot", s.Len())
			}
			return
		}
		// What loaded writes back and loads again to the same records.
		var out bytes.Buffer
		if _, err := s.WriteTo(&out); err != nil {
			t.Fatal(err)
		}
		s2, _ := greylist.NewMemoryStore(&greylist.MemoryOptions{MaxEntries: 1000})
		if _, err := s2.ReadFrom(&out); err != nil {
			t.Fatalf("re-read: %v", err)
		}
		if s2.Len() != s.Len() {
			t.Fatalf("re-read %d records, want %d", s2.Len(), s.Len())
		}
	})
}

func TestMemoryStoreSaveEvery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "snap")
		m := newMemory(t, &greylist.MemoryOptions{SnapshotPath: path})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- m.SaveEvery(ctx, time.Minute) }()

		mustCheck(t, m, query("n", "a", 0))
		time.Sleep(59 * time.Second)
		synctest.Wait()
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("snapshot written before the first interval: %v", err)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if n := newMemory(t, &greylist.MemoryOptions{SnapshotPath: path}).Len(); n != 1 {
			t.Fatalf("after one interval the snapshot holds %d records, want 1", n)
		}
		mustCheck(t, m, query("n", "b", 0))
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if n := newMemory(t, &greylist.MemoryOptions{SnapshotPath: path}).Len(); n != 2 {
			t.Fatalf("after stopping the snapshot holds %d records, want 2", n)
		}
	})
	if err := newMemory(t, nil).SaveEvery(context.Background(), time.Second); err != nil {
		t.Errorf("SaveEvery without a path: %v", err)
	}
	m := newMemory(t, &greylist.MemoryOptions{SnapshotPath: filepath.Join(t.TempDir(), "s")})
	if err := m.SaveEvery(context.Background(), 0); err == nil {
		t.Errorf("zero interval accepted")
	}
}
