package main

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/heraldmail/herald/dnsmx/dnstest"
	"github.com/heraldmail/herald/smtp"
)

// processCPU is the user and system CPU time of this process.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPolicyConnection drives the inbound policy of one connection on
// a warm DNS cache, in process: the client checks (FCrDNS, EHLO, one
// DNSBL), SPF, greylisting of one known triplet and the trace fields and
// junk filter of a 2 KB message. The end-to-end figure, with the server
// binary, is bench/policy_test.go. cpu-µs/op is the process's CPU time per
// connection, garbage collection included.
func BenchmarkPolicyConnection(b *testing.B) {
	zone := dnstest.NewZone().
		AddPTR("127.0.0.1", "mail.sender.test").AddA("mail.sender.test", "127.0.0.1").
		AddTXT("sender.test", "v=spf1 a:mail.sender.test -all")
	dns := dnstest.NewServer(b, zone)
	cfg, _, err := parseFlags([]string{"-data", filepath.Join(b.TempDir(), "d"), "-domains", "example.test",
		"-hostname", "mx.example.test", "-dnsbl", "bl.bench.test", "-greylist-delay", "1ms"}, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.MkdirAll(cfg.dataDir, 0o700); err != nil {
		b.Fatal(err)
	}
	p, err := newPolicy(cfg, dns.Resolver(nil), slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	srv := &server{cfg: cfg, policy: p}
	msg := "Received: from mail.sender.test\r\nFrom: News <news@sender.test>\r\nTo: alice@example.test\r\nSubject: weekly news\r\n" +
		"Message-ID: <1@sender.test>\r\n\r\n" + strings.Repeat("All the news of the week, in one line of text.\r\n", 40)
	from := smtp.Path{Local: "news", Domain: "sender.test"}
	to := smtp.Path{Local: "alice", Domain: "example.test"}
	ctx := context.Background()
	one := func() {
		s := &session{b: &smtpBackend{srv: srv}, srv: srv, log: slog.New(slog.DiscardHandler),
			info: &smtp.ConnInfo{RemoteAddr: netip.MustParseAddrPort("127.0.0.1:4000"), HeloName: "mail.sender.test"}}
		s.from = from
		if err := s.inboundMail(ctx, from); err != nil {
			b.Fatal(err)
		}
		if err := s.inboundRcpt(ctx, to); err != nil && !strings.Contains(err.Error(), "Greylisted") {
			b.Fatal(err)
		}
		r, _, release, err := s.inboundData(ctx, strings.NewReader(msg))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, r)
		release()
	}
	one()
	time.Sleep(5 * time.Millisecond)
	one()
	cpu0 := processCPU()
	b.ResetTimer()
	for b.Loop() {
		one()
	}
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
}
