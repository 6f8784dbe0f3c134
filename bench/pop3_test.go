// Side-by-side RETR throughput of Herald's POP3 server (in-memory backend)
// and a private Dovecot pop3d serving the same messages from a Maildir,
// both read by the Herald client in one run. Each op is one RETR of a
// message read to its end on a logged-in session over loopback. Besides
// MB/s, each sub-benchmark reports the server's CPU time per message
// (server-µs/msg), read from /proc for the server's whole process tree:
// the Herald server runs in a child process (this test binary again), so
// the client's own CPU is not counted for either side. Run it with:
//
//	cd bench && go test -run='^$' -bench=POP3Retr -count=5 .
package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/internal/peertest"
	"github.com/heraldmail/herald/maildir"
	"github.com/heraldmail/herald/pop3"
	"github.com/heraldmail/herald/pop3/pop3maildir"
	"github.com/heraldmail/herald/pop3/pop3mem"
	"github.com/heraldmail/herald/sasl"
)

// pop3BenchCount is how many messages each maildrop holds.
const pop3BenchCount = 40

// pop3BenchSizes are the message sizes measured.
var pop3BenchSizes = []int{4 << 10, 256 << 10}

// pop3Message returns message i of the benchmark maildrop: a header and
// text lines of varied length, some starting with a dot, CRLF endings,
// size bytes long. The same i and size always give the same message.
func pop3Message(i, size int) []byte {
	b := make([]byte, 0, size+100)
	b = fmt.Appendf(b, "From: sender%d@example.org\r\nTo: alice@example.net\r\nSubject: benchmark message %d\r\nMessage-ID: <%d.%d@example.org>\r\n\r\n", i, i, i, size)
	words := []string{"lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit", "sed", "do", "eiusmod", "tempor"}
	for n := 0; len(b) < size-2; n++ {
		line := 0
		if n%17 == 0 {
			b = append(b, '.')
			line++
		}
		for w := (n + i) % len(words); line < 60+n%15; w = (w + 7) % len(words) {
			b = append(b, words[w]...)
			b = append(b, ' ')
			line += len(words[w]) + 1
		}
		b = append(b, '\r', '\n')
	}
	return b
}

