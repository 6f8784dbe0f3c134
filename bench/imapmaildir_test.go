package bench

// Side by side with a private Dovecot: Herald's IMAP server with
// imapmaildir and Dovecot's imap, each serving its own copy of one
// 10,000-message Maildir built from the corpus (buildBenchMaildir).
//
//	cd bench && go test -run='^$' -bench='IMAPMaildir$' -benchtime=1x -count=5 .
//
// Herald's server runs with GOMAXPROCS=1, as Dovecot's imap process is
// one thread; HERALD_IMAP_BENCH_PROCS=2 gives it both cores.
//
// A session logs in, SELECTs INBOX, runs
// UID FETCH 1:* (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE) and
// FETCH 1:* BODY.PEEK[], and logs out. "warm" sessions run on servers that
// have served the mailbox before (after two sessions each); "cold" ones on
// servers started afresh, with Dovecot's index files and Herald's
// imapmaildir.CacheFile removed and the page cache dropped after a sync (echo 3 > /proc/sys/vm/drop_caches, which needs root). The
// two servers alternate which goes first. Reported, as medians over the
// sessions, with ratios Herald/Dovecot: the times of SELECT, the metadata
// FETCH and the body FETCH, body MB/s, the server's CPU per session (its
// whole process tree) and its resident memory with the mailbox selected
// (Herald's process; Dovecot's imap process for the session).

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/heraldmail/herald/imap"
	"github.com/heraldmail/herald/imap/imapmaildir"
	"github.com/heraldmail/herald/maildir"
)

