package imap_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/heraldmail/herald/imap"
	"github.com/heraldmail/herald/imap/imapmem"
)

// want compares the responses of one command with what a client must see.
func wantLines(t *testing.T, cmd string, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s:\n got  %q\n want %q", cmd, got, want)
	}
}

// tail returns the lines of a SELECT response from the first that starts
// with prefix.
func linesFrom(lines []string, prefix string) []string {
	for i, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return lines[i:]
		}
	}
	return nil
}

// TestCondstoreEnabling checks RFC 7162 section 3.1: CONDSTORE is enabled
// by ENABLE, by SELECT (CONDSTORE) and by the first command that uses it,
// which in the selected state is preceded by the HIGHESTMODSEQ the SELECT
// response did not carry; QRESYNC implies CONDSTORE.
func TestCondstoreEnabling(t *testing.T) {
	be, _ := newFixture(t)
	s := testServer(be)

	a := newClient(t, s)
	a.do("l", "LOGIN alice secret")
	wantLines(t, "ENABLE", a.do("e", "ENABLE CONDSTORE QRESYNC"), "* ENABLED CONDSTORE QRESYNC", "e OK ENABLE completed")
	wantLines(t, "ENABLE again", a.do("e", "ENABLE QRESYNC"), "* ENABLED", "e OK ENABLE completed")

	b := newClient(t, s)
	b.do("l", "LOGIN alice secret")
	wantLines(t, "ENABLE QRESYNC", b.do("e", "ENABLE QRESYNC"), "* ENABLED QRESYNC", "e OK ENABLE completed")
	// QRESYNC implied CONDSTORE: HIGHESTMODSEQ in SELECT, MODSEQ with FLAGS.
	sel := b.do("s", "SELECT INBOX")
	wantLines(t, "SELECT", linesFrom(sel, "* OK [HIGHESTMODSEQ"), "* OK [HIGHESTMODSEQ 4] Highest", "s OK [READ-WRITE] SELECT completed")
	// With QRESYNC every FETCH response carries the UID (RFC 7162
	// section 3.2.4).
	wantLines(t, "FETCH", b.do("f", "FETCH 1 FLAGS"), `* 1 FETCH (UID 1 FLAGS (\Seen) MODSEQ (2))`, "f OK FETCH completed")

	// Plain session: no HIGHESTMODSEQ, no MODSEQ, until a command uses it.
	for _, enabling := range []struct{ cmd, first string }{
		{"FETCH 1 (MODSEQ)", "* 1 FETCH (MODSEQ (2))"},
		{"FETCH 1 (FLAGS) (CHANGEDSINCE 1)", `* 1 FETCH (FLAGS (\Seen) MODSEQ (2))`},
		{`STORE 2 (UNCHANGEDSINCE 100) +FLAGS.SILENT (\Draft)`, "* 2 FETCH (MODSEQ (5))"},
		{"SEARCH MODSEQ 1", "* SEARCH 1 2 3 (MODSEQ 4)"},
	} {
		be, _ := newFixture(t)
		c := newClient(t, testServer(be))
		c.do("l", "LOGIN alice secret")
		if l := linesFrom(c.do("s", "SELECT INBOX"), "* OK [HIGHESTMODSEQ"); l != nil {
			t.Fatalf("SELECT without CONDSTORE sent %q", l)
		}
		wantLines(t, "FETCH before", c.do("f", "FETCH 1 FLAGS"), `* 1 FETCH (FLAGS (\Seen))`, "f OK FETCH completed")
		got := c.do("x", enabling.cmd)
		if len(got) < 2 || got[0] != "* OK [HIGHESTMODSEQ 4] Highest" || got[1] != enabling.first {
			t.Fatalf("%s: got %q, want HIGHESTMODSEQ then %q", enabling.cmd, got, enabling.first)
		}
		got = c.do("f", "FETCH 1 FLAGS")
		if !strings.Contains(got[0], "MODSEQ (") {
			t.Fatalf("after %s, FETCH FLAGS without MODSEQ: %q", enabling.cmd, got)
		}
	}

	// SELECT (CONDSTORE) and STATUS (HIGHESTMODSEQ).
	c := newClient(t, testServer(be))
	c.do("l", "LOGIN alice secret")
	wantLines(t, "STATUS", c.do("t", "STATUS INBOX (MESSAGES HIGHESTMODSEQ)"), `* STATUS "INBOX" (MESSAGES 3 HIGHESTMODSEQ 4)`, "t OK STATUS completed")
	sel = c.do("s", "EXAMINE INBOX (CONDSTORE)")
	wantLines(t, "EXAMINE (CONDSTORE)", linesFrom(sel, "* OK [HIGHESTMODSEQ"), "* OK [HIGHESTMODSEQ 4] Highest", "s OK [READ-ONLY] EXAMINE completed")

	// SELECT (QRESYNC ...) before ENABLE QRESYNC is BAD.
	got := c.do("q", "SELECT INBOX (QRESYNC (2 1))")
	if !strings.HasPrefix(got[len(got)-1], "q BAD") {
		t.Fatalf("SELECT QRESYNC without ENABLE: %q", got)
	}
}

