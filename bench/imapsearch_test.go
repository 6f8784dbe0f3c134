package bench

// Side by side with a private Dovecot (no full-text index, as Dovecot is
// installed): SEARCH BODY and SEARCH TEXT over one 10,000-message Maildir
// built from the corpus, each server with the mailbox selected before
// (warm page cache and caches), so that each search reads every message.
//
//	cd bench && go test -run='^$' -bench=IMAPMaildirSearch -benchtime=1x -count=5 .
//
// Herald's server runs with GOMAXPROCS=1, as Dovecot's imap process is
// one thread. Reported, as medians of 5 interleaved sessions per server,
// with ratios Herald/Dovecot: the time of each search and the server's
// CPU for it, and the number of messages each found (the two must agree
// for the figure to mean anything).

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"
)

// imapSearches are the searches timed: a word in about one message in
// ten, a word in no message (in any case), and a phrase in headers.
var imapSearches = []struct{ name, cmd string }{
	{"body-some", `SEARCH BODY "unsubscribe"`},
	{"body-none", `SEARCH BODY "zqxjkvwb"`},
	{"text-none", `SEARCH TEXT "zqxjkvwb"`},
}

// search runs a SEARCH and returns how many messages it found.
func (s *imapBenchConn) search(b *testing.B, cmd string) int {
	found := -1
	s.runEach(b, cmd, func(line []byte) {
		if rest, ok := bytes.CutPrefix(line, []byte("* SEARCH")); ok {
			found = len(bytes.Fields(rest))
		}
	})
	if found < 0 {
		b.Fatalf("%s: no SEARCH response", cmd)
	}
	return found
}

func BenchmarkIMAPMaildirSearch(b *testing.B) {
	dir := b.TempDir()
	hroot := filepath.Join(dir, "herald", "Maildir")
	buildBenchMaildir(b, hroot)
	ddir := filepath.Join(dir, "dovecot")
	haddr, hpid, hstop := spawnHeraldChild(b, "TestIMAPMaildirBenchServer", "HERALD_IMAP_BENCH_MAILDIR="+hroot)
	defer hstop()
	daddr, dpid, dstop := spawnDovecotMaildir(b, ddir, "imap", func(md string) { copyMaildir(b, hroot, md) })
	defer dstop()
	servers := []struct {
		addr string
		pid  int
	}{{haddr, hpid}, {daddr, dpid}}
	// Warm: each server reads the mailbox and every message once.
	for _, s := range servers {
		c := dialIMAPBench(b, s.addr)
		c.run(b, "SELECT INBOX")
		c.run(b, "UID FETCH 1:* (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE)")
		c.search(b, imapSearches[0].cmd)
		c.run(b, "LOGOUT")
	}
	const runs = 5
	for b.Loop() {
		for _, q := range imapSearches {
			var times, cpus [2][]float64
			var found [2]int
			for r := range runs {
				for k := range 2 {
					i := (k + r) % 2
					c := dialIMAPBench(b, servers[i].addr)
					c.run(b, "SELECT INBOX")
					cpu0 := imapTreeCPU(b, servers[i].pid)
					t := time.Now()
					found[i] = c.search(b, q.cmd)
					el := time.Since(t)
					cpu := imapTreeCPU(b, servers[i].pid) - cpu0
					c.run(b, "LOGOUT")
					times[i] = append(times[i], float64(el.Microseconds())/1e3)
					cpus[i] = append(cpus[i], float64(cpu.Microseconds())/1e3)
				}
			}
			if found[0] != found[1] {
				b.Errorf("%s: Herald found %d messages, Dovecot %d", q.cmd, found[0], found[1])
			}
			h, d := median(times[0]), median(times[1])
			b.ReportMetric(h, q.name+"-herald-ms")
			b.ReportMetric(d, q.name+"-dovecot-ms")
			b.ReportMetric(h/d, q.name+"-ratio-ms")
			hc, dc := median(cpus[0]), median(cpus[1])
			b.ReportMetric(hc, q.name+"-herald-cpu-ms")
			b.ReportMetric(dc, q.name+"-dovecot-cpu-ms")
			b.ReportMetric(float64(found[0]), q.name+"-found")
		}
	}
}
