package imap_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/imap"
)

// TestLiteralMinus checks LITERAL- (RFC 7888 section 5): offered instead
// of LITERAL+ when Server.LiteralMinus is set, non-synchronizing literals
// up to 4096 bytes accepted, a longer one refused with BAD [TOOBIG] and
// skipped, so that the connection goes on; and the client sends small
// literals without waiting and large ones synchronized.
func TestLiteralMinus(t *testing.T) {
	be, _ := newFixture(t)
	s := testServer(be)
	s.LiteralMinus = true
	cl := newClient(t, s)
	caps := cl.do("c", "CAPABILITY")[0]
	if !strings.Contains(caps, " LITERAL- ") || strings.Contains(caps, "LITERAL+") {
		t.Fatalf("CAPABILITY: %q", caps)
	}
	cl.send("a LOGIN {5+}\r\nalice {6+}\r\nsecret\r\n")
	expectPrefix(t, last(cl.until("a")), "a OK")
	msg := "Subject: big\r\n\r\n" + strings.Repeat("x", 5000) + "\r\n"
	cl.send("b APPEND INBOX {" + itoa(len(msg)) + "+}\r\n" + msg + "\r\n")
	expectPrefix(t, last(cl.until("b")), "b BAD [TOOBIG]")
	expectPrefix(t, last(cl.do("n", "NOOP")), "n OK")
	cl.send("d APPEND INBOX {" + itoa(len(msg)) + "}\r\n")
	expectPrefix(t, cl.line(), "+ ")
	cl.send(msg + "\r\n")
	expectPrefix(t, last(cl.until("d")), "d OK [APPENDUID")

	// The client against it.
	cc, sc := net.Pipe()
	go s.ServeConn(context.Background(), sc)
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := imap.NewClient(ctx, cc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(ctx, "alice", "secret"); err != nil {
		t.Fatal(err)
	}
	small := "Subject: small\r\n\r\nhi\r\n"
	for _, m := range []string{small, msg} {
		if _, err := c.Append(ctx, "INBOX", strings.NewReader(m), int64(len(m)), nil); err != nil {
			t.Fatalf("APPEND of %d bytes: %v", len(m), err)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestClientLiteralMinus checks that the client sends a literal of at
// most 4096 bytes to a LITERAL- server without waiting for a continuation
// request: this server never sends one.
func TestClientLiteralMinus(t *testing.T) {
	cc, sc := net.Pipe()
	defer cc.Close()
	got := make(chan string, 1)
	go func() {
		defer sc.Close()
		r := bufio.NewReader(sc)
		io.WriteString(sc, "* OK [CAPABILITY IMAP4rev1 LITERAL-] ready\r\n")
		line, _ := r.ReadString('\n')
		got <- line
		f := strings.Fields(line)
		n, _ := strconv.Atoi(strings.Trim(f[len(f)-1], "{+}"))
		io.CopyN(io.Discard, r, int64(n)+2)
		io.WriteString(sc, f[0]+" OK APPEND done\r\n")
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := imap.NewClient(ctx, cc, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := "Subject: small\r\n\r\nhi\r\n"
	if _, err := c.Append(ctx, "INBOX", strings.NewReader(m), int64(len(m)), nil); err != nil {
		t.Fatal(err)
	}
	if l := <-got; !strings.HasSuffix(l, "{"+strconv.Itoa(len(m))+"+}\r\n") {
		t.Fatalf("APPEND sent %q", l)
	}
}