// TestConditionalStore checks STORE (UNCHANGEDSINCE): the messages changed
// since are left alone and named in MODIFIED (sequence numbers for STORE,
// UIDs for UID STORE), the others get one new mod-sequence, and their
// FETCH responses carry MODSEQ, .SILENT included (RFC 7162 section 3.1.3).
func TestConditionalStore(t *testing.T) {
	be, _ := newFixture(t)
	s := testServer(be)
	a, b := newClient(t, s), newClient(t, s)
	for _, c := range []*client{a, b} {
		c.do("l", "LOGIN alice secret")
		c.do("e", "ENABLE CONDSTORE")
		c.do("s", "SELECT INBOX")
	}
	wantLines(t, "STORE", a.do("a1", `STORE 1 (UNCHANGEDSINCE 2) +FLAGS (\Flagged)`),
		`* 1 FETCH (FLAGS (\Seen \Flagged) MODSEQ (5))`, "a1 OK STORE completed")
	// b still thinks message 1 is at 2: its conditional store fails
	// there and succeeds on 2.
	wantLines(t, "STORE b", b.do("b1", `STORE 1:2 (UNCHANGEDSINCE 3) -FLAGS (\Seen)`),
		`* 2 FETCH (FLAGS () MODSEQ (3))`, `* 1 FETCH (UID 1 FLAGS (\Seen \Flagged) MODSEQ (5))`, "b1 OK [MODIFIED 1] STORE completed")
	wantLines(t, "UID STORE", b.do("b2", `UID STORE 1:3 (UNCHANGEDSINCE 4) +FLAGS.SILENT (\Answered)`),
		"* 2 FETCH (UID 2 MODSEQ (6))", "* 3 FETCH (UID 3 MODSEQ (6))", "b2 OK [MODIFIED 1] UID STORE completed")
	wantLines(t, "a NOOP", a.do("a2", "NOOP"),
		`* 2 FETCH (UID 2 FLAGS (\Answered) MODSEQ (6))`, `* 3 FETCH (UID 3 FLAGS (\Answered) MODSEQ (6))`, "a2 OK NOOP completed")
	// UNCHANGEDSINCE 0 fails for every message.
	wantLines(t, "UNCHANGEDSINCE 0", a.do("a3", `STORE 1:3 (UNCHANGEDSINCE 0) +FLAGS (\Draft)`), "a3 OK [MODIFIED 1:3] STORE completed")
	for _, bad := range []string{"STORE 1 (UNCHANGEDSINCE) +FLAGS (x)", "STORE 1 (UNCHANGEDSINCE 99999999999999999999) +FLAGS (x)",
		"STORE 1 (FOO 1) +FLAGS (x)", "STORE 1 (UNCHANGEDSINCE 1 UNCHANGEDSINCE 2) +FLAGS (x)"} {
		got := a.do("z", bad)
		if !strings.HasPrefix(got[len(got)-1], "z BAD") {
			t.Fatalf("%s: %q", bad, got)
		}
	}
}

