// Side-by-side FETCH throughput of Herald's IMAP server (in-memory
// backend, imapmem) and a private Dovecot imapd serving the same 1,000
// messages from a Maildir, both read by one simple client in one run. Each
// op is one "FETCH 1:1000 (FLAGS ENVELOPE BODY.PEEK[])" read to its tagged
// OK on a logged-in session over loopback. Besides ns/op, each
// sub-benchmark reports the server's CPU time per op (server-ms/op), read
// from /proc for the server's whole process tree: the Herald server runs in
// a child process (this test binary again), so the client's CPU is not
// counted for either side. Run it with:
//
//	cd bench && go test -run='^$' -bench=IMAPFetch -count=5 .
package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/subtle"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/imap"
	"github.com/heraldmail/herald/imap/imapmem"
	"github.com/heraldmail/herald/imap/imaptest"
	"github.com/heraldmail/herald/sasl"
)

// imapBenchCount is how many messages the benchmark mailbox holds.
const imapBenchCount = 1000

// imapBenchMessages returns the benchmark mailbox: the message corpus of
// ../testdata/messages, CRLF line endings, repeated to imapBenchCount.
func imapBenchMessages(tb testing.TB) [][]byte {
	var corpus [][]byte
	filepath.WalkDir(filepath.Join("..", "testdata", "messages"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.Contains(path, "mbox") || strings.Contains(d.Name(), "LICENSE") || strings.Contains(d.Name(), "COPYRIGHT") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if len(data) == 0 {
			return nil // Dovecot refuses to store an empty message
		}
		data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
		corpus = append(corpus, bytes.ReplaceAll(data, []byte("\n"), []byte("\r\n")))
		return nil
	})
	if len(corpus) == 0 {
		tb.Fatal("no corpus messages")
	}
	sort.Slice(corpus, func(i, j int) bool { return bytes.Compare(corpus[i], corpus[j]) < 0 })
	msgs := make([][]byte, imapBenchCount)
	for i := range msgs {
		msgs[i] = corpus[i%len(corpus)]
	}
	return msgs
}

// TestIMAPBenchServer is the Herald side of BenchmarkIMAPFetch in a child
// process; it does nothing unless HERALD_IMAP_BENCH is set. It prints its
// address and serves until its stdin closes.
func TestIMAPBenchServer(t *testing.T) {
	if os.Getenv("HERALD_IMAP_BENCH") == "" {
		t.Skip("runs only as the child of BenchmarkIMAPFetch")
	}
	be := imapmem.New()
	u := be.AddUser("alice")
	for _, m := range imapBenchMessages(t) {
		u.Deliver("INBOX", m, nil, time.Date(2024, 3, 14, 15, 9, 26, 0, time.UTC))
	}
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

// imapBenchAuth lets alice in with the password "secret", without TLS.
func imapBenchAuth() *sasl.Authenticator {
	return &sasl.Authenticator{
		AllowInsecure: true,
		Password: func(ctx context.Context, authzid, user, pass string) (string, error) {
			if user == "alice" && subtle.ConstantTimeCompare([]byte(pass), []byte("secret")) == 1 {
				return "", nil
			}
			return "", sasl.ErrAuthFailed
		},
	}
}

// startHeraldIMAP runs TestIMAPBenchServer in a child process and returns
// its address and pid.
func startHeraldIMAP(b *testing.B) (string, int) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestIMAPBenchServer$", "-test.v=false")
	cmd.Env = append(os.Environ(), "HERALD_IMAP_BENCH=1", "GOMAXPROCS=1")
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
	b.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("herald server child: %v", err)
	}
	go io.Copy(io.Discard, stdout)
	return strings.TrimSpace(addr), cmd.Process.Pid
}

// imapBenchConn is a logged-in client session.
type imapBenchConn struct {
	c   net.Conn
	r   *bufio.Reader
	tag int
}

func dialIMAPBench(b *testing.B, addr string) *imapBenchConn {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	s := &imapBenchConn{c: c, r: bufio.NewReaderSize(c, 64<<10)}
	if _, err := s.r.ReadString('\n'); err != nil {
		b.Fatal(err)
	}
	s.run(b, "LOGIN alice secret")
	return s
}

// run sends a command and reads the response to its tagged OK, skipping
// literals; it returns the number of literal bytes read.
func (s *imapBenchConn) run(b *testing.B, cmd string) int64 { return s.runEach(b, cmd, nil) }

