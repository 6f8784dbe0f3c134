package bench

// SORT and THREAD side by side with a private Dovecot, on the same
// 10,000-message Maildir as BenchmarkIMAPMaildir (each server its own
// copy, both servers running, Herald with GOMAXPROCS=1):
//
//	cd bench && go test -run='^$' -bench=IMAPSort -benchtime=1x -count=3 .
//
// A session logs in, SELECTs INBOX and runs SORT (SUBJECT DATE), then the
// same SORT again, then SORT (REVERSE FROM) and THREAD REFERENCES. The
// first session on each server is "first": Herald reads every header
// (and keeps the keys with the folder's index), Dovecot builds the sort
// data in its index. The sessions after it are "next": both answer from
// what they kept. "again" is the repeated SORT in a session. Reported:
// medians in ms over the runs, with ratios Herald/Dovecot.

import (
	"path/filepath"
	"testing"
	"time"
)

// startIMAPMaildirPair builds the 10,000-message Maildir and serves a
// copy of it from Herald (a child process, GOMAXPROCS=1) and one from a
// private Dovecot, both stopped at the end of the benchmark; it returns
// their addresses, Herald's first.
func startIMAPMaildirPair(b *testing.B) [2]string {
	dir := b.TempDir()
	hroot := filepath.Join(dir, "herald", "Maildir")
	buildBenchMaildir(b, hroot)
	ddir := filepath.Join(dir, "dovecot")
	populate := func(md string) { copyMaildir(b, hroot, md) }
	haddr, _, hstop := spawnHeraldChild(b, "TestIMAPMaildirBenchServer", "HERALD_IMAP_BENCH_MAILDIR="+hroot)
	b.Cleanup(hstop)
	daddr, _, dstop := spawnDovecotMaildir(b, ddir, "imap", populate)
	b.Cleanup(dstop)
	return [2]string{haddr, daddr}
}

func BenchmarkIMAPSort(b *testing.B) {
	addrs := startIMAPMaildirPair(b)

	type times struct{ sort, again, from, thread time.Duration }
	session := func(addr string) times {
		var t times
		c := dialIMAPBench(b, addr)
		c.run(b, "SELECT INBOX")
		timed := func(d *time.Duration, cmd string) {
			start := time.Now()
			c.run(b, cmd)
			*d = time.Since(start)
		}
		timed(&t.sort, "SORT (SUBJECT DATE) UTF-8 ALL")
		timed(&t.again, "SORT (SUBJECT DATE) UTF-8 ALL")
		timed(&t.from, "SORT (REVERSE FROM) UTF-8 ALL")
		timed(&t.thread, "THREAD REFERENCES UTF-8 ALL")
		c.run(b, "LOGOUT")
		c.c.Close()
		return t
	}
	var first [2]times
	for i := range 2 {
		first[i] = session(addrs[i])
	}
	const runs = 5
	for b.Loop() {
		var next [2][]times
		for r := range runs {
			for k := range 2 {
				i := (k + r) % 2
				next[i] = append(next[i], session(addrs[i]))
			}
		}
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 }
		report := func(name string, h, d float64) {
			b.ReportMetric(h, name+"-herald-ms")
			b.ReportMetric(d, name+"-dovecot-ms")
			if d > 0 {
				b.ReportMetric(h/d, name+"-ratio")
			}
		}
		report("first-sort", ms(first[0].sort), ms(first[1].sort))
		for _, m := range []struct {
			name string
			f    func(times) time.Duration
		}{
			{"next-sort", func(t times) time.Duration { return t.sort }},
			{"again-sort", func(t times) time.Duration { return t.again }},
			{"next-from", func(t times) time.Duration { return t.from }},
			{"next-thread", func(t times) time.Duration { return t.thread }},
		} {
			var h, d []float64
			for _, t := range next[0] {
				h = append(h, ms(m.f(t)))
			}
			for _, t := range next[1] {
				d = append(d, ms(m.f(t)))
			}
			report(m.name, median(h), median(d))
		}
	}
}
