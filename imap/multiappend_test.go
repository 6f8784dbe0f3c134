package imap_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestMultiAppend checks MULTIAPPEND (RFC 3502) on the wire: several
// messages with their own flags and dates, APPENDUID with a UID set,
// synchronizing and non-synchronizing literals, and all or nothing: a
// literal too big, a syntax error in a later message or a missing mailbox
// leaves the mailbox as it was.
func TestMultiAppend(t *testing.T) {
	be, _ := newFixture(t)
	s := testServer(be)
	s.MaxLiteralSize = 1000
	cl := newClient(t, s)
	if !strings.Contains(cl.do("c", "CAPABILITY")[0], " MULTIAPPEND") {
		t.Fatal("MULTIAPPEND not announced")
	}
	cl.do("a", "LOGIN alice secret")
	msg := func(i int) string { return fmt.Sprintf("Subject: m%d\r\n\r\nbody %d\r\n", i, i) }
	count := func() string {
		for _, l := range cl.do("s", "STATUS Archive (MESSAGES)") {
			if strings.HasPrefix(l, "* STATUS") {
				return l
			}
		}
		return ""
	}
	before := count()

	// Synchronizing literals: a continuation for each.
	m1, m2 := msg(1), msg(2)
	cl.send(fmt.Sprintf("b APPEND Archive (\\Seen) {%d}\r\n", len(m1)))
	if l := cl.line(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("first literal: %q", l)
	}
	cl.send(fmt.Sprintf("%s (\\Flagged $Work) \"01-Feb-2024 10:00:00 +0000\" {%d}\r\n", m1, len(m2)))
	if l := cl.line(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("second literal: %q", l)
	}
	cl.send(m2 + "\r\n")
	got := cl.until("b")
	if !strings.HasPrefix(last(got), "b OK [APPENDUID ") || strings.Fields(last(got))[4] != "1:2]" {
		t.Fatalf("APPEND: %q", got)
	}
	uidset := strings.TrimSuffix(strings.Fields(last(got))[4], "]")

	// Non-synchronizing literals, three messages.
	m3, m4, m5 := msg(3), msg(4), msg(5)
	got = cl.do("c", fmt.Sprintf("APPEND Archive {%d+}\r\n%s {%d+}\r\n%s () {%d+}\r\n%s", len(m3), m3, len(m4), m4, len(m5), m5))
	if !strings.HasPrefix(last(got), "c OK [APPENDUID ") || len(got) != 1 {
		t.Fatalf("APPEND with LITERAL+: %q", got)
	}
	cl.do("d", "SELECT Archive")
	got = cl.do("e", "UID FETCH "+uidset+" (FLAGS INTERNALDATE BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
	all := strings.Join(got, "\n")
	if strings.Count(all, " FETCH (") != 2 || !strings.Contains(all, "* 1 FETCH (UID 1 FLAGS (\\Seen \\Recent)") ||
		!strings.Contains(all, `* 2 FETCH (UID 2 FLAGS (\Flagged $Work \Recent) INTERNALDATE "01-Feb-2024 10:00:00 +0000"`) ||
		!strings.Contains(all, "Subject: m1\n\n)\n* 2") || !strings.Contains(all, "Subject: m2") {
		t.Fatalf("FETCH: %q", got)
	}
	cl.do("f", "UNSELECT")
	before = count()

	// A literal too big in the third message: NO [TOOBIG], nothing
	// appended; the client does not send the refused literal.
	cl.send(fmt.Sprintf("g APPEND Archive {%d+}\r\n%s {%d+}\r\n%s {5000}\r\n", len(m1), m1, len(m2), m2))
	got = cl.until("g")
	if !strings.HasPrefix(last(got), "g NO [TOOBIG]") && !strings.HasPrefix(last(got), "g BAD [TOOBIG]") {
		t.Fatalf("literal too big: %q", got)
	}
	if after := count(); after != before {
		t.Fatalf("after a failed MULTIAPPEND: %s, before %s", after, before)
	}
	// A syntax error in the second message.
	got = cl.do("h", fmt.Sprintf("APPEND Archive {%d+}\r\n%s (\\Bogus {3}) {%d+}\r\n%s", len(m1), m1, len(m2), m2))
	if !strings.HasPrefix(last(got), "h BAD") {
		t.Fatalf("syntax error: %q", got)
	}
	if after := count(); after != before {
		t.Fatalf("after a MULTIAPPEND with a syntax error: %s, before %s", after, before)
	}
	// A missing mailbox: NO [TRYCREATE], the rest read and dropped.
	got = cl.do("i", fmt.Sprintf("APPEND Nowhere {%d+}\r\n%s {%d+}\r\n%s", len(m1), m1, len(m2), m2))
	if !strings.HasPrefix(last(got), "i NO [TRYCREATE]") {
		t.Fatalf("missing mailbox: %q", got)
	}
	if got := cl.do("j", "NOOP"); last(got) != "j OK NOOP completed" {
		t.Fatalf("after: %q", got)
	}
}

// FuzzMultiAppend sends an APPEND to Archive whose messages come from the
// input: the server must not panic or hang, and it is all or nothing: an
// OK's APPENDUID names as many UIDs as messages were added, and after a
// NO or BAD the mailbox holds what it held.
func FuzzMultiAppend(f *testing.F) {
	for _, s := range []string{
		"{3+}\r\nabc {2+}\r\nde",
		"(\\Seen) {3+}\r\nabc (\\Bad {2+}\r\nde",
		"{3+}\r\nabc \"01-Feb-2024 10:00:00 +0000\" {2+}\r\nde () {0+}\r\n",
		"{3+}\r\nabc {99999+}\r\n",
		"{3+}\r\nabc ~{2+}\r\nd\x00",
		"{3+}\r\nabc {2}\r\nde",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tail string) {
		be, _ := newFixture(t)
		srv := testServer(be)
		srv.MaxLiteralSize, srv.MaxLineLength = 1<<12, 1<<12
		status := func() (int, string) {
			cc, sc := net.Pipe()
			go srv.ServeConn(context.Background(), sc)
			defer cc.Close()
			cc.SetDeadline(time.Now().Add(10 * time.Second))
			go io.WriteString(cc, "x LOGIN alice secret\r\ny STATUS Archive (MESSAGES)\r\n")
			r := bufio.NewReader(cc)
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					t.Fatalf("status: %v", err)
				}
				var n int
				if _, err := fmt.Sscanf(l, "* STATUS \"Archive\" (MESSAGES %d)", &n); err == nil {
					return n, l
				}
				if strings.HasPrefix(l, "y ") {
					t.Fatalf("status: %q", l)
				}
			}
		}
		before, _ := status()
		cc, sc := net.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			srv.ServeConn(context.Background(), sc)
		}()
		var out strings.Builder
		read := make(chan struct{})
		go func() {
			io.Copy(&out, cc)
			close(read)
		}()
		cc.SetWriteDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(cc, "x LOGIN alice secret\r\na APPEND Archive "+tail+"\r\nzz LOGOUT\r\n")
		select {
		case <-done:
		case <-time.After(time.Second):
			// The command is still open (a literal took the rest):
			// the client goes away.
			cc.Close()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatalf("server hangs on %q", tail)
			}
		}
		cc.Close()
		<-read
		after, _ := status()
		var tagged string
		for _, l := range strings.Split(out.String(), "\r\n") {
			if strings.HasPrefix(l, "a ") {
				tagged = l
				break
			}
		}
		switch {
		case strings.HasPrefix(tagged, "a OK [APPENDUID "):
			set := strings.TrimSuffix(strings.Fields(tagged)[4], "]")
			n := 0
			for _, r := range strings.Split(set, ",") {
				var lo, hi int
				if k, _ := fmt.Sscanf(r, "%d:%d", &lo, &hi); k == 2 {
					n += hi - lo + 1
				} else {
					n++
				}
			}
			if after != before+n {
				t.Fatalf("%q: %s, but %d messages before and %d after", tail, tagged, before, after)
			}
		case strings.HasPrefix(tagged, "a OK"):
			t.Fatalf("%q: OK without APPENDUID: %s", tail, tagged)
		default:
			if after != before {
				t.Fatalf("%q: %q, but %d messages before and %d after", tail, tagged, before, after)
			}
		}
	})
}
