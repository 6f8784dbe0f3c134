package bench

// The cost of SEARCH RETURN (UPDATE) contexts (RFC 5267) side by side
// with a private Dovecot, on the same 10,000-message Maildir as
// BenchmarkIMAPMaildir (each server its own copy, Herald with
// GOMAXPROCS=1):
//
//	cd bench && go test -run='^$' -bench=IMAPContext -benchtime=1x -count=3 .
//
// A session SELECTs INBOX and times pairs of STORE n +FLAGS (\Flagged)
// and STORE n -FLAGS (\Flagged) (each answered with its FETCH and, once
// contexts exist, an ESEARCH update) with no context ("store-0"), then
// opens ten UPDATE contexts ("open-10": the ten searches over the whole
// mailbox) and times the same pairs again ("store-10"). Reported: medians
// in ms, with ratios Herald/Dovecot.

import (
	"fmt"
	"testing"
	"time"
)

func BenchmarkIMAPContext(b *testing.B) {
	addrs := startIMAPMaildirPair(b)
	criteria := []string{"FLAGGED", "UNSEEN", "SEEN", "DELETED", "ANSWERED", "LARGER 4000", "SMALLER 2000",
		"OR FLAGGED SEEN", "NOT DRAFT", "KEYWORD x"}

	const pairs = 20
	type times struct {
		store0, open, store10 []float64
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 }
	session := func(addr string, t *times) {
		c := dialIMAPBench(b, addr)
		c.run(b, "SELECT INBOX")
		storePairs := func(into *[]float64) {
			for i := range pairs {
				n := 1 + i*397%10000
				start := time.Now()
				c.run(b, fmt.Sprintf(`STORE %d +FLAGS (\Flagged)`, n))
				c.run(b, fmt.Sprintf(`STORE %d -FLAGS (\Flagged)`, n))
				*into = append(*into, ms(time.Since(start)))
			}
		}
		storePairs(&t.store0)
		start := time.Now()
		for _, k := range criteria {
			c.run(b, "SEARCH RETURN (UPDATE COUNT) "+k)
		}
		t.open = append(t.open, ms(time.Since(start)))
		storePairs(&t.store10)
		c.run(b, "LOGOUT")
		c.c.Close()
	}
	for b.Loop() {
		var res [2]times
		for r := range 3 {
			for k := range 2 {
				i := (k + r) % 2
				session(addrs[i], &res[i])
			}
		}
		report := func(name string, h, d []float64) {
			b.ReportMetric(median(h), name+"-herald-ms")
			b.ReportMetric(median(d), name+"-dovecot-ms")
			if median(d) > 0 {
				b.ReportMetric(median(h)/median(d), name+"-ratio")
			}
		}
		report("store-0", res[0].store0, res[1].store0)
		report("open-10", res[0].open, res[1].open)
		report("store-10", res[0].store10, res[1].store10)
	}
}
