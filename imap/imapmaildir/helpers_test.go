package imapmaildir_test

import (
	"bufio"
	"context"
	"crypto/subtle"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/imap"
	"github.com/heraldmail/herald/imap/imapmaildir"
	"github.com/heraldmail/herald/internal/testkit"
	"github.com/heraldmail/herald/maildir"
	"github.com/heraldmail/herald/sasl"
)

const testMsg = "From: Alice <alice@example.org>\r\n" +
	"To: Bob <bob@example.org>\r\n" +
	"Subject: Hello\r\n" +
	"Date: Thu, 14 Mar 2024 15:09:26 +0000\r\n" +
	"Message-ID: <1@example.org>\r\n" +
	"\r\n" +
	"Hi Bob.\r\n"

// fixture is a Backend over Maildir++ trees under a temporary directory,
// one per user, "<root>/<user>".
type fixture struct {
	root string
	be   *imapmaildir.Backend
	srv  *imap.Server
	opts maildir.Options
	logs *logBuffer
}

// logBuffer collects log output for assertions.
type logBuffer = testkit.LogBuffer

func newFixture(t testing.TB, opts *maildir.Options) *fixture {
	t.Helper()
	f := &fixture{root: t.TempDir(), logs: &logBuffer{}}
	if opts != nil {
		f.opts = *opts
	}
	logger := slog.New(slog.NewTextHandler(f.logs, nil))
	f.be = &imapmaildir.Backend{
		Store: func(ctx context.Context, conn *imap.ConnInfo, identity string) (*maildir.Store, error) {
			return f.store(t, identity), nil
		},
		Logger: logger,
	}
	f.srv = &imap.Server{Backend: f.be, Auth: testAuth(), Logger: logger}
	return f
}

// store opens the user's tree, as another process would: a Store of its
// own.
func (f *fixture) store(t testing.TB, user string) *maildir.Store {
	st, err := maildir.OpenStore(filepath.Join(f.root, user), &f.opts)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func testAuth() *sasl.Authenticator {
	return &sasl.Authenticator{
		Password: func(ctx context.Context, authzid, user, pass string) (string, error) {
			if (user == "alice" || user == "bob") && subtle.ConstantTimeCompare([]byte(pass), []byte("secret")) == 1 {
				return "", nil
			}
			return "", sasl.ErrAuthFailed
		},
		AllowInsecure: true,
	}
}

// client is a minimal IMAP client for the tests: it sends a command and
// returns every response line up to the tagged one, literals inlined.
type client struct {
	t   testing.TB
	c   net.Conn
	r   *bufio.Reader
	tag int
}

func (f *fixture) dial(t testing.TB, user string) *client {
	t.Helper()
	cc, sc := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.srv.ServeConn(context.Background(), sc)
	}()
	t.Cleanup(func() {
		cc.Close()
		<-done
	})
	return newClient(t, cc, user)
}

// newClient reads the greeting on nc and logs in as user, unless "".
func newClient(t testing.TB, nc net.Conn, user string) *client {
	t.Helper()
	c := &client{t: t, c: nc, r: bufio.NewReader(nc)}
	c.line() // greeting
	if user != "" {
		c.ok("LOGIN " + user + " secret")
	}
	return c
}

// dialTCP connects to an IMAP server and logs in.
func dialTCP(t testing.TB, addr, user string) *client {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return newClient(t, nc, user)
}

// line reads one response line with its literals.
func (c *client) line() string {
	c.t.Helper()
	c.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var b strings.Builder
	for {
		l, err := c.r.ReadString('\n')
		if err != nil {
			c.t.Fatalf("reading response: %v (so far %q)", err, b.String())
		}
		l = strings.TrimSuffix(l, "\r\n")
		b.WriteString(l)
		n, ok := literalSize(l)
		if !ok {
			return b.String()
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(c.r, buf); err != nil {
			c.t.Fatal(err)
		}
		b.WriteString("\r\n")
		b.Write(buf)
	}
}

func literalSize(l string) (int, bool) {
	if !strings.HasSuffix(l, "}") {
		return 0, false
	}
	i := strings.LastIndexByte(l, '{')
	if i < 0 {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSuffix(l[i+1:len(l)-1], "+"))
	return n, err == nil
}

func (c *client) write(s string) {
	c.t.Helper()
	c.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.c.Write([]byte(s)); err != nil {
		c.t.Fatal(err)
	}
}

// do sends a command and returns the untagged lines and the tagged one.
func (c *client) do(cmd string) ([]string, string) {
	c.t.Helper()
	c.tag++
	tag := "t" + strconv.Itoa(c.tag)
	c.write(tag + " " + cmd + "\r\n")
	var lines []string
	for {
		l := c.line()
		if strings.HasPrefix(l, tag+" ") {
			return lines, strings.TrimPrefix(l, tag+" ")
		}
		lines = append(lines, l)
	}
}

// ok runs a command that must succeed.
func (c *client) ok(cmd string) []string {
	c.t.Helper()
	lines, status := c.do(cmd)
	if !strings.HasPrefix(status, "OK") {
		c.t.Fatalf("%s: %s\n%s", cmd, status, strings.Join(lines, "\n"))
	}
	return append(lines, status)
}

// no runs a command that must fail with NO and the response code.
func (c *client) no(cmd, code string) {
	c.t.Helper()
	_, status := c.do(cmd)
	if !strings.HasPrefix(status, "NO ["+code+"]") {
		c.t.Fatalf("%s: got %q, want NO [%s]", cmd, status, code)
	}
}

// append sends APPEND with a synchronising literal.
func (c *client) append(mailbox, flags, date, msg string) string {
	c.t.Helper()
	c.tag++
	tag := "t" + strconv.Itoa(c.tag)
	args := ""
	if flags != "" {
		args += " (" + flags + ")"
	}
	if date != "" {
		args += ` "` + date + `"`
	}
	c.write(fmt.Sprintf("%s APPEND %s%s {%d}\r\n", tag, mailbox, args, len(msg)))
	for {
		l := c.line()
		if strings.HasPrefix(l, "+") {
			break
		}
		if strings.HasPrefix(l, tag+" ") {
			return strings.TrimPrefix(l, tag+" ")
		}
	}
	c.write(msg + "\r\n")
	for {
		l := c.line()
		if strings.HasPrefix(l, tag+" ") {
			return strings.TrimPrefix(l, tag+" ")
		}
	}
}

// has reports whether a line of lines contains s.
func has(lines []string, s string) bool {
	for _, l := range lines {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

func mustHave(t testing.TB, lines []string, s string) {
	t.Helper()
	if !has(lines, s) {
		t.Fatalf("no line holds %q in\n%s", s, strings.Join(lines, "\n"))
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
