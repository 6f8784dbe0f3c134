package imap_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldmail/herald/imap"
	"github.com/heraldmail/herald/imap/imapmem"
)

// countingBackend counts the messages opened through its mailboxes.
type countingBackend struct {
	imap.Backend
	opens *atomic.Int64
}

func (b countingBackend) Open(ctx context.Context, ci *imap.ConnInfo, id string) (imap.User, error) {
	u, err := b.Backend.Open(ctx, ci, id)
	return countingUser{u, b.opens}, err
}

type countingUser struct {
	imap.User
	opens *atomic.Int64
}

func (u countingUser) Select(ctx context.Context, name string, ro bool) (imap.Mailbox, error) {
	mb, err := u.User.Select(ctx, name, ro)
	return countingMailbox{mb, u.opens}, err
}

type countingMailbox struct {
	imap.Mailbox
	opens *atomic.Int64
}

func (m countingMailbox) Open(ctx context.Context, uid imap.UID) (imap.Content, error) {
	m.opens.Add(1)
	return m.Mailbox.Open(ctx, uid)
}

// TestSortCache checks that the sort keys are kept per session: a second
// SORT or THREAD of the same messages opens none of them, a new message
// is read once, and SORT ARRIVAL and SIZE open nothing.
func TestSortCache(t *testing.T) {
	be := imapmem.New()
	u := be.AddUser("alice")
	for i := range 200 {
		m := fmt.Sprintf("Subject: message %d\r\nDate: Mon, 1 Jan 2024 %02d:%02d:00 +0000\r\nFrom: u%d@example.org\r\n\r\nbody\r\n", (i*7)%50, i/60, i%60, i%13)
		u.Deliver("INBOX", []byte(m), nil, time.Now())
	}
	var opens atomic.Int64
	cl := newClient(t, testServer(countingBackend{be, &opens}))
	cl.do("a", "LOGIN alice secret")
	cl.do("b", "SELECT INBOX")
	if got := cl.do("c", "SORT (ARRIVAL REVERSE SIZE) UTF-8 ALL"); !strings.HasPrefix(last(got), "c OK") || opens.Load() != 0 {
		t.Fatalf("SORT ARRIVAL SIZE opened %d messages: %q", opens.Load(), last(got))
	}
	cl.do("d", "SORT (SUBJECT DATE) UTF-8 ALL")
	if n := opens.Load(); n != 200 {
		t.Fatalf("first SORT opened %d messages, want 200", n)
	}
	cl.do("e", "SORT (REVERSE FROM) UTF-8 ALL")
	cl.do("f", "THREAD REFERENCES UTF-8 ALL")
	cl.do("g", "THREAD ORDEREDSUBJECT UTF-8 ALL")
	if n := opens.Load(); n != 200 {
		t.Fatalf("repeated SORT and THREAD opened %d more messages", n-200)
	}
	u.Deliver("INBOX", []byte("Subject: new\r\n\r\nx\r\n"), nil, time.Now())
	cl.do("h", "NOOP")
	cl.do("i", "SORT (SUBJECT) UTF-8 ALL")
	if n := opens.Load(); n != 201 {
		t.Fatalf("after a new message: %d opens, want 201", n)
	}
}