// TestSearchModSeq checks the MODSEQ search key, with and without the
// entry name and type, and the (MODSEQ n) of the result: the highest
// mod-sequence of the messages found (RFC 7162 section 3.1.5).
func TestSearchModSeq(t *testing.T) {
	be, _ := newFixture(t)
	a := newClient(t, testServer(be))
	a.do("l", "LOGIN alice secret")
	a.do("s", "SELECT INBOX (CONDSTORE)")
	a.do("st", `STORE 2 +FLAGS.SILENT (\Flagged)`)
	wantLines(t, "SEARCH", a.do("a", "SEARCH MODSEQ 4"), "* SEARCH 2 3 (MODSEQ 5)", "a OK SEARCH completed")
	wantLines(t, "SEARCH entry", a.do("a", `SEARCH MODSEQ "/flags/\\flagged" all 5`), "* SEARCH 2 (MODSEQ 5)", "a OK SEARCH completed")
	wantLines(t, "SEARCH none", a.do("a", "SEARCH MODSEQ 6"), "* SEARCH", "a OK SEARCH completed")
	wantLines(t, "SEARCH no key", a.do("a", "SEARCH SEEN"), "* SEARCH 1", "a OK SEARCH completed")
	wantLines(t, "ESEARCH", a.do("a", "UID SEARCH RETURN (ALL COUNT) MODSEQ 2"), `* ESEARCH (TAG "a") UID ALL 1:3 COUNT 3 MODSEQ 5`, "a OK UID SEARCH completed")
	for _, bad := range []string{`SEARCH MODSEQ "/flags/" all 5`, `SEARCH MODSEQ "/x/\\seen" all 5`, `SEARCH MODSEQ "/flags/\\seen" none 5`, "SEARCH MODSEQ", "SEARCH MODSEQ x"} {
		got := a.do("z", bad)
		if !strings.HasPrefix(got[len(got)-1], "z BAD") {
			t.Fatalf("%s: %q", bad, got)
		}
	}
}

