package imap_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestUpdatesNumberedAsTold checks RFC 9051 section 7.5.1: when another
// session changed flags and expunged, the FETCH responses carry the
// sequence numbers the client knows when it reads them, that is before
// the EXPUNGE responses that follow, as Dovecot sends them. Both after a
// command and during IDLE.
func TestUpdatesNumberedAsTold(t *testing.T) {
	be, _ := newFixture(t)
	s := testServer(be)
	a, b := newClient(t, s), newClient(t, s)
	for _, cl := range []*client{a, b} {
		cl.do("l", "LOGIN alice secret")
		cl.do("s", "SELECT INBOX")
	}
	a.do("a1", `STORE 3 +FLAGS.SILENT (\Flagged)`)
	a.do("a2", `STORE 1 +FLAGS.SILENT (\Deleted)`)
	a.do("a3", "EXPUNGE")
	got := b.do("b1", "NOOP")
	want := []string{`* 3 FETCH (UID 3 FLAGS (\Flagged))`, "* 1 EXPUNGE", "b1 OK NOOP completed"}
	if !slices.Equal(got, want) {
		t.Fatalf("NOOP:\n got  %q\n want %q", got, want)
	}

	// During IDLE: the update comes in one go when the flags change and
	// the expunge are seen together.
	a.do("a4", `STORE 2 +FLAGS.SILENT (\Answered)`)
	a.do("a5", `STORE 1 +FLAGS.SILENT (\Deleted)`)
	a.do("a6", "EXPUNGE")
	b.send("b2 IDLE\r\n")
	expectPrefix(t, b.line(), "+ ")
	b.send("DONE\r\n")
	got = b.until("b2")
	want = []string{`* 2 FETCH (UID 3 FLAGS (\Flagged \Answered))`, "* 1 EXPUNGE", "b2 OK IDLE completed"}
	if !slices.Equal(got, want) {
		t.Fatalf("IDLE:\n got  %q\n want %q", got, want)
	}
}

// TestSelectListOnlyForRev2 checks that the untagged LIST of RFC 9051
// section 6.3.2 goes only to a client that enabled IMAP4rev2: imaplib, an
// IMAP4rev1 client, took it for a LIST response of its own.
func TestSelectListOnlyForRev2(t *testing.T) {
	be, _ := newFixture(t)
	cl := newClient(t, testServer(be))
	cl.do("a", "LOGIN alice secret")
	for _, l := range cl.do("b", "SELECT INBOX") {
		if strings.HasPrefix(l, "* LIST") {
			t.Fatalf("IMAP4rev1 SELECT sent %q", l)
		}
	}
	cl.do("c", "ENABLE IMAP4rev2")
	if lines := cl.do("d", "SELECT INBOX"); !slices.Contains(lines, `* LIST () "/" "INBOX"`) {
		t.Fatalf("IMAP4rev2 SELECT: %q", lines)
	}
}

// TestStoreOnExpungedMessage checks that STORE on a message another
// session expunged, still in this session's view, is answered OK with the
// FETCH of its flags, as Dovecot answers (RFC 9051 section 6.4.6 allows
// OK or NO; clients take NO for a failure of the whole command).
func TestStoreOnExpungedMessage(t *testing.T) {
	be, _ := newFixture(t)
	s := testServer(be)
	a, b := newClient(t, s), newClient(t, s)
	for _, cl := range []*client{a, b} {
		cl.do("l", "LOGIN alice secret")
		cl.do("s", "SELECT INBOX")
	}
	b.do("b1", `STORE 2 +FLAGS.SILENT (\Deleted)`)
	b.do("b2", "EXPUNGE")
	a.do("a1", "FETCH 1:3 UID") // sees the expunge, may not announce it
	got := a.do("a2", `STORE 1:2 +FLAGS (\Answered)`)
	want := []string{`* 1 FETCH (FLAGS (\Seen \Answered))`, `* 2 FETCH (FLAGS (\Answered))`, "a2 OK STORE completed"}
	if !slices.Equal(got, want) {
		t.Fatalf("STORE:\n got  %q\n want %q", got, want)
	}
	if got := a.do("a3", "NOOP"); got[0] != "* 2 EXPUNGE" {
		t.Fatalf("NOOP: %q", got)
	}
}

