package smtp_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/sasl"
	"github.com/heraldmail/herald/smtp"
)

// FuzzParseCapabilities feeds arbitrary EHLO reply lines to
// ParseCapabilities and checks that what it reports stays within bounds.
func FuzzParseCapabilities(f *testing.F) {
	for _, s := range []string{
		"mx.example\nPIPELINING\nSIZE 10240000\nAUTH PLAIN LOGIN SCRAM-SHA-256\nAUTH=LOGIN\nLIMITS RCPTMAX=100 MAILMAX=10\nCHUNKING\nBINARYMIME",
		"mx\nSIZE\nSIZE -1\nSIZE 99999999999999999999\n8bitmime\nsmtputf8\nDSN\nSTARTTLS\nREQUIRETLS",
		"mx\n\n-BAD\nAUTH \x00 \xff\nLIMITS RCPTMAX=0 RCPTMAX=x MAILMAX=-5",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		caps := smtp.ParseCapabilities(&smtp.Reply{Code: 250, Lines: strings.Split(s, "\n")})
		if caps.MaxSize < 0 || caps.RcptMax < 0 || caps.MailMax < 0 || len(caps.Keywords) > smtp.MaxCapabilities || len(caps.Auth) > smtp.MaxCapabilities {
			t.Fatalf("out of bounds: %+v", caps)
		}
		for _, m := range caps.Auth {
			if m != strings.ToUpper(m) || m == "" || strings.ContainsAny(m, " \r\n\x00") || !caps.HasAuth(m) {
				t.Fatalf("bad mechanism %q", m)
			}
		}
		for k := range caps.Keywords {
			if k != strings.ToUpper(k) || !caps.Has(strings.ToLower(k)) {
				t.Fatalf("bad keyword %q", k)
			}
		}
		if caps.MaxSize > 0 && !caps.Size {
			t.Fatal("limit without SIZE")
		}
	})
}

// FuzzClientSession plays arbitrary server output against a client that
// says hello, authenticates and sends a message, and checks that it never
// panics or hangs, that every failure is a *smtp.CommandError, and that a
// success is one.
func FuzzClientSession(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "client", "*.txt"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		var out strings.Builder
		for line := range strings.SplitSeq(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "S: "); ok {
				out.WriteString(rest + "\r\n")
			}
		}
		f.Add(out.String(), false)
		f.Add(out.String(), true)
	}
	f.Add("220 x\r\n250-x\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 AUTH PLAIN\r\n235 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n221 bye\r\n", false)
	f.Add("220 x\r\n250-x\r\n250 AUTH LOGIN\r\n334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n235 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n250 ok\r\n", false)
	f.Add("220 x\r\n250 x\r\n250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n452 no\r\n", true)
	f.Fuzz(func(t *testing.T, server string, lmtp bool) {
		cli, srv := net.Pipe()
		go io.Copy(io.Discard, srv)
		go func() {
			srv.Write([]byte(server))
			srv.Close()
		}()
		defer cli.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c := smtp.NewClient(cli, &smtp.ClientOptions{LMTP: lmtp, ChunkSize: 16, MaxReplyLines: 16})
		check := func(what string, err error) {
			var ce *smtp.CommandError
			if err != nil && !errors.As(err, &ce) {
				t.Fatalf("%s: %v (%T) is not a *CommandError", what, err, err)
			}
			if ctx.Err() != nil {
				t.Fatalf("%s: hung until the context ended", what)
			}
		}
		check("Hello", c.Hello(ctx))
		if c.Capabilities().HasAuth("PLAIN") {
			check("Auth", c.Auth(ctx, sasl.NewPlainClient("", "user", "pass")))
		} else if c.Capabilities().HasAuth("LOGIN") {
			check("Auth", c.Auth(ctx, sasl.NewLoginClient("user", "pass")))
		}
		env := cliEnv("a@example.org", "b@example.net", "c@example.net")
		res, err := c.Send(ctx, env, strings.NewReader("Subject: x\r\n\r\n"+strings.Repeat(".line\r\n", 10)))
		check("Send", err)
		if err == nil && (res == nil || res.Delivered() == 0) {
			t.Fatalf("success without delivery: %+v", res)
		}
		if res != nil && len(res.Recipients) != 2 {
			t.Fatalf("%d results", len(res.Recipients))
		}
		check("Quit", c.Quit(ctx))
	})
}