// TestPOP3BenchServer is the Herald side of BenchmarkPOP3Retr in a child
// process; it does nothing unless HERALD_POP3_BENCH_SIZE is set. It prints
// its address and serves until its stdin closes.
func TestPOP3BenchServer(t *testing.T) {
	size, err := strconv.Atoi(os.Getenv("HERALD_POP3_BENCH_SIZE"))
	if err != nil {
		t.Skip("runs only as the child of BenchmarkPOP3Retr")
	}
	be := pop3mem.New()
	be.AddUser("alice", "secret")
	for i := range pop3BenchCount {
		be.Deliver("alice", pop3Message(i, size))
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	auth := be.Authenticator()
	auth.AllowInsecure = true
	s := &pop3.Server{Backend: be, Auth: auth}
	go s.Serve(l)
	fmt.Println(l.Addr())
	io.Copy(io.Discard, os.Stdin)
	s.Close()
}

// startHeraldPOP3 runs TestPOP3BenchServer in a child process and returns
// its address and pid.
func startHeraldPOP3(b *testing.B, size int) (string, int) {
	return startHeraldChild(b, "TestPOP3BenchServer", "HERALD_POP3_BENCH_SIZE="+strconv.Itoa(size))
}

// startHeraldChild runs the test named test, a Herald server, in a child
// process with env added and GOMAXPROCS=1, and returns the address it
// prints and its pid.
func startHeraldChild(b *testing.B, test, env string) (string, int) {
	addr, pid, stop := spawnHeraldChild(b, test, env)
	b.Cleanup(stop)
	return addr, pid
}

// spawnHeraldChild is startHeraldChild that leaves the stopping to the
// caller: stop closes the child's stdin and waits for it.
func spawnHeraldChild(b *testing.B, test, env string) (addr string, pid int, stop func()) {
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.v=false")
	cmd.Env = append(os.Environ(), env, "GOMAXPROCS=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	stop = func() {
		stdin.Close()
		cmd.Wait()
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		stop()
		b.Fatalf("herald server child: %v", err)
	}
	go io.Copy(io.Discard, stdout)
	return strings.TrimSpace(line), cmd.Process.Pid, stop
}

// startDovecotPOP3 runs a private Dovecot pop3d on 127.0.0.1 with its own
// configuration, base_dir and Maildir under a temporary directory, holding
// the same messages, and returns its address and master pid. As root the
// mail processes run as nobody, since Dovecot refuses UID 0.
func startDovecotPOP3(b *testing.B, size int) (string, int) {
	return startDovecotMaildir(b, b.TempDir(), func(maildir string) {
		for i := range pop3BenchCount {
			// Maildir files keep LF line endings, as delivery agents write
			// them; Dovecot sends CRLF.
			msg := strings.ReplaceAll(string(pop3Message(i, size)), "\r\n", "\n")
			name := fmt.Sprintf("%d.M%dP1.bench:2,", 1700000000+i, i)
			if err := os.WriteFile(filepath.Join(maildir, "cur", name), []byte(msg), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// startDovecotMaildir runs a private Dovecot pop3d (see startDovecotPOP3)
// on the Maildir dir/home/Maildir, which populate fills, and returns its
// address and master pid.
func startDovecotMaildir(b *testing.B, dir string, populate func(maildir string)) (string, int) {
	addr, pid, stop := spawnDovecotMaildir(b, dir, "pop3", populate)
	b.Cleanup(stop)
	return addr, pid
}

// spawnDovecotMaildir is startDovecotMaildir for the protocol proto, "pop3"
// or "imap", that leaves the stopping to the caller. populate may be nil
// to serve a Maildir that is already in place.
func spawnDovecotMaildir(b *testing.B, dir, proto string, populate func(maildir string)) (addr string, pid int, stop func()) {
	return spawnDovecotConf(b, dir, proto, populate, "", "")
}

// spawnDovecotConf is spawnDovecotMaildir with more configuration: login
// goes into the service block of proto-login, extra at the end.
func spawnDovecotConf(b *testing.B, dir, proto string, populate func(maildir string), login, extra string) (addr string, pid int, stop func()) {
	bin := peertest.LookPath(b, "dovecot")
	uid, gid := os.Getuid(), os.Getgid()
	loginUser := ""
	if cur, err := user.Current(); err == nil {
		loginUser = cur.Username
	}
	if uid == 0 {
		nobody, err := user.Lookup("nobody")
		if err != nil {
			peertest.Unavailable(b, "no user nobody for Dovecot: %v", err)
		}
		uid, _ = strconv.Atoi(nobody.Uid)
		gid, _ = strconv.Atoi(nobody.Gid)
		loginUser = nobody.Username
	}
	for d := dir; d != os.TempDir() && d != "/" && d != "."; d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	maildir := filepath.Join(dir, "home", "Maildir")
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(maildir, sub), 0o755); err != nil {
			b.Fatal(err)
		}
	}
	if populate != nil {
		populate(maildir)
	}
	os.MkdirAll(filepath.Join(dir, "run"), 0o755)
	os.MkdirAll(filepath.Join(dir, "state"), 0o755)
	passwd := filepath.Join(dir, "passwd")
	os.WriteFile(passwd, []byte("alice:{PLAIN}secret::::::\n"), 0o644)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	group := strconv.Itoa(gid)
	if g, err := user.LookupGroupId(group); err == nil {
		group = g.Name
	}
	conf := fmt.Sprintf(`base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
protocols = %[7]s
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
default_login_user = %[2]s
default_internal_user = %[2]s
default_internal_group = %[6]s
first_valid_uid = %[3]d
first_valid_gid = %[4]d
mail_location = maildir:~/Maildir
pop3_no_flag_updates = yes
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %[1]s/passwd
}
userdb {
  driver = static
  args = uid=%[3]d gid=%[4]d home=%[1]s/home
}
service %[7]s-login {
  chroot =
%[8]s
  inet_listener %[7]s {
    address = 127.0.0.1
    port = %[5]d
  }
  inet_listener %[7]ss {
    port = 0
  }
}
service anvil {
  chroot =
}
%[9]s
`, dir, loginUser, uid, gid, port, group, proto, login, extra)
	confFile := filepath.Join(dir, "dovecot.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		b.Fatal(err)
	}
	if os.Getuid() == 0 {
		filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
			if err == nil {
				os.Chown(p, uid, gid)
			}
			return nil
		})
	}
	cmd := exec.Command(bin, "-F", "-c", confFile)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	stop = func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}
	addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for deadline := time.Now().Add(15 * time.Second); ; {
		nc, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			nc.Close()
			return addr, cmd.Process.Pid, stop
		}
		if time.Now().After(deadline) {
			stop()
			log, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
			b.Fatalf("dovecot did not start: %v\n%s", err, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// treeCPU returns the CPU time, user and system, used so far by pid and
// its live descendants, plus what pid's reaped children used.
func treeCPU(b *testing.B, pid int) time.Duration {
	const tick = 10 * time.Millisecond // USER_HZ is 100 on Linux
	type proc struct{ ppid, ticks int64 }
	procs := map[int]proc{}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// Fields after the command name, which is in parentheses.
		s := string(data)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		if len(f) < 15 {
			continue
		}
		ppid, _ := strconv.ParseInt(f[1], 10, 64)
		var ticks int64
		for _, i := range []int{11, 12} { // utime, stime
			v, _ := strconv.ParseInt(f[i], 10, 64)
			ticks += v
		}
		if p == pid {
			for _, i := range []int{13, 14} { // cutime, cstime
				v, _ := strconv.ParseInt(f[i], 10, 64)
				ticks += v
			}
		}
		procs[p] = proc{ppid, ticks}
	}
	var total int64
	for p, pr := range procs {
		for q := p; q > 1; q = int(procs[q].ppid) {
			if q == pid {
				total += pr.ticks
				break
			}
			if _, ok := procs[q]; !ok {
				break
			}
		}
	}
	return time.Duration(total) * tick
}

// BenchmarkPOP3Retr compares RETR over loopback: herald and dovecot serve
// the same pop3BenchCount messages of each size.
func BenchmarkPOP3Retr(b *testing.B) {
	for _, size := range pop3BenchSizes {
		haddr, hpid := startHeraldPOP3(b, size)
		daddr, dpid := startDovecotPOP3(b, size)
		for _, srv := range []struct {
			name string
			addr string
			pid  int
		}{{"herald", haddr, hpid}, {"dovecot", daddr, dpid}} {
			b.Run(fmt.Sprintf("size=%dk/%s", size>>10, srv.name), func(b *testing.B) {
				benchRetr(b, srv.addr, srv.pid, size)
			})
		}
	}
}

func benchRetr(b *testing.B, addr string, pid, size int) {
	ctx := context.Background()
	c, err := pop3.Dial(ctx, addr, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Quit(ctx)
	if err := c.Login(ctx, "alice", "secret"); err != nil {
		b.Fatal(err)
	}
	list, err := c.List(ctx)
	if err != nil || len(list) != pop3BenchCount {
		b.Fatalf("List = %d entries, %v", len(list), err)
	}
	retr := func(n int) int64 {
		r, err := c.Retr(ctx, n)
		if err != nil {
			b.Fatal(err)
		}
		got, err := io.Copy(io.Discard, r)
		if err != nil {
			b.Fatal(err)
		}
		return got
	}
	// One pass to warm caches and check the sizes agree.
	var total int64
	for i := range pop3BenchCount {
		got := retr(i + 1)
		if got != list[i].Size {
			b.Fatalf("message %d: read %d bytes, listed %d", i+1, got, list[i].Size)
		}
		total += got
	}
	b.SetBytes(total / pop3BenchCount)
	cpu0 := treeCPU(b, pid)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		retr(i%pop3BenchCount + 1)
	}
	b.StopTimer()
	cpu := treeCPU(b, pid) - cpu0
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "server-µs/msg")
}

// pop3MaildirCount is how many messages the Maildir of
// BenchmarkPOP3RetrMaildir holds.
const pop3MaildirCount = 10000

// TestPOP3MaildirBenchServer is the Herald side of
// BenchmarkPOP3RetrMaildir in a child process: pop3maildir over the Maildir
// named by HERALD_POP3_BENCH_MAILDIR. It does nothing unless that is set;
// it prints its address and serves until its stdin closes.
func TestPOP3MaildirBenchServer(t *testing.T) {
	root := os.Getenv("HERALD_POP3_BENCH_MAILDIR")
	if root == "" {
		t.Skip("runs only as the child of BenchmarkPOP3RetrMaildir")
	}
	store, err := maildir.OpenStore(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	be := &pop3maildir.Backend{
		Store: func(context.Context, string) (*maildir.Store, error) { return store, nil },
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	auth := &sasl.Authenticator{AllowInsecure: true, Password: func(ctx context.Context, authzid, user, pass string) (string, error) {
		if user != "alice" || pass != "secret" {
			return "", pop3.ErrAuthFailed
		}
		return user, nil
	}}
	s := &pop3.Server{Backend: be, Auth: auth}
	go s.Serve(l)
	fmt.Println(l.Addr())
	io.Copy(io.Discard, os.Stdin)
	s.Close()
}

// buildBenchMaildir writes pop3MaildirCount messages from the corpus
// (../testdata/messages, each with LF line endings and a sequence header)
// into the Maildir root under names carrying ,S= and ,W= as a delivery
// agent gives them, and assigns their UIDs.
func buildBenchMaildir(b *testing.B, root string) { buildBenchMaildirN(b, root, pop3MaildirCount) }

// buildBenchMaildirN is buildBenchMaildir with count messages.
func buildBenchMaildirN(b *testing.B, root string, count int) {
	var corpus [][]byte
	filepath.WalkDir(filepath.Join("..", "testdata", "messages"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		data = bytes.ReplaceAll(bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n")), []byte("\r"), []byte("\n"))
		if !bytes.HasSuffix(data, []byte("\n")) {
			// Both servers end such a message with a CRLF that LIST
			// does not count.
			data = append(data, '\n')
		}
		corpus = append(corpus, data)
		return nil
	})
	if len(corpus) == 0 {
		b.Fatal("no corpus in ../testdata/messages")
	}
	md, err := maildir.Create(root, nil)
	if err != nil {
		b.Fatal(err)
	}
	for i := range count {
		// The numbering field goes first, or after an mbox "From " line
		// that begins the message, where a header line would make the
		// rest of the header malformed.
		m := corpus[i%len(corpus)]
		from := 0
		if bytes.HasPrefix(m, []byte("From ")) {
			from = bytes.IndexByte(m, '\n') + 1
		}
		msg := fmt.Appendf(append([]byte(nil), m[:from]...), "X-Bench-Seq: %d\n", i)
		msg = append(msg, m[from:]...)
		lf := bytes.Count(msg, []byte("\n"))
		name := fmt.Sprintf("%d.M%dP1Q%d.bench,S=%d,W=%d:2,", 1700000000+i/100, i%100, i, len(msg), len(msg)+lf)
		if err := os.WriteFile(filepath.Join(root, "cur", name), msg, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := md.Sync(context.Background(), nil); err != nil {
		b.Fatal(err)
	}
}

// copyMaildir copies the messages and dovecot-uidlist of src into dst.
func copyMaildir(b *testing.B, src, dst string) {
	for _, sub := range []string{"cur", "new"} {
		ents, err := os.ReadDir(filepath.Join(src, sub))
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range ents {
			data, err := os.ReadFile(filepath.Join(src, sub, e.Name()))
			if err == nil {
				err = os.WriteFile(filepath.Join(dst, sub, e.Name()), data, 0o644)
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	data, err := os.ReadFile(filepath.Join(src, "dovecot-uidlist"))
	if err == nil {
		err = os.WriteFile(filepath.Join(dst, "dovecot-uidlist"), data, 0o644)
	}
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkPOP3RetrMaildir compares one session that RETRs every message
// of a pop3MaildirCount-message Maildir built from the corpus: Herald with
// pop3maildir on it, and a private Dovecot on a copy. Each iteration runs
// 5 sessions on each server, interleaved (Herald first in even rounds,
// Dovecot first in odd ones), after one warm-up session each, and reports
// the medians: wall time per session (herald-s, dovecot-s), the server's
// CPU per message (herald-µs/msg, dovecot-µs/msg, for the server's whole
// process tree), and their ratios Herald/Dovecot. Run it with:
//
//	cd bench && go test -run='^$' -bench=POP3RetrMaildir -benchtime=1x .
//
// Dovecot runs with pop3_no_flag_updates = yes (as in BenchmarkPOP3Retr);
// Herald marks messages seen at the end of a session, which after the
// warm-up session renames nothing.
func BenchmarkPOP3RetrMaildir(b *testing.B) {
	dir := b.TempDir()
	hroot := filepath.Join(dir, "herald", "Maildir")
	buildBenchMaildir(b, hroot)
	daddr, dpid := startDovecotMaildir(b, filepath.Join(dir, "dovecot"), func(md string) { copyMaildir(b, hroot, md) })
	haddr, hpid := startHeraldChild(b, "TestPOP3MaildirBenchServer", "HERALD_POP3_BENCH_MAILDIR="+hroot)
	lock := filepath.Join(hroot, pop3maildir.SessionLockName)

	type server struct {
		addr string
		pid  int
		lock string // the maildrop lock to wait for after QUIT, if any
	}
	servers := []server{{haddr, hpid, lock}, {daddr, dpid, ""}}
	session := func(s server) (wall, cpu time.Duration) {
		cpu0 := treeCPU(b, s.pid)
		start := time.Now()
		retrAll(b, s.addr)
		wall = time.Since(start)
		// The session's end (Herald's Close, Dovecot's pop3 process
		// exiting and being reaped) is server work too.
		for s.lock != "" && fileExists(s.lock) {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond)
		return wall, treeCPU(b, s.pid) - cpu0
	}
	for _, s := range servers {
		session(s) // warm-up: page cache, Dovecot's index, Herald's seen flags
	}
	const runs = 5
	for b.Loop() {
		var wall, cpu [2][]float64
		for r := range runs {
			for k := range 2 {
				i := (k + r) % 2
				w, c := session(servers[i])
				wall[i] = append(wall[i], w.Seconds())
				cpu[i] = append(cpu[i], float64(c.Microseconds())/pop3MaildirCount)
			}
		}
		hw, dw, hc, dc := median(wall[0]), median(wall[1]), median(cpu[0]), median(cpu[1])
		b.ReportMetric(hw, "herald-s")
		b.ReportMetric(dw, "dovecot-s")
		b.ReportMetric(hw/dw, "wall-herald/dovecot")
		b.ReportMetric(hc, "herald-µs/msg")
		b.ReportMetric(dc, "dovecot-µs/msg")
		b.ReportMetric(hc/dc, "cpu-herald/dovecot")
	}
}

func fileExists(p string) bool { _, err := os.Lstat(p); return err == nil }

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// retrAll logs in at addr, RETRs every message, checks that each is as
// long as LIST said, and quits.
func retrAll(b *testing.B, addr string) {
	ctx := context.Background()
	c, err := pop3.Dial(ctx, addr, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(ctx, "alice", "secret"); err != nil {
		b.Fatal(err)
	}
	list, err := c.List(ctx)
	if err != nil || len(list) != pop3MaildirCount {
		b.Fatalf("List = %d entries, %v", len(list), err)
	}
	for _, e := range list {
		r, err := c.Retr(ctx, e.Number)
		if err != nil {
			b.Fatal(err)
		}
		got, err := io.Copy(io.Discard, r)
		if err != nil {
			b.Fatal(err)
		}
		if got != e.Size {
			b.Fatalf("%s: message %d: read %d bytes, listed %d", addr, e.Number, got, e.Size)
		}
	}
	if err := c.Quit(ctx); err != nil {
		b.Fatal(err)
	}
}