// TestNewKeywordAnnounced checks RFC 9051 section 7.3.5: a keyword new to
// the mailbox is announced with FLAGS and PERMANENTFLAGS before the FETCH
// that shows it, to the session that stored it and to the others.
func TestNewKeywordAnnounced(t *testing.T) {
	be, _ := newFixture(t)
	s := testServer(be)
	a, b := newClient(t, s), newClient(t, s)
	for _, cl := range []*client{a, b} {
		cl.do("l", "LOGIN alice secret")
		cl.do("s", "SELECT INBOX")
	}
	flags := `* FLAGS (\Answered \Flagged \Deleted \Seen \Draft Project)`
	perm := `* OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft Project \*)] Flags permitted`
	got := b.do("b1", "STORE 2 +FLAGS (Project)")
	want := []string{flags, perm, "* 2 FETCH (FLAGS (Project))", "b1 OK STORE completed"}
	if !slices.Equal(got, want) {
		t.Fatalf("STORE:\n got  %q\n want %q", got, want)
	}
	got = a.do("a1", "NOOP")
	want = []string{flags, perm, "* 2 FETCH (UID 2 FLAGS (Project))", "a1 OK NOOP completed"}
	if !slices.Equal(got, want) {
		t.Fatalf("NOOP:\n got  %q\n want %q", got, want)
	}
	// Known now: not announced again.
	if got := b.do("b2", "STORE 3 +FLAGS (Project)"); len(got) != 2 {
		t.Fatalf("second STORE: %q", got)
	}
}

const msgNul = "From: a@example.org\r\nSubject: nul\r\nMIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=b\r\n\r\n" +
	"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\nab\x00cd\x00\r\n" +
	"--b\r\nContent-Type: text/plain\r\n\r\nplain\r\n--b--\r\n"

// TestFetchNulBytes checks RFC 9051 section 4.3: a literal holds no NUL.
// BODY sections send NUL as 0x80, as Dovecot does (same length, so the
// sizes of BODYSTRUCTURE and RFC822.SIZE stay right); only BINARY sends
// the bytes as they are, in a literal8.
func TestFetchNulBytes(t *testing.T) {
	be, u := newFixture(t)
	if _, err := u.Deliver("INBOX", []byte(msgNul), nil, testDate); err != nil {
		t.Fatal(err)
	}
	cl := newClient(t, testServer(be))
	cl.do("a", "LOGIN alice secret")
	cl.do("b", "SELECT INBOX")
	for _, tc := range []struct{ cmd, want string }{
		{"FETCH 4 BODY.PEEK[1]", "* 4 FETCH (BODY[1] {6}\r\nab\x80cd\x80)"},
		{"FETCH 4 BODY.PEEK[1]<1.3>", "* 4 FETCH (BODY[1]<1> {3}\r\nb\x80c)"},
		{"FETCH 4 BINARY.PEEK[1]", "* 4 FETCH (BINARY[1] ~{6}\r\nab\x00cd\x00)"},
		{"FETCH 4 BODY.PEEK[]", "* 4 FETCH (BODY[] {" + strconv.Itoa(len(msgNul)) + "}\r\n" + strings.ReplaceAll(msgNul, "\x00", "\x80") + ")"},
		{"FETCH 4 RFC822.TEXT", ""},
	} {
		cl.send("t " + tc.cmd + "\r\n")
		cl.c.SetReadDeadline(time.Now().Add(10 * time.Second))
		var b strings.Builder
		for {
			l, err := cl.r.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(l, "t ") {
				break
			}
			b.WriteString(l)
		}
		got := strings.TrimSuffix(b.String(), "\r\n")
		if strings.Contains(got, "\x00") && !strings.HasPrefix(tc.cmd, "FETCH 4 BINARY") {
			t.Errorf("%s: NUL in %q", tc.cmd, got)
		}
		if tc.want != "" && got != tc.want {
			t.Errorf("%s:\n got  %q\n want %q", tc.cmd, got, tc.want)
		}
	}
}

