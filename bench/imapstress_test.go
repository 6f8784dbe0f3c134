package bench

// Issue 20's load, side by side with a private Dovecot: 10 clients for
// 60 s on one INBOX (internal/imapstress: login, select, append, fetch,
// store, expunge, idle, each client checking every response), against
// Herald's IMAP server with imapmaildir and against Dovecot's imap, each
// on a fresh copy of one 1,000-message Maildir built from the corpus.
//
//	cd bench && go test -run='^$' -bench=IMAPStress -benchtime=1x -timeout=30m .
//
// Both servers get both cores: Herald's server GOMAXPROCS=2, Dovecot its
// process per client. Dovecot runs in each of two process models, its
// default (a new imap-login and imap process for every connection) and
// its high-performance one (login processes serving many connections,
// imap processes reused and two of each started ahead); the figure to
// compare is against the faster. The runs alternate which server goes
// first; reported are the medians of the commands completed per second,
// the ratios Herald/Dovecot of each run's figures (their median), and the
// check of the final state over IMAP passes on every run or the benchmark
// fails. HERALD_STRESS_SECONDS and HERALD_STRESS_RUNS change the length
// (60) and the number of runs (3).

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/heraldmail/herald/internal/imapstress"
)

// dovecotPerformance is Dovecot's high-performance process model, as its
// documentation describes it: a login process serves many connections
// and imap processes are reused, with some started ahead.
const (
	dovecotPerfLogin = `  service_count = 0
  process_min_avail = 2`
	dovecotPerfIMAP = `service imap {
  service_count = 0
  process_min_avail = 10
}
` + dovecotStressLimits
	// The clients log out and in again: 10 at once from one address
	// can exceed Dovecot's default of 10 while the old one ends.
	dovecotStressLimits = `protocol imap {
  mail_max_userip_connections = 100
}`
)

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

func BenchmarkIMAPStress(b *testing.B) {
	secs := envInt("HERALD_STRESS_SECONDS", 60)
	runs := envInt("HERALD_STRESS_RUNS", 3)
	dir := b.TempDir()
	src := filepath.Join(dir, "src", "Maildir")
	buildBenchMaildirN(b, src, 1000)
	b.Setenv("HERALD_IMAP_BENCH_PROCS", "2")

	type side struct {
		name  string
		start func(run int) (addr string, stop func())
	}
	sides := []side{
		{"herald", func(run int) (string, func()) {
			root := filepath.Join(dir, fmt.Sprintf("herald%d", run), "Maildir")
			for _, sub := range []string{"cur", "new", "tmp"} {
				os.MkdirAll(filepath.Join(root, sub), 0o755)
			}
			copyMaildir(b, src, root)
			a, _, stop := spawnHeraldChild(b, "TestIMAPMaildirBenchServer", "HERALD_IMAP_BENCH_MAILDIR="+root)
			return a, stop
		}},
		{"dovecot-default", func(run int) (string, func()) {
			a, _, stop := spawnDovecotConf(b, filepath.Join(dir, fmt.Sprintf("dovecot-default%d", run)), "imap",
				func(md string) { copyMaildir(b, src, md) }, "", dovecotStressLimits)
			return a, stop
		}},
		{"dovecot-performance", func(run int) (string, func()) {
			a, _, stop := spawnDovecotConf(b, filepath.Join(dir, fmt.Sprintf("dovecot-performance%d", run)), "imap",
				func(md string) { copyMaildir(b, src, md) }, dovecotPerfLogin, dovecotPerfIMAP)
			return a, stop
		}},
	}
	for b.Loop() {
		rates := make([][]float64, len(sides))
		for r := range runs {
			for k := range sides {
				i := (k + r) % len(sides)
				addr, stop := sides[i].start(r)
				time.Sleep(500 * time.Millisecond) // Dovecot's processes started ahead
				o := imapstress.Options{Addr: addr, User: "alice", Password: "secret", Clients: 10,
					Duration: time.Duration(secs) * time.Second, Seed: uint64(r)}
				t0 := time.Now()
				res := imapstress.Run(context.Background(), o)
				el := time.Since(t0)
				for _, err := range res.Errors {
					b.Errorf("%s: %v", sides[i].name, err)
				}
				if err := imapstress.Verify(context.Background(), o, res.Want); err != nil {
					b.Errorf("%s: final state: %v", sides[i].name, err)
				}
				stop()
				rate := float64(res.Total()) / el.Seconds()
				lat := ""
				for _, op := range []string{"LOGIN", "SELECT", "APPEND", "UID STORE", "UID FETCH", "FETCH", "UID EXPUNGE", "IDLE", "NOOP", "LOGOUT"} {
					if n := res.Ops[op]; n > 0 {
						lat += fmt.Sprintf(" %s %d×%.2fms", op, n, float64(res.Time[op].Microseconds())/1e3/float64(n))
					}
				}
				b.Logf("run %d %s: %d commands in %v, %.0f/s:%s", r, sides[i].name, res.Total(), el.Round(time.Millisecond), rate, lat)
				rates[i] = append(rates[i], rate)
			}
		}
		for i, s := range sides {
			b.ReportMetric(median(rates[i]), s.name+"-ops/s")
			if i > 0 {
				var ratios []float64
				for r := range rates[0] {
					ratios = append(ratios, rates[0][r]/rates[i][r])
				}
				b.ReportMetric(median(ratios), "ratio-"+s.name)
			}
		}
	}
}