// TestQresync checks QRESYNC (RFC 7162 section 3.2): unsolicited VANISHED
// instead of EXPUNGE, after a command and during IDLE, the HIGHESTMODSEQ
// of the tagged OK of EXPUNGE, UID FETCH (CHANGEDSINCE VANISHED) and
// SELECT (QRESYNC ...) with and without known UIDs, after another
// session's changes and a CLOSE that expunged silently.
func TestQresync(t *testing.T) {
	be, u := newFixture(t)
	s := testServer(be)
	a, b := newClient(t, s), newClient(t, s)
	for _, c := range []*client{a, b} {
		c.do("l", "LOGIN alice secret")
		c.do("e", "ENABLE QRESYNC")
		c.do("s", "SELECT INBOX")
	}
	// Mod-sequences: messages 2, 3, 4 (HIGHESTMODSEQ 4).
	wantLines(t, "STORE", a.do("a1", `STORE 1 +FLAGS.SILENT (\Deleted)`), "* 1 FETCH (UID 1 MODSEQ (5))", "a1 OK STORE completed")
	wantLines(t, "EXPUNGE", a.do("a2", "EXPUNGE"), "* VANISHED 1", "a2 OK [HIGHESTMODSEQ 6] EXPUNGE completed")
	b.send("b1 IDLE\r\n")
	expectPrefix(t, b.line(), "+ ")
	if l := b.line(); l != "* VANISHED 1" {
		t.Fatalf("IDLE: %q, want * VANISHED 1", l)
	}
	b.send("DONE\r\n")
	wantLines(t, "IDLE end", b.until("b1"), "b1 OK [HIGHESTMODSEQ 6] IDLE completed")

	// A client that knew everything at 4 and UIDs 1:3.
	a.do("a3", `STORE 1 +FLAGS.SILENT (\Flagged)`) // UID 2: 7
	if _, err := u.Deliver("INBOX", []byte(msgPlain), nil, testDate); err != nil {
		t.Fatal(err) // UID 4, modseq 8
	}
	a.do("a4", "NOOP")
	c := newClient(t, s)
	c.do("l", "LOGIN alice secret")
	c.do("e", "ENABLE QRESYNC")
	sel := c.do("c1", "SELECT INBOX (QRESYNC (2 4 1:3))")
	wantLines(t, "SELECT QRESYNC", linesFrom(sel, "* OK [HIGHESTMODSEQ"), "* OK [HIGHESTMODSEQ 8] Highest",
		"* VANISHED (EARLIER) 1", `* 1 FETCH (UID 2 FLAGS (\Flagged) MODSEQ (7))`, "c1 OK [READ-WRITE] SELECT completed")
	// Without known UIDs, the new message too; the previous mailbox is
	// CLOSED first.
	sel = c.do("c2", "EXAMINE INBOX (QRESYNC (2 4))")
	if sel[0] != "* OK [CLOSED] Previous mailbox closed" {
		t.Fatalf("no CLOSED: %q", sel)
	}
	wantLines(t, "EXAMINE QRESYNC", linesFrom(sel, "* OK [HIGHESTMODSEQ"), "* OK [HIGHESTMODSEQ 8] Highest",
		"* VANISHED (EARLIER) 1", `* 1 FETCH (UID 2 FLAGS (\Flagged) MODSEQ (7))`, `* 3 FETCH (UID 4 FLAGS () MODSEQ (8))`, "c2 OK [READ-ONLY] EXAMINE completed")
	// With seq-match-data, and a wrong UIDVALIDITY: plain SELECT.
	sel = c.do("c3", "SELECT INBOX (QRESYNC (2 4 1:3 (1:2 1:2)))")
	if l := linesFrom(sel, "* OK [HIGHESTMODSEQ"); len(l) != 4 {
		t.Fatalf("SELECT with seq-match-data: %q", l)
	}
	sel = c.do("c4", "SELECT INBOX (QRESYNC (99 4))")
	wantLines(t, "wrong UIDVALIDITY", linesFrom(sel, "* OK [HIGHESTMODSEQ"), "* OK [HIGHESTMODSEQ 8] Highest", "c4 OK [READ-WRITE] SELECT completed")

	// UID FETCH (CHANGEDSINCE VANISHED), within the UID set only.
	wantLines(t, "UID FETCH VANISHED", c.do("c5", "UID FETCH 1:3 (FLAGS) (CHANGEDSINCE 4 VANISHED)"),
		"* VANISHED (EARLIER) 1", `* 1 FETCH (UID 2 FLAGS (\Flagged) MODSEQ (7))`, "c5 OK UID FETCH completed")
	wantLines(t, "UID FETCH VANISHED none", c.do("c6", "UID FETCH 2:* (FLAGS) (CHANGEDSINCE 7 VANISHED)"),
		`* 3 FETCH (UID 4 FLAGS () MODSEQ (8))`, "c6 OK UID FETCH completed")
	for _, bad := range []string{"FETCH 1:* (FLAGS) (CHANGEDSINCE 4 VANISHED)", "UID FETCH 1:* (FLAGS) (VANISHED)", "UID FETCH 1:* FLAGS (CHANGEDSINCE)"} {
		got := c.do("z", bad)
		if !strings.HasPrefix(got[len(got)-1], "z BAD") {
			t.Fatalf("%s: %q", bad, got)
		}
	}

	// CLOSE expunges without VANISHED; the expunge has its mod-sequence.
	c.do("c7", `STORE 3 +FLAGS.SILENT (\Deleted)`) // 9
	wantLines(t, "CLOSE", c.do("c8", "CLOSE"), "c8 OK CLOSE completed")
	sel = c.do("c9", "SELECT INBOX (QRESYNC (2 8 1:4))")
	wantLines(t, "after CLOSE", linesFrom(sel, "* OK [HIGHESTMODSEQ"), "* OK [HIGHESTMODSEQ 10] Highest",
		"* VANISHED (EARLIER) 4", "c9 OK [READ-WRITE] SELECT completed")
	wantLines(t, "UNSELECT", c.do("c10", "UNSELECT"), "c10 OK UNSELECT completed")
}

