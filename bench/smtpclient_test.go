// Side-by-side benchmark of Herald's SMTP client and go-smtp's in one run,
// against one Postfix smtp-sink on a loopback port: each op is one
// transaction (MAIL, RCPT and a 4 KiB message) on a persistent connection.
// Run it with:
//
//	bench/smtpclient.sh -gobench
package bench

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/heraldmail/herald/smtp"
)

const clientBenchSize = 4096

// clientBenchMessage returns a message of exactly size bytes.
func clientBenchMessage(size int) []byte {
	var b bytes.Buffer
	b.WriteString("From: bench@example.org\r\nTo: sink@example.net\r\nSubject: bench\r\n\r\n")
	line := strings.Repeat("abcdefghij", 7) + "\r\n"
	for b.Len()+len(line) <= size-2 {
		b.WriteString(line)
	}
	b.WriteString(strings.Repeat("x", max(size-2-b.Len(), 0)))
	b.WriteString("\r\n")
	return b.Bytes()
}

// clientBenchSink starts smtp-sink on a free loopback port.
func clientBenchSink(b *testing.B) string {
	b.Helper()
	const bin = "/usr/sbin/smtp-sink"
	if _, err := os.Stat(bin); err != nil {
		b.Skip("smtp-sink not installed")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	args := []string{addr, "256"}
	if os.Geteuid() == 0 {
		args = append([]string{"-u", "nobody"}, args...)
	}
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			b.Fatalf("smtp-sink does not listen: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func BenchmarkSMTPClient(b *testing.B) {
	addr := clientBenchSink(b)
	msg := clientBenchMessage(clientBenchSize)
	b.Run("herald", func(b *testing.B) {
		ctx := context.Background()
		c, err := smtp.Dial(ctx, addr, &smtp.ClientOptions{LocalName: "bench.example.org", TLSPolicy: smtp.TLSNone})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Quit(ctx)
		env := &smtp.Envelope{
			From: smtp.Path{Local: "bench", Domain: "example.org"},
			To:   []smtp.Recipient{{Path: smtp.Path{Local: "sink", Domain: "example.net"}}},
		}
		r := bytes.NewReader(msg)
		b.SetBytes(int64(len(msg)))
		b.ReportAllocs()
		for b.Loop() {
			r.Reset(msg)
			if _, err := c.Send(ctx, env, r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("gosmtp", func(b *testing.B) {
		c, err := gosmtp.Dial(addr)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Quit()
		if err := c.Hello("bench.example.org"); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(msg)))
		b.ReportAllocs()
		for b.Loop() {
			if err := c.Mail("bench@example.org", nil); err != nil {
				b.Fatal(err)
			}
			if err := c.Rcpt("sink@example.net", nil); err != nil {
				b.Fatal(err)
			}
			w, err := c.Data()
			if err != nil {
				b.Fatal(err)
			}
			if _, err := w.Write(msg); err != nil {
				b.Fatal(err)
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
