package bench

// The cost of the mail server's inbound policy: the examples/mailserver
// binary, built and run as an operator runs it, is loaded on its MX port
// with one message per connection, once with every check on (FCrDNS and
// the EHLO check, one DNSBL, SPF, greylisting, the junk filter) and once
// with all of them off, in one run:
//
//	cd bench && go test -run='^$' -bench='^BenchmarkMXPolicy$' -benchtime=3000x -count=3 .
//
// The DNS is a dnstest server on loopback with the records a legitimate
// sender has: a PTR that resolves back, an SPF record that passes, no
// DNSBL entry. Before the timer starts, the greylist triplet has passed and
// every answer is in the server's DNS cache, so the figures are those of a
// warm server: what each connection costs once its sender is known.
//
// Reported per mode: msgs/s (one connection and one message each, from 4
// client goroutines) and cpu-µs/conn, the server process's user+system CPU
// time (from /proc/PID/stat) over the connections. The policy's cost per
// connection is the difference of the two cpu-µs/conn figures (their
// medians over the -count runs), printed at the end. The machine's other
// load moves single runs by a third or more: use -count=5 or more. The client and the DNS server run in the benchmark process, so their
// CPU is not counted.

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/heraldmail/herald/dnsmx/dnstest"
)

type mxServer struct {
	cmd  *exec.Cmd
	addr string
}

func startMailserver(b *testing.B, bin, dns string, policy []string) *mxServer {
	b.Helper()
	dir := filepath.Join(b.TempDir(), "data")
	free := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer l.Close()
		return l.Addr().String()
	}
	args := []string{"-data", dir, "-domains", "example.test", "-hostname", "mx.example.test", "-dns", dns, "-log-format", "json"}
	for _, l := range []string{"submission", "submissions", "imap", "imaps", "pop3", "pop3s", "http", "managesieve"} {
		args = append(args, "-"+l, "")
	}
	addr := free()
	args = append(append(args, "-smtp", addr), policy...)
	add := exec.Command(bin, append(args, "adduser", "alice@example.test")...)
	add.Stdin = strings.NewReader("alice-password-1\n")
	if out, err := add.CombinedOutput(); err != nil {
		b.Fatalf("adduser: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = nil, nil // the log would cost the client side's CPU
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("mailserver not listening on %s", addr)
		}
	}
	return &mxServer{cmd: cmd, addr: addr}
}

// cpuTime is the process's user plus system time.
func procCPUTime(b *testing.B, pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// The fields after the command name in parentheses, which may hold spaces.
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}

// sendOne sends one message on a new connection from 127.0.0.1 and
// returns the reply to the data, or the first refusal.
func sendOne(addr, msg string) (string, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	reply := func() (string, error) {
		var all strings.Builder
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return all.String(), err
			}
			all.WriteString(line)
			if len(line) < 4 || line[3] != '-' {
				return all.String(), nil
			}
		}
	}
	if _, err := reply(); err != nil {
		return "", err
	}
	for _, cmd := range []string{"EHLO mail.sender.test", "MAIL FROM:<news@sender.test>", "RCPT TO:<alice@example.test>", "DATA", msg + ".", "QUIT"} {
		if _, err := fmt.Fprintf(c, "%s\r\n", cmd); err != nil {
			return "", err
		}
		rep, err := reply()
		if err != nil {
			return rep, err
		}
		if rep[0] != '2' && rep[0] != '3' {
			return rep, nil
		}
		if cmd == msg+"." {
			return rep, nil
		}
	}
	return "", nil
}

func BenchmarkMXPolicy(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "mailserver")
	// The toolchain running this benchmark builds the server; it is not an
	// interop peer.
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin, "./examples/mailserver")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	zone := dnstest.NewZone().
		AddPTR("127.0.0.1", "mail.sender.test").AddA("mail.sender.test", "127.0.0.1").
		AddTXT("sender.test", "v=spf1 a:mail.sender.test -all")
	dns := dnstest.NewServer(b, zone)
	msg := "From: News <news@sender.test>\r\nTo: alice@example.test\r\nSubject: weekly news\r\n" +
		"Message-ID: <1@sender.test>\r\n\r\n" + strings.Repeat("All the news of the week, in one line of text.\r\n", 40)

	modes := []struct {
		name  string
		flags []string
	}{
		{"checks=off", []string{"-fcrdns", "off", "-spf=false", "-greylist=false", "-junk=false"}},
		{"checks=on", []string{"-fcrdns", "log", "-dnsbl", "bl.bench.test", "-spf", "-greylist", "-greylist-delay", "1s", "-junk"}},
	}
	cost := map[string][]float64{} // cpu-µs/conn of each run (-count)
	for _, m := range modes {
		srv := startMailserver(b, bin, dns.Addr, m.flags)
		// Warm up: the first message is greylisted, its retry after the
		// delay passes; then the DNS cache and the triplet are warm.
		rep, err := sendOne(srv.addr, msg)
		if err != nil {
			b.Fatal(err)
		}
		if strings.HasPrefix(rep, "451 4.7.1") {
			time.Sleep(1100 * time.Millisecond)
		}
		for range 20 {
			if rep, err := sendOne(srv.addr, msg); err != nil || !strings.HasPrefix(rep, "250") {
				b.Fatalf("%s: warm-up message refused: %q %v", m.name, rep, err)
			}
		}
		b.Run(m.name, func(b *testing.B) {
			const clients = 4
			var next atomic.Int64
			var failed atomic.Value
			cpu0 := procCPUTime(b, srv.cmd.Process.Pid)
			q0 := len(dns.Queries())
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for range clients {
				wg.Go(func() {
					for next.Add(1) <= int64(b.N) {
						rep, err := sendOne(srv.addr, msg)
						if err != nil || !strings.HasPrefix(rep, "250") {
							failed.Store(fmt.Sprintf("%q %v", rep, err))
							return
						}
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			if f := failed.Load(); f != nil {
				b.Fatalf("message refused: %s", f)
			}
			cpu := procCPUTime(b, srv.cmd.Process.Pid) - cpu0
			perConn := float64(cpu.Microseconds()) / float64(b.N)
			if b.N > 1 { // not the one-iteration probe run
				cost[m.name] = append(cost[m.name], perConn)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
			b.ReportMetric(perConn, "cpu-µs/conn")
			b.ReportMetric(float64(len(dns.Queries())-q0)/float64(b.N), "dns-queries/conn")
		})
	}
	if len(cost["checks=on"]) > 0 && len(cost["checks=off"]) > 0 {
		on, off := median(cost["checks=on"]), median(cost["checks=off"])
		fmt.Printf("policy cost: %.0f µs of server CPU per connection (medians of %d runs: %.0f with the checks, %.0f without)",
			on-off, len(cost["checks=on"]), on, off)
		fmt.Println()
	}
}