// noModSeqUser is a store whose mailboxes keep no mod-sequences: its
// Mailbox hides imapmem's MailboxModSeqs and reports no HIGHESTMODSEQ.
type noModSeqUser struct{ imap.User }

type noModSeqMailbox struct{ imap.Mailbox }

func (u noModSeqUser) Status(ctx context.Context, name string) (imap.MailboxStatus, error) {
	st, err := u.User.Status(ctx, name)
	st.HighestModSeq = 0
	return st, err
}

func (u noModSeqUser) Select(ctx context.Context, name string, readOnly bool) (imap.Mailbox, error) {
	mb, err := u.User.Select(ctx, name, readOnly)
	if err != nil {
		return nil, err
	}
	return noModSeqMailbox{mb}, nil
}

func (m noModSeqMailbox) Status(ctx context.Context) (imap.MailboxStatus, error) {
	st, err := m.Mailbox.Status(ctx)
	st.HighestModSeq = 0
	return st, err
}

func (m noModSeqMailbox) Messages(ctx context.Context) ([]imap.MessageInfo, error) {
	msgs, err := m.Mailbox.Messages(ctx)
	for i := range msgs {
		msgs[i].ModSeq = 0
	}
	return msgs, err
}

// TestNoModSeq checks a mailbox without persistent mod-sequences: SELECT
// answers NOMODSEQ, STATUS HIGHESTMODSEQ 0, and the commands that need
// mod-sequences are refused with BAD (RFC 7162 section 3.1.2); FETCH
// FLAGS carries no MODSEQ.
func TestNoModSeq(t *testing.T) {
	be, _ := newFixture(t)
	s := testServer(imap.BackendFunc(func(ctx context.Context, conn *imap.ConnInfo, identity string) (imap.User, error) {
		u, err := be.Open(ctx, conn, identity)
		if err != nil {
			return nil, err
		}
		return noModSeqUser{u}, nil
	}))
	a := newClient(t, s)
	a.do("l", "LOGIN alice secret")
	a.do("e", "ENABLE CONDSTORE")
	wantLines(t, "STATUS", a.do("t", "STATUS INBOX (HIGHESTMODSEQ)"), `* STATUS "INBOX" (HIGHESTMODSEQ 0)`, "t OK STATUS completed")
	sel := a.do("s", "SELECT INBOX")
	wantLines(t, "SELECT", linesFrom(sel, "* OK [NOMODSEQ"), "* OK [NOMODSEQ] No permanent modsequences", "s OK [READ-WRITE] SELECT completed")
	wantLines(t, "FETCH FLAGS", a.do("f", "FETCH 1 FLAGS"), `* 1 FETCH (FLAGS (\Seen))`, "f OK FETCH completed")
	for _, cmd := range []string{"FETCH 1 MODSEQ", "FETCH 1 FLAGS (CHANGEDSINCE 1)", `STORE 1 (UNCHANGEDSINCE 5) +FLAGS (\Seen)`, "SEARCH MODSEQ 1"} {
		got := a.do("z", cmd)
		if len(got) != 1 || !strings.HasPrefix(got[0], "z BAD") {
			t.Fatalf("%s in a NOMODSEQ mailbox: %q", cmd, got)
		}
	}
}

