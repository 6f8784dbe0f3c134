package delivery

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestQueueRetryAndDelete(t *testing.T) {
	dir := t.TempDir()
	tr := &scriptTransport{reply: tempReply}
	q, err := OpenQueue(dir, &QueueOptions{Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := q.Enqueue(ctx, envelope("a@sender.test", "b@example.test"), strings.NewReader(testMessage))
	if err != nil {
		t.Fatal(err)
	}
	b, err := q.Enqueue(ctx, envelope("a@sender.test", "c@example.test"), strings.NewReader(testMessage))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { q.Run(ctx); close(done) }()
	waitFor(t, func() bool { return len(tr.times()) == 2 })
	// Both failed temporarily and wait 5 minutes; Retry brings one back
	// at once, RetryAll both.
	retry := func(id string) {
		t.Helper()
		for {
			err := q.Retry(id)
			if err == nil {
				return
			}
			if !errors.Is(err, ErrAttemptInProgress) {
				t.Fatal(err)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	retry(a)
	waitFor(t, func() bool { return len(tr.times()) == 3 })
	retry(b)
	waitFor(t, func() bool { return len(tr.times()) == 4 })
	// RetryAll counts only the messages not being attempted, and makes
	// those due: wait for both attempts to be recorded first, so that one
	// call makes both due (a call that finds one still running makes the
	// other due on its own, and the count below would be off).
	attempts := func(id string) int {
		for _, it := range q.Items() {
			if it.ID == id {
				return it.Attempts
			}
		}
		return -1
	}
	waitFor(t, func() bool { return attempts(a) == 2 && attempts(b) == 2 })
	for q.RetryAll() != 2 {
		time.Sleep(5 * time.Millisecond)
	}
	waitFor(t, func() bool { return len(tr.times()) >= 6 })
	if err := q.Retry("nope"); !errors.Is(err, ErrNotQueued) {
		t.Fatalf("Retry of an unknown id: %v", err)
	}
	// Delete removes the files and the item, without a notification.
	waitFor(t, func() bool {
		for _, it := range q.Items() {
			if it.ID == b && it.Attempts >= 3 {
				return true
			}
		}
		return false
	})
	// The attempt may still be closing: Delete refuses until it has.
	for {
		err := q.Delete(b)
		if err == nil {
			break
		}
		if !errors.Is(err, ErrAttemptInProgress) {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if q.Len() != 1 {
		t.Fatalf("Len = %d after Delete, want 1", q.Len())
	}
	for _, sub := range []string{"msg", "state"} {
		if _, err := os.Stat(filepath.Join(dir, sub, b)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s/%s still there: %v", sub, b, err)
		}
	}
	if err := q.Delete(b); !errors.Is(err, ErrNotQueued) {
		t.Fatalf("second Delete: %v", err)
	}
	cancel()
	<-done
	// Reopened, the deleted message stays gone.
	q2, err := OpenQueue(dir, &QueueOptions{Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	if items := q2.Items(); len(items) != 1 || items[0].ID != a {
		t.Fatalf("after reopening: %+v", items)
	}
}
