package pop3_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/pop3"
	"github.com/heraldmail/herald/pop3/pop3mem"
	"github.com/heraldmail/herald/sasl"
)

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"STAT", "retr 1", "TOP 1 10", "PASS a b", "AUTH PLAIN =", "", "X", "LIST  1", "USER \x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		cmd, err := pop3.ParseCommand(line)
		if err != nil {
			return
		}
		if len(cmd.Verb) < 3 || len(cmd.Verb) > 4 || strings.ToUpper(cmd.Verb) != cmd.Verb {
			t.Fatalf("verb %q", cmd.Verb)
		}
		for _, a := range cmd.Args {
			if strings.ContainsAny(a, "\r\n\x00") || cmd.Verb != "PASS" && (a == "" || strings.Contains(a, " ")) {
				t.Fatalf("argument %q", a)
			}
		}
	})
}

func FuzzParseResponse(f *testing.F) {
	for _, s := range []string{"+OK", "-ERR [IN-USE] x", "+OK 1 2", "-ERR [", "-ERR [/]", "+", "+OK [A/B/C]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		r, err := pop3.ParseResponse(line)
		if err != nil {
			return
		}
		again, err := pop3.ParseResponse(r.String())
		if err != nil || again.OK != r.OK || again.Code != r.Code {
			t.Fatalf("%q: %#v, round trip %#v, %v", line, r, again, err)
		}
	})
}

// FuzzServer feeds random input to a server with the in-memory backend
// over net.Pipe: it must never panic, hang or grow without bound, and
// every response line must be a status line, a listing line or message
// data ending in CRLF.
func FuzzServer(f *testing.F) {
	for _, s := range []string{
		"USER alice\r\nPASS secret\r\nSTAT\r\nLIST\r\nUIDL\r\nRETR 1\r\nTOP 2 1\r\nDELE 1\r\nRSET\r\nQUIT\r\n",
		"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nRETR 3\r\nDELE 2\r\nQUIT\r\n",
		"AUTH LOGIN\r\nYWxpY2U=\r\nc2VjcmV0\r\nTOP 1 0\r\n",
		"AUTH PLAIN\r\n*\r\nCAPA\r\nAPOP alice 00112233445566778899aabbccddeeff\r\n",
		"USER alice\nPASS secret\nLIST 1 2\nRETR 99999\r\n",
		"STLS\r\nCAPA\r\n",
		strings.Repeat("A", 300) + "\r\nNOOP\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		be := pop3mem.New()
		be.AddUser("alice", "secret")
		for _, m := range fixture {
			be.Deliver("alice", []byte(m))
		}
		s := &pop3.Server{Backend: be.WithAPOP(), Auth: insecureAuth(be), LoginFailureDelay: -1, MaxLoginFailures: -1, MaxErrors: -1}
		cc, sc := net.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.ServeConn(context.Background(), sc)
		}()
		cc.SetDeadline(time.Now().Add(10 * time.Second))
		go func() {
			cc.Write(in)
			// Let the server finish what it read, then end the session.
			cc.Write([]byte("\r\nQUIT\r\nQUIT\r\nQUIT\r\nQUIT\r\n"))
		}()
		out, err := io.ReadAll(cc)
		cc.Close()
		<-done
		if err != nil && err != io.ErrClosedPipe {
			t.Fatalf("reading: %v", err)
		}
		if len(out) > 0 && !bytes.HasSuffix(out, []byte("\r\n")) {
			t.Fatalf("output does not end with CRLF: %q", out[max(0, len(out)-40):])
		}
		if !bytes.HasPrefix(out, []byte("+OK POP3 server ready <")) {
			t.Fatalf("greeting: %q", out[:min(len(out), 40)])
		}
		if bytes.Contains(out, []byte("[SYS/TEMP] Internal")) {
			t.Fatalf("internal error: %q", out)
		}
	})
}

// FuzzClient feeds random server output to the client, which must return
// errors, never panic, and stay within its bounds.
func FuzzClient(f *testing.F) {
	for _, s := range []string{
		"+OK hi\r\n+OK\r\n+OK\r\n+OK 2 100\r\n+OK\r\n1 50\r\n2 50\r\n.\r\n+OK\r\n1 a\r\n.\r\n+OK\r\nSubject: x\r\n\r\n..a\r\n.\r\n+OK\r\n",
		"+OK <1.2@x>\r\n-ERR [AUTH] no\r\n",
		"-ERR [SYS/TEMP] busy\r\n",
		"+OK\r\n+OK\r\n+OK\r\n+OK x y\r\n+OK\r\n1\r\n.\r\n",
		"+OK\r\n+OK\r\n+OK\r\n+OK 1 1\r\n+OK\r\n1 1\r\n.\r\n+OK\r\n1 \x01\r\n.\r\n+OK\r\nbare\nlf\r\n.\r\n",
		"+OK\r\n+ \r\n+ !!\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		cc, sc := net.Pipe()
		defer cc.Close()
		go func() {
			sc.Write(in)
			sc.Close()
		}()
		go io.Copy(io.Discard, sc)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := pop3.NewClient(ctx, cc, &pop3.ClientOptions{MaxMessageBytes: 1 << 16, MaxListEntries: 1000})
		if err != nil {
			return
		}
		c.Auth(ctx, sasl.NewLoginClient("u", "p"))
		c.Login(ctx, "u", "p")
		c.Stat(ctx)
		if l, err := c.List(ctx); err == nil {
			for _, e := range l {
				if e.Number < 1 || e.Size < 0 {
					t.Fatalf("entry %v", e)
				}
			}
		}
		if l, err := c.Uidl(ctx); err == nil {
			for _, e := range l {
				if !pop3.ValidUID(e.UID) {
					t.Fatalf("uid %q", e.UID)
				}
			}
		}
		if r, err := c.Retr(ctx, 1); err == nil {
			b, _ := io.ReadAll(r)
			if len(b) > 1<<16 {
				t.Fatalf("read %d bytes over the limit", len(b))
			}
		}
		c.Capa(ctx)
		c.Quit(ctx)
	})
}