// TestRecentRev1 checks \Recent for IMAP4rev1 clients (RFC 3501 section
// 2.3.2): a new message is recent in the first session that sees it, with
// RECENT counts, the flag in FETCH and SEARCH RECENT and NEW; a session
// that enabled IMAP4rev2 neither sees nor claims it.
func TestRecentRev1(t *testing.T) {
	be, u := newFixture(t)
	s := testServer(be)
	a := newClient(t, s)
	a.do("l", "LOGIN alice secret")
	if got := a.do("s", "SELECT INBOX"); !slices.Contains(got, "* 0 RECENT") {
		t.Fatalf("SELECT: %q", got)
	}
	if _, err := u.Deliver("INBOX", []byte(msgPlain), nil, testDate); err != nil {
		t.Fatal(err)
	}
	want := []string{"* 4 EXISTS", "* 1 RECENT", "n OK NOOP completed"}
	if got := a.do("n", "NOOP"); !slices.Equal(got, want) {
		t.Fatalf("NOOP:\n got  %q\n want %q", got, want)
	}
	want = []string{`* 4 FETCH (FLAGS (\Recent))`, "f OK FETCH completed"}
	if got := a.do("f", "FETCH 4 FLAGS"); !slices.Equal(got, want) {
		t.Fatalf("FETCH:\n got  %q\n want %q", got, want)
	}
	for cmd, want := range map[string]string{"SEARCH RECENT": "* SEARCH 4", "SEARCH NEW": "* SEARCH 4", "SEARCH OLD": "* SEARCH 1 2 3"} {
		if got := a.do("q", cmd); got[0] != want {
			t.Errorf("%s: %q, want %q", cmd, got[0], want)
		}
	}
	// Claimed by a: not recent for b.
	b := newClient(t, s)
	b.do("l", "LOGIN alice secret")
	if got := b.do("s", "SELECT INBOX"); !slices.Contains(got, "* 0 RECENT") {
		t.Fatalf("second SELECT: %q", got)
	}
	// An IMAP4rev2 session leaves the next one to an IMAP4rev1 one.
	if _, err := u.Deliver("INBOX", []byte(msgPlain), nil, testDate); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, s)
	c.do("l", "LOGIN alice secret")
	c.do("e", "ENABLE IMAP4rev2")
	for _, l := range append(c.do("s", "SELECT INBOX"), c.do("f", "FETCH 1:* FLAGS")...) {
		if strings.Contains(l, "RECENT") || strings.Contains(l, `\Recent`) {
			t.Fatalf("IMAP4rev2 session got %q", l)
		}
	}
	d := newClient(t, s)
	d.do("l", "LOGIN alice secret")
	if got := d.do("s", "SELECT INBOX"); !slices.Contains(got, "* 1 RECENT") {
		t.Fatalf("SELECT after the IMAP4rev2 one: %q", got)
	}
	// RECENT goes with EXISTS only when the count changed, as Dovecot
	// sends it: d claims the next one, b is told of it without RECENT.
	if _, err := u.Deliver("INBOX", []byte(msgPlain), nil, testDate); err != nil {
		t.Fatal(err)
	}
	want = []string{"* 6 EXISTS", "* 2 RECENT", "n OK NOOP completed"}
	if got := d.do("n", "NOOP"); !slices.Equal(got, want) {
		t.Fatalf("NOOP of the claiming session:\n got  %q\n want %q", got, want)
	}
	want = []string{"* 6 EXISTS", "n OK NOOP completed"}
	if got := b.do("n", "NOOP"); !slices.Equal(got, want) {
		t.Fatalf("NOOP of another session:\n got  %q\n want %q", got, want)
	}
}