// runEach is run that also gives each response line before the tagged one
// to fn, when fn is not nil; the line is valid until fn returns.
func (s *imapBenchConn) runEach(b *testing.B, cmd string, fn func(line []byte)) int64 {
	s.tag++
	tag := "b" + strconv.Itoa(s.tag)
	fmt.Fprintf(s.c, "%s %s\r\n", tag, cmd)
	var n int64
	for {
		line, err := s.r.ReadSlice('\n')
		if err != nil {
			b.Fatalf("%s: %v", cmd, err)
		}
		if bytes.HasPrefix(line, []byte(tag+" ")) {
			if !bytes.HasPrefix(line, []byte(tag+" OK")) {
				b.Fatalf("%s: %s", cmd, line)
			}
			return n
		}
		if fn != nil {
			fn(line)
		}
		if bytes.HasSuffix(line, []byte("}\r\n")) {
			i := bytes.LastIndexByte(line, '{')
			size, err := strconv.ParseInt(string(line[i+1:len(line)-3]), 10, 64)
			if err != nil {
				b.Fatalf("bad literal in %q", line)
			}
			if _, err := s.r.Discard(int(size)); err != nil {
				b.Fatal(err)
			}
			n += size
		}
	}
}

// BenchmarkIMAPFetch fetches FLAGS, ENVELOPE and BODY.PEEK[] of 1,000
// messages from each server.
func BenchmarkIMAPFetch(b *testing.B) {
	msgs := imapBenchMessages(b)
	var total int64
	for _, m := range msgs {
		total += int64(len(m))
	}
	const fetch = "FETCH 1:1000 (FLAGS ENVELOPE BODY.PEEK[])"
	servers := []struct {
		name  string
		start func(b *testing.B) (string, int)
	}{
		{"herald", startHeraldIMAP},
		{"dovecot", func(b *testing.B) (string, int) {
			d := imaptest.StartDovecot(b, map[string]string{"alice": "secret"})
			c := dialIMAPBench(b, d.Addr)
			for _, m := range msgs {
				c.tag++
				tag := "a" + strconv.Itoa(c.tag)
				fmt.Fprintf(c.c, "%s APPEND INBOX {%d+}\r\n", tag, len(m))
				c.c.Write(m)
				io.WriteString(c.c, "\r\n")
				for {
					line, err := c.r.ReadString('\n')
					if err != nil {
						b.Fatal(err)
					}
					if strings.HasPrefix(line, tag+" ") {
						if !strings.HasPrefix(line, tag+" OK") {
							b.Fatalf("APPEND: %s", line)
						}
						break
					}
				}
			}
			c.run(b, "LOGOUT")
			return d.Addr, d.Pid()
		}},
	}
	for _, srv := range servers {
		b.Run(srv.name, func(b *testing.B) {
			addr, pid := srv.start(b)
			c := dialIMAPBench(b, addr)
			c.run(b, "SELECT INBOX")
			// One untimed round warms caches on both sides (Dovecot
			// builds its index on the first FETCH).
			// The literals read are the bodies and any envelope
			// strings sent as literals.
			if got := c.run(b, fetch); got < total {
				b.Fatalf("fetched %d bytes of literals, want at least %d", got, total)
			}
			cpu0 := imapTreeCPU(b, pid)
			b.SetBytes(total)
			b.ResetTimer()
			for b.Loop() {
				c.run(b, fetch)
			}
			b.StopTimer()
			cpu := imapTreeCPU(b, pid) - cpu0
			b.ReportMetric(float64(cpu.Microseconds())/1e3/float64(b.N), "server-ms/op")
		})
	}
}

// imapTreeCPU returns the user and system CPU time used so far by pid and
// its live descendants, plus what pid's reaped children used.
func imapTreeCPU(b *testing.B, pid int) time.Duration {
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
		s := string(data)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		if len(f) < 15 {
			continue
		}
		ppid, _ := strconv.ParseInt(f[1], 10, 64)
		fields := []int{11, 12} // utime, stime
		if p == pid {
			fields = append(fields, 13, 14) // cutime, cstime
		}
		var ticks int64
		for _, i := range fields {
			v, _ := strconv.ParseInt(f[i], 10, 64)
			ticks += v
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
