package bench

// Maildir benchmarks: durable deliveries per second (each one writes to
// tmp/, fsyncs the file, links it into new/, fsyncs the directory and
// appends its UID to dovecot-uidlist under the dot-lock), and listing a
// folder of 10,000 messages.
//
//	cd bench && go test -run='^$' -bench='^BenchmarkMaildir' -count=5 .
//
// Listing comes in three states: "cached" syncs again through the same
// *maildir.Maildir (dovecot-uidlist unchanged on disk, so it is not read
// again: a folder listing plus a stat of dovecot-uidlist); "warm" opens the
// folder afresh and syncs, which reads and parses dovecot-uidlist as a new
// IMAP session would; "cold" removes dovecot-uidlist first, so the sync
// assigns 10,000 UIDs and writes the file under its lock. The deliveries
// run on the file system of the temporary directory, so their rate is
// mostly the cost of fsync there.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/heraldmail/herald/maildir"
)

const maildirListSize = 10_000

// maildirMessage returns the delivered message, 3.5 KB.
func maildirMessage() string {
	return "From: a@example.org\r\nTo: b@example.net\r\nSubject: benchmark\r\n\r\n" + strings.Repeat("body line of a benchmark message\r\n", 100)
}

func BenchmarkMaildirDeliver(b *testing.B) {
	m, err := maildir.Create(filepath.Join(b.TempDir(), "Maildir"), nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	msgText := maildirMessage()
	b.SetBytes(int64(len(msgText)))
	b.ResetTimer()
	for b.Loop() {
		msg, err := m.Deliver(ctx, strings.NewReader(msgText), nil)
		if err != nil || msg.UID == 0 {
			b.Fatal(msg, err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
}

func BenchmarkMaildirDeliverParallel(b *testing.B) {
	m, err := maildir.Create(filepath.Join(b.TempDir(), "Maildir"), nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	msgText := maildirMessage()
	b.SetBytes(int64(len(msgText)))
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := m.Deliver(ctx, strings.NewReader(msgText), nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
}

// maildirFolder fills a folder with n messages written directly (without
// fsync, to keep the setup short), half of them with flags, and syncs it
// once so that dovecot-uidlist holds their UIDs.
func maildirFolder(b *testing.B, n int) string {
	b.Helper()
	dir := filepath.Join(b.TempDir(), "Maildir")
	if _, err := maildir.Create(dir, nil); err != nil {
		b.Fatal(err)
	}
	body := []byte(maildirMessage())
	for i := range n {
		name := fmt.Sprintf("%d.M%dP1Q%d.bench,S=%d,W=%d", 1700000000+i/100, i%100*1000, i, len(body), len(body))
		sub := "new"
		if i%2 == 0 {
			sub, name = "cur", name+":2,S"
		}
		if err := os.WriteFile(filepath.Join(dir, sub, name), body, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	m, _ := maildir.Open(dir, nil)
	if s, err := m.Sync(context.Background(), nil); err != nil || len(s.Messages) != n {
		b.Fatal(err)
	}
	return dir
}

func BenchmarkMaildirList10k(b *testing.B) {
	ctx := context.Background()
	dir := maildirFolder(b, maildirListSize)
	check := func(s *maildir.Snapshot, err error) {
		if err != nil || len(s.Messages) != maildirListSize {
			b.Fatal(err)
		}
	}
	b.Run("cached", func(b *testing.B) {
		m, _ := maildir.Open(dir, nil)
		check(m.Sync(ctx, nil))
		for b.Loop() {
			check(m.Sync(ctx, nil))
		}
	})
	b.Run("warm", func(b *testing.B) {
		for b.Loop() {
			m, err := maildir.Open(dir, nil)
			if err != nil {
				b.Fatal(err)
			}
			check(m.Sync(ctx, nil))
		}
	})
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			if err := os.Remove(filepath.Join(dir, "dovecot-uidlist")); err != nil {
				b.Fatal(err)
			}
			m, _ := maildir.Open(dir, nil)
			b.StartTimer()
			check(m.Sync(ctx, nil))
		}
	})
}

// BenchmarkMaildirGroupCommit compares durable deliveries per second with
// group commit (herald, the default) and with one fsync per step
// (Options.SyncEach, the code before group commit: fsync of the file, the
// directory and dovecot-uidlist), from 1 and 20 goroutines.
//
//	bench/interleave.sh '^BenchmarkMaildirGroupCommit$' 5 2000x
func BenchmarkMaildirGroupCommit(b *testing.B) {
	for _, g := range []int{1, 20} {
		for _, side := range []string{"herald", "synceach"} {
			b.Run(fmt.Sprintf("g%d/%s", g, side), func(b *testing.B) {
				m, err := maildir.Create(filepath.Join(b.TempDir(), "Maildir"), &maildir.Options{SyncEach: side == "synceach"})
				if err != nil {
					b.Fatal(err)
				}
				msgText := maildirMessage()
				b.SetBytes(int64(len(msgText)))
				runConcurrent(b, g, func() error {
					_, err := m.Deliver(context.Background(), strings.NewReader(msgText), nil)
					return err
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
			})
		}
	}
}

// runConcurrent runs op b.N times from g goroutines.
func runConcurrent(b *testing.B, g int, op func() error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for range g {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if err := op(); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