// TestIMAPMaildirBenchServer is the Herald side of BenchmarkIMAPMaildir in
// a child process: imapmaildir over the Maildir++ tree named by
// HERALD_IMAP_BENCH_MAILDIR. It does nothing unless that is set; it prints
// its address and serves until its stdin closes.
func TestIMAPMaildirBenchServer(t *testing.T) {
	root := os.Getenv("HERALD_IMAP_BENCH_MAILDIR")
	if root == "" {
		t.Skip("runs only as the child of BenchmarkIMAPMaildir")
	}
	// The parent runs children with GOMAXPROCS=1; this lets a run
	// measure with more.
	if n, err := strconv.Atoi(os.Getenv("HERALD_IMAP_BENCH_PROCS")); err == nil && n > 0 {
		runtime.GOMAXPROCS(n)
	}
	// One Store for the user, opened at the first login and shared by
	// every session, as examples/mailserver keeps one per user.
	var (
		mu sync.Mutex
		st *maildir.Store
	)
	be := &imapmaildir.Backend{Store: func(ctx context.Context, conn *imap.ConnInfo, identity string) (*maildir.Store, error) {
		mu.Lock()
		defer mu.Unlock()
		if st == nil {
			s, err := maildir.OpenStore(root, nil)
			if err != nil {
				return nil, err
			}
			st = s
		}
		return st, nil
	}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &imap.Server{Backend: be, Auth: imapBenchAuth()}
	go s.Serve(l)
	fmt.Println(l.Addr())
	io.Copy(io.Discard, os.Stdin)
	s.Close()
}

// imapSession is what one benchmark session measured.
type imapSession struct {
	selectT, metaT, bodyT, cpu time.Duration
	bodyBytes                  int64
	rssKiB                     int64
}

// runIMAPSession runs one session against addr; rssPID returns the pid
// whose resident memory counts while the mailbox is selected.
func runIMAPSession(b *testing.B, addr string, treePID int, rssPID func() int) imapSession {
	var s imapSession
	cpu0 := imapTreeCPU(b, treePID)
	c := dialIMAPBench(b, addr)
	t := time.Now()
	c.run(b, "SELECT INBOX")
	s.selectT = time.Since(t)
	t = time.Now()
	c.run(b, "UID FETCH 1:* (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE)")
	s.metaT = time.Since(t)
	t = time.Now()
	s.bodyBytes = c.run(b, "FETCH 1:* BODY.PEEK[]")
	s.bodyT = time.Since(t)
	s.rssKiB = rssKiB(rssPID())
	c.run(b, "LOGOUT")
	c.c.Close()
	time.Sleep(100 * time.Millisecond) // the session's end is server work too
	s.cpu = imapTreeCPU(b, treePID) - cpu0
	return s
}

// rssKiB returns the VmRSS of pid in KiB, or 0.
func rssKiB(pid int) int64 {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// dovecotIMAPProcess returns the pid of the newest "imap" process below
// master, the one serving the session just opened.
func dovecotIMAPProcess(master int) int {
	best := 0
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, _ := os.ReadFile("/proc/" + e.Name() + "/comm")
		if strings.TrimSpace(string(comm)) != "imap" {
			continue
		}
		data, _ := os.ReadFile("/proc/" + e.Name() + "/stat")
		s := string(data)
		if i := strings.LastIndexByte(s, ')'); i > 0 {
			f := strings.Fields(s[i+2:])
			if len(f) > 1 && f[1] == strconv.Itoa(master) && pid > best {
				best = pid
			}
		}
	}
	return best
}

func BenchmarkIMAPMaildir(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("dropping the page cache for the cold sessions needs root")
	}
	dir := b.TempDir()
	hroot := filepath.Join(dir, "herald", "Maildir")
	buildBenchMaildir(b, hroot)
	ddir := filepath.Join(dir, "dovecot")
	dmaildir := filepath.Join(ddir, "home", "Maildir")
	populate := func(md string) { copyMaildir(b, hroot, md) }

	type side struct {
		name  string
		start func() (addr string, pid int, stop func())
		rss   func(pid int) func() int
	}
	sides := []side{
		{"herald", func() (string, int, func()) {
			return spawnHeraldChild(b, "TestIMAPMaildirBenchServer", "HERALD_IMAP_BENCH_MAILDIR="+hroot)
		}, func(pid int) func() int { return func() int { return pid } }},
		{"dovecot", func() (string, int, func()) {
			a, p, stop := spawnDovecotMaildir(b, ddir, "imap", populate)
			populate = nil // the copy is made once
			return a, p, stop
		}, func(pid int) func() int { return func() int { return dovecotIMAPProcess(pid) } }},
	}
	dropCaches := func() {
		// Dirty pages are not dropped: the copies just written would
		// stay cached (for the side written last more than the other).
		syscall.Sync()
		if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0); err != nil {
			b.Fatal(err)
		}
	}
	removeIndexes := func() {
		// Herald's metadata cache goes like Dovecot's index files.
		os.Remove(filepath.Join(hroot, imapmaildir.CacheFile))
		ents, _ := os.ReadDir(dmaildir)
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), "dovecot.index") {
				os.Remove(filepath.Join(dmaildir, e.Name()))
			}
		}
	}
	const runs = 5
	for b.Loop() {
		var warm, cold [2][]imapSession
		// Cold: each server started afresh on an empty page cache.
		for r := range runs {
			for k := range 2 {
				i := (k + r) % 2
				removeIndexes()
				addr, pid, stop := sides[i].start()
				dropCaches()
				cold[i] = append(cold[i], runIMAPSession(b, addr, pid, sides[i].rss(pid)))
				stop()
			}
		}
		// Warm: both servers running, two sessions each first.
		var addrs [2]string
		var pids [2]int
		for i, s := range sides {
			a, p, stop := s.start()
			defer stop()
			addrs[i], pids[i] = a, p
			for range 2 {
				runIMAPSession(b, a, p, s.rss(p))
			}
		}
		for r := range runs {
			for k := range 2 {
				i := (k + r) % 2
				warm[i] = append(warm[i], runIMAPSession(b, addrs[i], pids[i], sides[i].rss(pids[i])))
			}
		}
		report := func(prefix string, ss [2][]imapSession) {
			pick := func(i int, f func(imapSession) float64) float64 {
				var v []float64
				for _, s := range ss[i] {
					v = append(v, f(s))
				}
				return median(v)
			}
			for _, m := range []struct {
				unit string
				f    func(imapSession) float64
			}{
				{"select-ms", func(s imapSession) float64 { return float64(s.selectT.Microseconds()) / 1e3 }},
				{"meta-ms", func(s imapSession) float64 { return float64(s.metaT.Microseconds()) / 1e3 }},
				{"body-MB/s", func(s imapSession) float64 { return float64(s.bodyBytes) / 1e6 / s.bodyT.Seconds() }},
				{"cpu-ms", func(s imapSession) float64 { return float64(s.cpu.Microseconds()) / 1e3 }},
				{"rss-MiB", func(s imapSession) float64 { return float64(s.rssKiB) / 1024 }},
			} {
				h, d := pick(0, m.f), pick(1, m.f)
				b.ReportMetric(h, prefix+"herald-"+m.unit)
				b.ReportMetric(d, prefix+"dovecot-"+m.unit)
				if d != 0 {
					b.ReportMetric(h/d, prefix+"ratio-"+m.unit)
				}
			}
		}
		report("cold-", cold)
		report("warm-", warm)
	}
}
