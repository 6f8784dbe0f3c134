package imapmaildir_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// TestStoreUnchangedSinceRace races two sessions storing FLAGS (UNCHANGEDSINCE
// m) on the same messages, both having seen every message at mod-sequence
// m or below (RFC 7162 section 3.1.3): whichever stores first changes a
// message, so that the other must find it changed and get it in OK
// [MODIFIED]. Each message must thus have exactly one winner, the one
// not told MODIFIED, and end with the winner's flags: an update lost
// (both told they stored) is a failure.
func TestStoreUnchangedSinceRace(t *testing.T) {
	const msgs, rounds = 12, 25
	f := newFixture(t, nil)
	a, b := f.dial(t, "alice"), f.dial(t, "alice")
	for i := range msgs {
		a.append("INBOX", "", "", fmt.Sprintf("Subject: %d\r\n\r\nbody\r\n", i))
	}
	a.ok("SELECT INBOX (CONDSTORE)")
	b.ok("SELECT INBOX (CONDSTORE)")
	reModified := regexp.MustCompile(`^OK \[MODIFIED ([0-9:,]+)\]`)
	for round := range rounds {
		// The mod-sequence both sessions know: the highest of all.
		var since uint64
		for _, l := range a.ok("FETCH 1:* (MODSEQ)") {
			if i := strings.Index(l, "MODSEQ ("); i >= 0 {
				n, _ := strconv.ParseUint(strings.TrimSuffix(l[i+len("MODSEQ ("):], "))"), 10, 64)
				since = max(since, n)
			}
		}
		b.ok("NOOP")
		kw := [2]string{fmt.Sprintf("a%d", round), fmt.Sprintf("b%d", round)}
		var status [2]string
		var wg sync.WaitGroup
		start := make(chan struct{})
		for k, cl := range []*client{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, status[k] = cl.do(fmt.Sprintf("STORE 1:%d (UNCHANGEDSINCE %d) FLAGS.SILENT (%s)", msgs, since, kw[k]))
			}()
		}
		close(start)
		wg.Wait()
		var modified [2]map[uint32]bool
		for k, st := range status {
			if !strings.HasPrefix(st, "OK") {
				t.Fatalf("round %d: STORE of %s: %s", round, kw[k], st)
			}
			modified[k] = map[uint32]bool{}
			if m := reModified.FindStringSubmatch(st); m != nil {
				for _, r := range strings.Split(m[1], ",") {
					lo, hi, _ := strings.Cut(r, ":")
					x, _ := strconv.Atoi(lo)
					y := x
					if hi != "" {
						y, _ = strconv.Atoi(hi)
					}
					for n := min(x, y); n <= max(x, y); n++ {
						modified[k][uint32(n)] = true
					}
				}
			}
		}
		final := map[uint32]string{}
		for _, l := range a.ok("FETCH 1:* (FLAGS)") {
			var n uint32
			var flags string
			if _, err := fmt.Sscanf(l, "* %d FETCH (FLAGS (%s", &n, &flags); err == nil {
				final[n] = strings.TrimRight(flags, ")")
			}
		}
		for n := uint32(1); n <= msgs; n++ {
			switch {
			case modified[0][n] == modified[1][n]:
				t.Fatalf("round %d, message %d: MODIFIED for A %v, for B %v (%q, %q); want exactly one", round, n, modified[0][n], modified[1][n], status[0], status[1])
			case !modified[0][n] && final[n] != kw[0], !modified[1][n] && final[n] != kw[1]:
				t.Fatalf("round %d, message %d: flags %q, but the STORE told OK was A's %v", round, n, final[n], !modified[0][n])
			}
		}
	}
}
