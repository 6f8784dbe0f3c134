// Side-by-side benchmark of Herald's SMTP server and go-smtp's in one
// process: each op is one transaction (MAIL, RCPT, DATA with a 4 KiB
// message) on a persistent loopback connection, as smtp-source -d sends
// them. Run it with:
//
//	bench/smtp.sh -gobench
package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"

	gosmtp "github.com/emersion/go-smtp"
	"github.com/heraldmail/herald/smtp"
)

type heraldSession struct{}

func (heraldSession) Mail(context.Context, smtp.Path, *smtp.MailOptions) error { return nil }
func (heraldSession) Rcpt(context.Context, smtp.Path, *smtp.RcptOptions) error { return nil }
func (heraldSession) Data(_ context.Context, r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}
func (heraldSession) Reset(context.Context) {}
func (heraldSession) Close() error          { return nil }

type gosmtpSession struct{}

func (gosmtpSession) Mail(string, *gosmtp.MailOptions) error { return nil }
func (gosmtpSession) Rcpt(string, *gosmtp.RcptOptions) error { return nil }
func (gosmtpSession) Data(r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}
func (gosmtpSession) Reset()        {}
func (gosmtpSession) Logout() error { return nil }

// smtpMessage is a 4 KiB message of 78-character lines, like smtp-source's.
func smtpMessage() string {
	var b strings.Builder
	b.WriteString("From: <foo@bench.test>\r\nTo: <bar@bench.test>\r\nSubject: bench\r\n\r\n")
	for b.Len() < 4096 {
		b.WriteString(strings.Repeat("La de da de da ", 6)[:76] + "\r\n")
	}
	return b.String() + ".\r\n"
}

func expectCode(b *testing.B, br *bufio.Reader, code string) {
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			b.Fatal(err)
		}
		if !strings.HasPrefix(line, code) {
			b.Fatalf("got %q, want %s", line, code)
		}
		if line[3] == ' ' {
			return
		}
	}
}

func runSMTPBench(b *testing.B, serve func(net.Listener)) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	go serve(l)
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	expectCode(b, br, "220")
	fmt.Fprintf(c, "EHLO bench.test\r\n")
	expectCode(b, br, "250")
	msg := []byte(smtpMessage())
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		io.WriteString(c, "MAIL FROM:<foo@bench.test>\r\n")
		expectCode(b, br, "250")
		io.WriteString(c, "RCPT TO:<bar@bench.test>\r\n")
		expectCode(b, br, "250")
		io.WriteString(c, "DATA\r\n")
		expectCode(b, br, "354")
		c.Write(msg)
		expectCode(b, br, "250")
	}
}

func BenchmarkSMTPServer(b *testing.B) {
	b.Run("herald", func(b *testing.B) {
		s := &smtp.Server{Hostname: "bench.test", Backend: smtp.BackendFunc(func(context.Context, *smtp.ConnInfo) (smtp.Session, error) {
			return heraldSession{}, nil
		})}
		defer s.Close()
		runSMTPBench(b, func(l net.Listener) { s.Serve(l) })
	})
	b.Run("gosmtp", func(b *testing.B) {
		s := gosmtp.NewServer(gosmtp.BackendFunc(func(*gosmtp.Conn) (gosmtp.Session, error) {
			return gosmtpSession{}, nil
		}))
		s.Domain = "bench.test"
		defer s.Close()
		runSMTPBench(b, func(l net.Listener) { s.Serve(l) })
	})
}
