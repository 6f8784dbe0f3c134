package groupcommit

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// gated returns a Committer whose first batch waits until release is
// closed, so that the requests made meanwhile gather into one batch.
func gated(syncfsMin int) (c *Committer, started, release chan struct{}) {
	started, release = make(chan struct{}), make(chan struct{})
	var once sync.Once
	c = &Committer{SyncfsMin: syncfsMin}
	c.beforeRun = func() {
		once.Do(func() {
			close(started)
			<-release
		})
	}
	return c, started, release
}

// waitGathered waits until n requests wait in the next batch.
func waitGathered(t *testing.T, c *Committer, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.mu.Lock()
		got := 0
		if c.next != nil {
			got = len(c.next.reqs)
		}
		c.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d requests gathered, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func writeFile(t *testing.T, dir string, i int) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, "f"+strconv.Itoa(i)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if _, err := f.WriteString("data " + strconv.Itoa(i)); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestLoneRequestSyncsAtOnce(t *testing.T) {
	var c Committer
	dir := t.TempDir()
	f := writeFile(t, dir, 0)
	if err := c.Sync(context.Background(), Request{Files: []*os.File{f}, Paths: []string{dir}}); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.Batches != 1 || st.Requests != 1 {
		t.Fatalf("stats %+v", st)
	}
	if err := c.Sync(context.Background(), Request{}); err != nil {
		t.Fatal(err)
	}
}

// TestBatching: requests made while a sync runs are synced together in
// the next batch, with each directory once.
func TestBatching(t *testing.T) {
	for _, min := range []int{-1, 1} {
		t.Run("syncfsMin="+strconv.Itoa(min), func(t *testing.T) {
			c, started, release := gated(min)
			dir := t.TempDir()
			ctx := context.Background()
			first := make(chan error)
			go func() { first <- c.Sync(ctx, Request{Files: []*os.File{writeFile(t, dir, 0)}}) }()
			<-started
			const n = 30
			errs := make(chan error, n)
			for i := 1; i <= n; i++ {
				f := writeFile(t, dir, i)
				go func() { errs <- c.Sync(ctx, Request{Files: []*os.File{f}, Paths: []string{dir}}) }()
			}
			waitGathered(t, c, n)
			close(release)
			if err := <-first; err != nil {
				t.Fatal(err)
			}
			for range n {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
			st := c.Stats()
			if st.Requests != n+1 || st.Batches != 2 {
				t.Fatalf("stats %+v, want %d requests in 2 batches", st, n+1)
			}
			if min == 1 && st.Syncfs != 2 {
				t.Fatalf("stats %+v, want both batches synced with syncfs", st)
			}
			if min < 0 && st.Syncfs != 0 {
				t.Fatalf("stats %+v, want no syncfs", st)
			}
		})
	}
}

// TestErrors: a path that cannot be synced fails the waiters that named
// it, and only them; a closed file is not an error.
func TestErrors(t *testing.T) {
	for _, min := range []int{-1, 1} {
		t.Run("syncfsMin="+strconv.Itoa(min), func(t *testing.T) {
			c, started, release := gated(min)
			dir := t.TempDir()
			gone := filepath.Join(dir, "gone")
			ctx := context.Background()
			go c.Sync(ctx, Request{Paths: []string{dir}})
			<-started
			type res struct {
				i   int
				err error
			}
			out := make(chan res, 4)
			closed := writeFile(t, dir, 9)
			closed.Close()
			reqs := []Request{
				{Paths: []string{dir}},
				{Paths: []string{gone, dir}},
				{Paths: []string{gone}},
				{Files: []*os.File{closed}, Paths: []string{dir}},
			}
			for i, r := range reqs {
				go func() { out <- res{i, c.Sync(ctx, r)} }()
			}
			waitGathered(t, c, len(reqs))
			close(release)
			got := map[int]error{}
			for range reqs {
				r := <-out
				got[r.i] = r.err
			}
			for _, i := range []int{0, 3} {
				if got[i] != nil {
					t.Errorf("request %d: %v, want nil", i, got[i])
				}
			}
			for _, i := range []int{1, 2} {
				if !errors.Is(got[i], fs.ErrNotExist) {
					t.Errorf("request %d: %v, want ErrNotExist", i, got[i])
				}
			}
		})
	}
}

// TestContext: a waiter whose context ends returns at once, while the
// batch it joined is still synced.
func TestContext(t *testing.T) {
	c, started, release := gated(-1)
	dir := t.TempDir()
	first := make(chan error)
	go func() { first <- c.Sync(context.Background(), Request{Paths: []string{dir}}) }()
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.Sync(ctx, Request{Paths: []string{dir}}) }()
	waitGathered(t, c, 1)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Sync did not return after cancel")
	}
	if err := c.Sync(ctx, Request{Paths: []string{dir}}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled ctx: got %v", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	// The gathered batch still runs, in a batch of its own; a later
	// request is served in a third.
	if err := c.Sync(context.Background(), Request{Paths: []string{dir}}); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.Batches != 3 {
		t.Fatalf("stats %+v, want 3 batches", st)
	}
}

// TestConcurrent hammers one Committer from many goroutines over two
// directories (run with -race).
func TestConcurrent(t *testing.T) {
	var c Committer
	dirs := []string{t.TempDir(), t.TempDir()}
	var wg sync.WaitGroup
	const g, per = 16, 20
	errs := make(chan error, g*per)
	for i := range g {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range per {
				dir := dirs[(i+j)%2]
				f, err := os.Create(filepath.Join(dir, strconv.Itoa(i)+"-"+strconv.Itoa(j)))
				if err != nil {
					errs <- err
					return
				}
				f.WriteString("x")
				errs <- c.Sync(context.Background(), Request{Files: []*os.File{f}, Paths: []string{dir}})
				f.Close()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	st := c.Stats()
	if st.Requests != g*per || st.Batches < 1 || st.Batches > st.Requests {
		t.Fatalf("stats %+v", st)
	}
	t.Logf("%+v", st)
}
