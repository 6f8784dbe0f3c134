package imap_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/heraldmail/herald/imap"
	"github.com/heraldmail/herald/imap/imapmem"
	"github.com/heraldmail/herald/internal/testkit"
)

// client is a minimal test client over a pipe.
type client struct {
	t  testing.TB
	c  net.Conn
	r  *bufio.Reader
	mu sync.Mutex
}

func newClient(t testing.TB, s *imap.Server) *client {
	c, r := pipeClient(t, s)
	cl := &client{t: t, c: c, r: r}
	cl.line() // greeting
	return cl
}

// send writes raw data without waiting.
func (cl *client) send(s string) {
	cl.t.Helper()
	go io.WriteString(cl.c, s)
}

func (cl *client) line() string {
	cl.t.Helper()
	cl.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	l, err := cl.r.ReadString('\n')
	if err != nil {
		cl.t.Fatalf("reading: %v (got %q)", err, l)
	}
	return strings.TrimSuffix(l, "\r\n")
}

// do sends a command and returns every line up to and including its tagged
// response.
func (cl *client) do(tag, cmd string) []string {
	cl.t.Helper()
	cl.send(tag + " " + cmd + "\r\n")
	return cl.until(tag)
}

func (cl *client) until(tag string) []string {
	cl.t.Helper()
	var lines []string
	for {
		l := cl.line()
		lines = append(lines, l)
		if strings.HasPrefix(l, tag+" ") || strings.HasPrefix(l, "* BYE") && tag == "*" {
			return lines
		}
	}
}

func last(lines []string) string { return lines[len(lines)-1] }

func expectPrefix(t testing.TB, got, want string) {
	t.Helper()
	if !strings.HasPrefix(got, want) {
		t.Fatalf("got %q, want prefix %q", got, want)
	}
}

func testCert(t testing.TB) tls.Certificate {
	t.Helper()
	return testkit.SelfSigned(t).TLS
}

func TestStartTLS(t *testing.T) {
	be, _ := newFixture(t)
	s := testServer(be)
	s.Auth.AllowInsecure = false
	s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{testCert(t)}}
	c, r := pipeClient(t, s)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	greet, _ := r.ReadString('\n')
	for _, want := range []string{"STARTTLS", "LOGINDISABLED"} {
		if !strings.Contains(greet, want) {
			t.Fatalf("greeting %q lacks %s", greet, want)
		}
	}
	if strings.Contains(greet, "AUTH=PLAIN") {
		t.Fatalf("greeting offers PLAIN before TLS: %q", greet)
	}
	io.WriteString(c, "a1 LOGIN alice secret\r\n")
	l, _ := r.ReadString('\n')
	expectPrefix(t, l, "a1 NO [PRIVACYREQUIRED]")
	// A command pipelined after STARTTLS must be discarded.
	go io.WriteString(c, "a2 STARTTLS\r\na3 LOGIN alice secret\r\n")
	l, _ = r.ReadString('\n')
	expectPrefix(t, l, "a2 OK")
	tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	tr := bufio.NewReader(tc)
	io.WriteString(tc, "a4 CAPABILITY\r\n")
	l, _ = tr.ReadString('\n')
	if strings.Contains(l, "LOGINDISABLED") || strings.Contains(l, "STARTTLS") || !strings.Contains(l, "AUTH=PLAIN") {
		t.Fatalf("capabilities after TLS: %q", l)
	}
	l, _ = tr.ReadString('\n')
	expectPrefix(t, l, "a4 OK")
	io.WriteString(tc, "a5 LOGIN alice secret\r\n")
	l, _ = tr.ReadString('\n')
	expectPrefix(t, l, "a5 OK")
}

func TestImplicitTLS(t *testing.T) {
	be, _ := newFixture(t)
	s := testServer(be)
	s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{testCert(t)}}
	s.ImplicitTLS = true
	c, _ := pipeClient(t, s)
	tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true})
	tc.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(tc)
	l, err := r.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	expectPrefix(t, l, "* OK [CAPABILITY IMAP4rev2")
	if strings.Contains(l, "STARTTLS") {
		t.Fatalf("STARTTLS offered on a TLS connection: %q", l)
	}
}

