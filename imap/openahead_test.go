package imap_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldmail/herald/imap"
	"github.com/heraldmail/herald/imap/imapmem"
)

// aheadBackend serves imapmem's mailboxes as a Mailbox that lets FETCH
// open ahead, and counts the contents opened and closed.
type aheadBackend struct {
	imap.Backend
	n    int
	fail imap.UID // Open of this UID fails

	mu             sync.Mutex
	opened, closed int
}

func (b *aheadBackend) Open(ctx context.Context, conn *imap.ConnInfo, identity string) (imap.User, error) {
	u, err := b.Backend.Open(ctx, conn, identity)
	if err != nil {
		return nil, err
	}
	return aheadUser{u, b}, nil
}

func (b *aheadBackend) counts() (opened, closed int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.opened, b.closed
}

type aheadUser struct {
	imap.User
	b *aheadBackend
}

func (u aheadUser) Select(ctx context.Context, name string, readOnly bool) (imap.Mailbox, error) {
	mb, err := u.User.Select(ctx, name, readOnly)
	if err != nil {
		return nil, err
	}
	return aheadMailbox{mb, u.b}, nil
}

type aheadMailbox struct {
	imap.Mailbox
	b *aheadBackend
}

func (m aheadMailbox) OpenAhead() int { return m.b.n }

func (m aheadMailbox) Open(ctx context.Context, uid imap.UID) (imap.Content, error) {
	if uid == m.b.fail {
		return nil, imap.ErrNoSuchMessage
	}
	ct, err := m.Mailbox.Open(ctx, uid)
	if err != nil {
		return nil, err
	}
	m.b.mu.Lock()
	m.b.opened++
	m.b.mu.Unlock()
	return &aheadContent{Content: ct, b: m.b}, nil
}

type aheadContent struct {
	imap.Content
	b    *aheadBackend
	once sync.Once
}

func (c *aheadContent) Close() error {
	c.once.Do(func() {
		c.b.mu.Lock()
		c.b.closed++
		c.b.mu.Unlock()
	})
	return c.Content.Close()
}

// aheadFixture is alice's INBOX with count messages, the i-th of which
// says which it is, behind an aheadBackend opening n ahead.
func aheadFixture(t *testing.T, count, n int) (*aheadBackend, []string) {
	be := imapmem.New()
	u := be.AddUser("alice")
	var msgs []string
	for i := range count {
		m := fmt.Sprintf("From: a@example.org\r\nSubject: %d\r\n\r\n%s\r\n", i, strings.Repeat(strconv.Itoa(i), i*37))
		if _, err := u.Deliver("INBOX", []byte(m), nil, testDate); err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	return &aheadBackend{Backend: be, n: n}, msgs
}

// fetchLiterals sends cmd and returns its literals in order and the
// tagged reply.
func fetchLiterals(t *testing.T, cc net.Conn, r *bufio.Reader, tag, cmd string) ([]string, string) {
	t.Helper()
	fmt.Fprintf(cc, "%s %s\r\n", tag, cmd)
	var lits []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		if strings.HasPrefix(line, tag+" ") {
			return lits, strings.TrimSpace(line)
		}
		if strings.HasSuffix(line, "}\r\n") {
			i := strings.LastIndexByte(line, '{')
			size, err := strconv.Atoi(line[i+1 : len(line)-3])
			if err != nil {
				t.Fatalf("bad literal in %q", line)
			}
			buf := make([]byte, size)
			if _, err := io.ReadFull(r, buf); err != nil {
				t.Fatal(err)
			}
			lits = append(lits, string(buf))
		}
	}
}

func aheadLogin(t *testing.T, be imap.Backend) (net.Conn, *bufio.Reader) {
	cc, r := pipeClient(t, testServer(be))
	r.ReadString('\n')
	if _, st := fetchLiterals(t, cc, r, "a", "LOGIN alice secret"); !strings.HasPrefix(st, "a OK") {
		t.Fatal(st)
	}
	if _, st := fetchLiterals(t, cc, r, "b", "SELECT INBOX"); !strings.HasPrefix(st, "b OK") {
		t.Fatal(st)
	}
	return cc, r
}

// TestOpenAhead: a FETCH of bodies from a Mailbox that opens ahead sends
// every message in order, whatever the batch and the count, and closes
// every content it opened.
func TestOpenAhead(t *testing.T) {
	for _, tc := range []struct{ count, n int }{{1, 16}, {2, 16}, {7, 4}, {33, 16}, {40, 1}, {9, 3}} {
		t.Run(fmt.Sprintf("%d-%d", tc.count, tc.n), func(t *testing.T) {
			be, msgs := aheadFixture(t, tc.count, tc.n)
			cc, r := aheadLogin(t, be)
			lits, st := fetchLiterals(t, cc, r, "c", "FETCH 1:* BODY.PEEK[]")
			if !strings.HasPrefix(st, "c OK") {
				t.Fatal(st)
			}
			if len(lits) != len(msgs) {
				t.Fatalf("%d literals, want %d", len(lits), len(msgs))
			}
			for i := range msgs {
				if lits[i] != msgs[i] {
					t.Fatalf("message %d: got %q, want %q", i+1, lits[i], msgs[i])
				}
			}
			if o, c := be.counts(); o != tc.count || c != o {
				t.Fatalf("opened %d, closed %d; want %d each", o, c, tc.count)
			}
		})
	}
}

// TestOpenAheadFailure: a message that cannot be opened in the middle of
// the batch is reported with NO [EXPUNGEISSUED], the others are sent.
func TestOpenAheadFailure(t *testing.T) {
	be, msgs := aheadFixture(t, 20, 8)
	be.fail = 6
	cc, r := aheadLogin(t, be)
	lits, st := fetchLiterals(t, cc, r, "c", "FETCH 1:* BODY.PEEK[]")
	if !strings.HasPrefix(st, "c NO [EXPUNGEISSUED]") {
		t.Fatal(st)
	}
	want := append(append([]string{}, msgs[:5]...), msgs[6:]...)
	if strings.Join(lits, "|") != strings.Join(want, "|") {
		t.Fatalf("got %d literals, want the %d others in order", len(lits), len(want))
	}
	if o, c := be.counts(); o != 19 || c != 19 {
		t.Fatalf("opened %d, closed %d; want 19 each", o, c)
	}
}

// TestOpenAheadHangup: a client that goes away in the middle of a FETCH
// leaves nothing open: what was opened ahead and not sent is closed.
func TestOpenAheadHangup(t *testing.T) {
	be, _ := aheadFixture(t, 200, 16)
	cc, r := aheadLogin(t, be)
	fmt.Fprintf(cc, "c FETCH 1:* BODY.PEEK[]\r\n")
	if _, err := r.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	cc.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		o, c := be.counts()
		if o > 0 && o == c {
			if o == 200 {
				t.Fatalf("all 200 opened: the FETCH did not stop")
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("opened %d, closed %d", o, c)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
