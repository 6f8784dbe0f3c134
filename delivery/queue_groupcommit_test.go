package delivery

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestEnqueueConcurrent: concurrent Enqueues, with group commit and with
// SyncEach, all leave complete message and state files that a restarted
// queue loads, none quarantined, and nothing in tmp/.
func TestEnqueueConcurrent(t *testing.T) {
	t.Parallel()
	for _, each := range []bool{false, true} {
		t.Run(fmt.Sprintf("SyncEach=%v", each), func(t *testing.T) {
			dir := t.TempDir()
			q, err := OpenQueue(dir, &QueueOptions{Transport: &scriptTransport{}, SyncEach: each})
			if err != nil {
				t.Fatal(err)
			}
			const g, per = 8, 10
			var wg sync.WaitGroup
			var mu sync.Mutex
			ids := map[string]string{}
			errs := make(chan error, g*per)
			for i := range g {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for j := range per {
						body := fmt.Sprintf("Subject: %d/%d\r\n\r\nbody\r\n", i, j)
						id, err := q.Enqueue(context.Background(), envelope("a@example.org", "b@example.net"), strings.NewReader(body))
						if err != nil {
							errs <- err
							return
						}
						mu.Lock()
						ids[id] = body
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			q2, err := OpenQueue(dir, &QueueOptions{Transport: &scriptTransport{}})
			if err != nil {
				t.Fatal(err)
			}
			if n := q2.Len(); n != g*per || len(q2.Quarantined()) != 0 {
				t.Fatalf("reopened queue: %d items, quarantined %q; want %d", n, q2.Quarantined(), g*per)
			}
			for id, body := range ids {
				b, err := os.ReadFile(filepath.Join(dir, "msg", id))
				size, _, ferr := readFooter(bytes.NewReader(b), int64(len(b)))
				if err != nil || ferr != nil || string(b[:size]) != body {
					t.Fatalf("msg/%s = %q, %v, %v", id, b, err, ferr)
				}
			}
			if e, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(e) != 0 {
				t.Fatalf("tmp/ holds %d files", len(e))
			}
		})
	}
}

// TestEnqueueCancelled: an Enqueue whose context is already done queues
// nothing.
func TestEnqueueCancelled(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	q, err := OpenQueue(dir, &QueueOptions{Transport: &scriptTransport{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := q.Enqueue(ctx, envelope("a@example.org", "b@example.net"), strings.NewReader("x")); err == nil {
		t.Fatal("Enqueue with a cancelled context succeeded")
	}
	for _, sub := range []string{"msg", "state", "tmp"} {
		if e, _ := os.ReadDir(filepath.Join(dir, sub)); len(e) != 0 {
			t.Errorf("%s/ holds %d files", sub, len(e))
		}
	}
}