func TestAuthenticate(t *testing.T) {
	be, _ := newFixture(t)
	plain := func(user, pass string) string {
		return base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
	}
	tests := []struct {
		name  string
		steps []string // client lines; "<" marks an expected continuation
		want  string
	}{
		{"sasl-ir", []string{"a AUTHENTICATE PLAIN " + plain("alice", "secret")}, "a OK [CAPABILITY"},
		{"continuation", []string{"a AUTHENTICATE PLAIN", "<", plain("alice", "secret")}, "a OK [CAPABILITY"},
		{"wrong", []string{"a AUTHENTICATE PLAIN " + plain("alice", "nope")}, "a NO [AUTHENTICATIONFAILED]"},
		{"cancel", []string{"a AUTHENTICATE PLAIN", "<", "*"}, "a BAD AUTHENTICATE cancelled"},
		{"bad base64", []string{"a AUTHENTICATE PLAIN", "<", "!!!"}, "a BAD Invalid base64"},
		{"unknown", []string{"a AUTHENTICATE CRAM-MD5"}, "a NO [CANNOT]"},
		{"empty ir", []string{"a AUTHENTICATE PLAIN ="}, "a NO [AUTHENTICATIONFAILED]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl := newClient(t, testServer(be))
			for _, s := range tt.steps {
				if s == "<" {
					expectPrefix(t, cl.line(), "+ ")
					continue
				}
				cl.send(s + "\r\n")
			}
			expectPrefix(t, last(cl.until("a")), tt.want)
		})
	}
}

func TestAuthFailuresDisconnect(t *testing.T) {
	be, _ := newFixture(t)
	s := testServer(be)
	s.MaxAuthFailures = 2
	cl := newClient(t, s)
	expectPrefix(t, last(cl.do("a1", "LOGIN alice x")), "a1 NO")
	lines := cl.do("a2", "LOGIN alice y")
	if lines[0] != "* BYE Too many failed logins" {
		t.Fatalf("got %q", lines)
	}
}

func TestTooManyErrors(t *testing.T) {
	be, _ := newFixture(t)
	s := testServer(be)
	s.MaxErrors = 3
	cl := newClient(t, s)
	cl.do("a1", "FOO")
	cl.do("a2", "BAR")
	expectPrefix(t, last(cl.do("a3", "BAZ")), "a3 BAD")
	if l := cl.line(); l != "* BYE Too many errors" {
		t.Fatalf("got %q", l)
	}
}

func TestLimits(t *testing.T) {
	be, _ := newFixture(t)
	s := testServer(be)
	s.MaxLineLength = 100
	s.MaxLiteralSize = 50
	s.MaxStringLiteral = 10
	s.MaxDepth = 3
	s.MaxItems = 5
	s.MaxSetRanges = 3
	cl := newClient(t, s)
	cl.do("a0", "LOGIN alice secret")
	cl.do("a1", "SELECT INBOX")
	for _, tt := range []struct{ cmd, want string }{
		{"LOGIN " + strings.Repeat("x", 200), "a BAD [TOOBIG] Command line too long"},
		{"SEARCH NOT NOT NOT NOT NOT ALL", "a BAD [TOOBIG] Search criteria nested too deep"},
		{"SEARCH SEEN SEEN SEEN SEEN SEEN SEEN", "a BAD [TOOBIG] Too many items"},
		{"FETCH 1,2,3,1 FLAGS", "a BAD [TOOBIG] Sequence set too large"},
		{"FETCH 1 BODY[1.1.1.1]", "a BAD [TOOBIG] Section nested too deep"},
		{"LIST \"\" {11}", "a BAD [TOOBIG] Literal too big"},
		{"APPEND INBOX {51}", "a NO [TOOBIG] Message too big"},
		{"NOOP", "a OK"},
	} {
		expectPrefix(t, last(cl.do("a", tt.cmd)), tt.want)
	}
	// A non-synchronizing literal over the limit cannot be skipped.
	cl.send("a APPEND INBOX {51+}\r\n")
	expectPrefix(t, cl.line(), "* BYE [TOOBIG]")
}

func TestIdleUpdates(t *testing.T) {
	be, u := newFixture(t)
	cl := newClient(t, testServer(be))
	cl.do("a1", "LOGIN alice secret")
	cl.do("a2", "SELECT INBOX")
	cl.send("a3 IDLE\r\n")
	expectPrefix(t, cl.line(), "+ ")
	if _, err := u.Deliver("INBOX", []byte(msgPlain), nil, testDate); err != nil {
		t.Fatal(err)
	}
	// The update arrives before DONE.
	if l := cl.line(); l != "* 4 EXISTS" {
		t.Fatalf("got %q", l)
	}
	cl.send("DONE\r\n")
	expectPrefix(t, last(cl.until("a3")), "a3 OK")
}