// TestQresyncHoldsFlagsBehindExpunge checks RFC 7162 section 3.2: once
// QRESYNC is enabled, a FETCH (which may not announce expunges) does not
// send another session's flag change with a MODSEQ above an expunge not
// yet announced; the next command that may announce it sends both, the
// FETCH numbered as the client knows the messages and then VANISHED, as
// without QRESYNC, and the tagged OK with the HIGHESTMODSEQ covering both.
func TestQresyncHoldsFlagsBehindExpunge(t *testing.T) {
	be, _ := newFixture(t)
	s := testServer(be)
	a, b := newClient(t, s), newClient(t, s)
	for _, c := range []*client{a, b} {
		c.do("l", "LOGIN alice secret")
		c.do("e", "ENABLE QRESYNC")
		c.do("s", "SELECT INBOX")
	}
	a.do("a1", `STORE 1 +FLAGS.SILENT (\Deleted)`)
	a.do("a2", "EXPUNGE")
	a.do("a3", `STORE 2 +FLAGS.SILENT (\Flagged)`) // UID 3, after the expunge
	wantLines(t, "FETCH", b.do("b1", "FETCH 1 (UID)"), "* 1 FETCH (UID 1)", "b1 OK FETCH completed")
	wantLines(t, "NOOP", b.do("b2", "NOOP"), `* 3 FETCH (UID 3 FLAGS (\Flagged) MODSEQ (7))`, "* VANISHED 1", "b2 OK [HIGHESTMODSEQ 7] NOOP completed")
}

// TestQresyncExpungeMemoryBounded checks what SELECT (QRESYNC) answers
// once the mailbox forgot the older expunges (imapmem keeps the last
// imapmem.MaxExpunged/2 to MaxExpunged): every UID of the known set that
// does not exist, more than needed, as RFC 7162 section 3.2.5.2 allows;
// from a mod-sequence it still covers, exactly the UIDs expunged since.
func TestQresyncExpungeMemoryBounded(t *testing.T) {
	be, u := newFixture(t)
	for range imapmem.MaxExpunged + 2 {
		if _, err := u.Deliver("INBOX", []byte("Subject: x\r\n\r\nx\r\n"), nil, testDate); err != nil {
			t.Fatal(err)
		}
	}
	last := 3 + imapmem.MaxExpunged + 2
	s := testServer(be)
	a := newClient(t, s)
	a.do("l", "LOGIN alice secret")
	a.do("e", "ENABLE QRESYNC")
	a.do("s", "SELECT INBOX")
	a.do("a1", `STORE 1 +FLAGS.SILENT (\Deleted)`)
	h0 := highestOf(t, a.do("a2", "EXPUNGE"))
	a.do("a3", fmt.Sprintf(`UID STORE 4:%d +FLAGS.SILENT (\Deleted)`, last))
	h1 := highestOf(t, a.do("a4", "EXPUNGE"))
	a.do("a5", `STORE 1 +FLAGS.SILENT (\Deleted)`) // UID 2
	a.do("a6", "EXPUNGE")

	b := newClient(t, s)
	b.do("l", "LOGIN alice secret")
	b.do("e", "ENABLE QRESYNC")
	sel := b.do("s", fmt.Sprintf("SELECT INBOX (QRESYNC (2 %d))", h0))
	mustContain(t, sel, fmt.Sprintf("* VANISHED (EARLIER) 1:2,4:%d", last))
	// From h1 the mailbox remembers: only UID 2.
	sel = b.do("s", fmt.Sprintf("SELECT INBOX (QRESYNC (2 %d))", h1))
	mustContain(t, sel, "* VANISHED (EARLIER) 2")
}

var reHighest = regexp.MustCompile(`\[HIGHESTMODSEQ (\d+)\]`)

// highestOf returns the HIGHESTMODSEQ of a response.
func highestOf(t *testing.T, lines []string) uint64 {
	t.Helper()
	for _, l := range lines {
		if m := reHighest.FindStringSubmatch(l); m != nil {
			n, _ := strconv.ParseUint(m[1], 10, 64)
			return n
		}
	}
	t.Fatalf("no HIGHESTMODSEQ in %q", lines)
	return 0
}

func mustContain(t *testing.T, lines []string, want string) {
	t.Helper()
	if !slices.Contains(lines, want) {
		t.Fatalf("%q not in %q", want, lines)
	}
}