// TestNoExpungeDuringFetch checks RFC 9051 section 7.5.1: a message expunged
// by another session is announced at NOOP, not during FETCH, STORE or
// SEARCH, and sequence numbers stay valid meanwhile.
func TestNoExpungeDuringFetch(t *testing.T) {
	be, _ := newFixture(t)
	s := testServer(be)
	a, b := newClient(t, s), newClient(t, s)
	for _, cl := range []*client{a, b} {
		cl.do("l", "LOGIN alice secret")
		cl.do("s", "SELECT INBOX")
	}
	b.do("b1", `STORE 2 +FLAGS (\Deleted)`)
	b.do("b2", "EXPUNGE")
	for _, cmd := range []string{"FETCH 1:3 UID", "SEARCH ALL", `STORE 1 +FLAGS (\Answered)`} {
		lines := a.do("x", cmd)
		for _, l := range lines {
			if strings.Contains(l, "EXPUNGE") {
				t.Fatalf("%s: EXPUNGE sent: %q", cmd, lines)
			}
		}
		if cmd == "SEARCH ALL" && lines[0] != "* SEARCH 1 2 3" && !strings.HasPrefix(lines[0], "* 2 FETCH") {
			t.Fatalf("SEARCH: %q", lines)
		}
	}
	// Fetching the body of the expunged message fails with EXPUNGEISSUED.
	expectPrefix(t, last(a.do("y", "FETCH 2 BODY.PEEK[]")), "y NO [EXPUNGEISSUED]")
	lines := a.do("z", "NOOP")
	if lines[0] != "* 2 EXPUNGE" {
		t.Fatalf("NOOP: %q", lines)
	}
	lines = a.do("w", "FETCH 1:* UID")
	if len(lines) != 3 || lines[1] != "* 2 FETCH (UID 3)" {
		t.Fatalf("after expunge: %q", lines)
	}
	// A UID command may carry the EXPUNGE.
	b.do("b3", `STORE 1 +FLAGS (\Deleted)`)
	b.do("b4", "EXPUNGE")
	lines = a.do("v", "UID FETCH 1:* UID")
	if len(lines) != 4 || lines[2] != "* 1 EXPUNGE" {
		t.Fatalf("UID FETCH: %q", lines)
	}
}

type panicBackend struct{ imap.Backend }

type panicUser struct{ imap.User }

func (panicBackend) Open(ctx context.Context, c *imap.ConnInfo, id string) (imap.User, error) {
	return panicUser{}, nil
}

func (panicUser) List(ctx context.Context) ([]imap.MailboxInfo, error) { panic("boom") }
func (panicUser) Status(ctx context.Context, name string) (imap.MailboxStatus, error) {
	return imap.MailboxStatus{}, errors.New("disk on fire at /var/secret")
}
func (panicUser) Logout(ctx context.Context) error { return nil }

func TestBackendFailures(t *testing.T) {
	var logs bytes.Buffer
	s := testServer(panicBackend{})
	var mu sync.Mutex
	s.Logger = slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, nil))
	cl := newClient(t, s)
	cl.do("a1", "LOGIN alice secret")
	expectPrefix(t, last(cl.do("a2", `LIST "" *`)), "a2 NO [SERVERBUG] Internal server error")
	lines := cl.do("a3", "STATUS INBOX (MESSAGES)")
	if last(lines) != "a3 NO [SERVERBUG] Internal server error" {
		t.Fatalf("got %q", lines)
	}
	expectPrefix(t, last(cl.do("a4", "NOOP")), "a4 OK")
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "boom") || !strings.Contains(logs.String(), "disk on fire") {
		t.Fatalf("log lacks the errors: %s", logs.String())
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

func TestAutologout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		be, _ := newFixture(t)
		s := testServer(be)
		cc, sc := net.Pipe()
		done := make(chan struct{})
		go func() {
			s.ServeConn(context.Background(), sc)
			close(done)
		}()
		r := bufio.NewReader(cc)
		r.ReadString('\n')
		go io.WriteString(cc, "a1 LOGIN alice secret\r\na2 SELECT INBOX\r\na3 IDLE\r\n")
		for {
			l, _ := r.ReadString('\n')
			if strings.HasPrefix(l, "+ ") {
				break
			}
		}
		start := time.Now()
		l, err := r.ReadString('\n')
		if err != nil || l != "* BYE Autologout; idle for too long\r\n" {
			t.Fatalf("got %q, %v", l, err)
		}
		if d := time.Since(start); d < imap.DefaultAutologout {
			t.Fatalf("logged out after %v", d)
		}
		<-done
		cc.Close()
	})
}

func TestShutdown(t *testing.T) {
	be, _ := newFixture(t)
	s := testServer(be)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	r.ReadString('\n')
	io.WriteString(c, "a1 LOGIN alice secret\r\n")
	r.ReadString('\n')
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	line, _ := r.ReadString('\n')
	if line != "* BYE Server shutting down\r\n" {
		t.Fatalf("got %q", line)
	}
	if err := <-served; !errors.Is(err, imap.ErrServerClosed) {
		t.Fatalf("Serve: %v", err)
	}
}

func TestMaxConnections(t *testing.T) {
	be, _ := newFixture(t)
	s := testServer(be)
	s.MaxConnections = 1
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l)
	defer s.Close()
	c1, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	r1 := bufio.NewReader(c1)
	r1.ReadString('\n')
	c2, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	c2.SetDeadline(time.Now().Add(10 * time.Second))
	line, _ := bufio.NewReader(c2).ReadString('\n')
	expectPrefix(t, line, "* BYE [UNAVAILABLE]")
}

var _ = imapmem.New
