package imap_test

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// validity returns the UIDVALIDITY of a mailbox as cl's STATUS gives it.
func validity(t *testing.T, cl *client, name string) string {
	t.Helper()
	lines := cl.do("v", "STATUS "+name+" (UIDVALIDITY)")
	m := regexp.MustCompile(`UIDVALIDITY (\d+)`).FindStringSubmatch(lines[0])
	if m == nil {
		t.Fatalf("STATUS: %q", lines)
	}
	return m[1]
}

// notifyPair returns two logged-in clients: b to set NOTIFY, a to make
// changes.
func notifyPair(t *testing.T) (a, b *client) {
	be, _ := newFixture(t)
	s := testServer(be)
	a, b = newClient(t, s), newClient(t, s)
	a.do("l", "LOGIN alice secret")
	b.do("l", "LOGIN alice secret")
	return a, b
}

func wantLine(t *testing.T, cl *client, want string) {
	t.Helper()
	if got := cl.line(); got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

// TestNotifyStatusBetweenCommands checks RFC 5465 sections 5.2 and 5.3:
// a message added to or expunged from a mailbox other than the selected
// one is told with STATUS, unsolicited, while the client sends no command.
func TestNotifyStatusBetweenCommands(t *testing.T) {
	a, b := notifyPair(t)
	v := validity(t, a, "Archive")
	if l := b.do("n", "NOTIFY SET (PERSONAL (MessageNew MessageExpunge))"); !slices.Equal(l, []string{"n OK NOTIFY completed"}) {
		t.Fatalf("NOTIFY: %q", l)
	}
	a.do("a1", "APPEND Archive {5+}\r\nhello")
	wantLine(t, b, "* STATUS \"Archive\" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY "+v+")")
	a.do("a2", "SELECT Archive")
	a.do("a3", `STORE 1 +FLAGS (\Deleted)`)
	a.do("a4", "EXPUNGE")
	wantLine(t, b, "* STATUS \"Archive\" (MESSAGES 0 UIDNEXT 2 UIDVALIDITY "+v+")")
	// NOTIFY NONE stops it.
	b.do("n2", "NOTIFY NONE")
	a.do("a5", "APPEND Archive {5+}\r\nhello")
	if l := b.do("b1", "NOOP"); !slices.Equal(l, []string{"b1 OK NOOP completed"}) {
		t.Fatalf("after NOTIFY NONE: %q", l)
	}
}

// TestNotifyStatusAtSet checks the STATUS indicator of NOTIFY SET: the
// STATUS of each mailbox matched comes before the tagged OK; with
// CONDSTORE enabled it carries HIGHESTMODSEQ.
func TestNotifyStatusAtSet(t *testing.T) {
	a, b := notifyPair(t)
	va, vs := validity(t, a, "Archive"), validity(t, a, "Sent")
	got := b.do("n", "NOTIFY SET STATUS (MAILBOXES (Archive Sent) (MessageNew MessageExpunge))")
	want := []string{"* STATUS \"Archive\" (MESSAGES 0 UIDNEXT 1 UIDVALIDITY " + va + ")",
		"* STATUS \"Sent\" (MESSAGES 0 UIDNEXT 1 UIDVALIDITY " + vs + ")", "n OK NOTIFY completed"}
	if !slices.Equal(got, want) {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	b.do("e", "ENABLE CONDSTORE")
	got = b.do("n2", "NOTIFY SET STATUS (MAILBOXES Sent (MessageNew MessageExpunge FlagChange))")
	if len(got) != 2 || !regexp.MustCompile(`^\* STATUS "Sent" \(MESSAGES 0 UIDNEXT 1 UIDVALIDITY \d+ HIGHESTMODSEQ \d+\)$`).MatchString(got[0]) {
		t.Fatalf("with CONDSTORE: %q", got)
	}
}

// TestNotifyFilters checks which mailboxes each filter of RFC 5465
// section 6 matches: a change in a mailbox it does not match sends
// nothing, so the first line b reads is the matched one's.
func TestNotifyFilters(t *testing.T) {
	for _, tc := range []struct {
		filter      string
		miss, match string
	}{
		{"INBOXES", "Archive", "INBOX"},
		{"PERSONAL", "", "Trash"},
		{"SUBSCRIBED", "Archive", "Sent"}, // Sent is subscribed below
		{"SUBTREE Work", "Archive", "Work/Projects"},
		{"SUBTREE (Trash Work)", "Sent", "Work"},
		{"MAILBOXES Sent", "Trash", "Sent"},
		{"MAILBOXES (Sent Trash)", "Archive", "Trash"},
	} {
		t.Run(tc.filter, func(t *testing.T) {
			a, b := notifyPair(t)
			a.do("c", "CREATE Work")
			a.do("s", "SUBSCRIBE Sent")
			v := validity(t, a, tc.match)
			expectPrefix(t, last(b.do("n", "NOTIFY SET ("+tc.filter+" (MessageNew MessageExpunge))")), "n OK")
			if tc.miss != "" {
				a.do("a1", "APPEND "+tc.miss+" {5+}\r\nhello")
			}
			lines := a.do("a2", "STATUS "+tc.match+" (MESSAGES UIDNEXT)")
			want := strings.Replace(lines[0], ")", " UIDVALIDITY "+v+")", 1)
			want = regexp.MustCompile(`MESSAGES (\d+) UIDNEXT (\d+)`).ReplaceAllStringFunc(want, func(s string) string {
				var m, u int
				for i, f := range strings.Fields(s) {
					if i == 1 {
						m, _ = strconv.Atoi(f)
					}
					if i == 3 {
						u, _ = strconv.Atoi(f)
					}
				}
				return "MESSAGES " + strconv.Itoa(m+1) + " UIDNEXT " + strconv.Itoa(u+1)
			})
			a.do("a3", "APPEND "+tc.match+" {5+}\r\nhello")
			wantLine(t, b, want)
		})
	}
}

// TestNotifyMailboxName checks RFC 5465 sections 5.4 and 5.5: creation,
// rename (with OLDNAME), deletion (\NonExistent) and subscription changes
// are told with LIST.
func TestNotifyMailboxName(t *testing.T) {
	a, b := notifyPair(t)
	expectPrefix(t, last(b.do("n", "NOTIFY SET (PERSONAL (MailboxName SubscriptionChange))")), "n OK")
	a.do("a1", "CREATE Lists")
	wantLine(t, b, `* LIST () "/" "Lists"`)
	a.do("a2", "RENAME Lists Groups")
	wantLine(t, b, `* LIST () "/" "Groups" ("OLDNAME" ("Lists"))`)
	a.do("a3", "SUBSCRIBE Groups")
	wantLine(t, b, `* LIST (\Subscribed) "/" "Groups"`)
	a.do("a4", "UNSUBSCRIBE Groups")
	wantLine(t, b, `* LIST () "/" "Groups"`)
	a.do("a5", "DELETE Groups")
	wantLine(t, b, `* LIST (\NonExistent) "/" "Groups"`)
	// Without MailboxName, nothing.
	b.do("n2", "NOTIFY SET (PERSONAL (SubscriptionChange))")
	a.do("a6", "CREATE Other")
	a.do("a7", "SUBSCRIBE Other")
	wantLine(t, b, `* LIST (\Subscribed) "/" "Other"`)
}

// TestNotifySelected checks the SELECTED filter (RFC 5465 section 5):
// new messages come as EXISTS with MessageNew's FETCH, flag changes as
// FETCH and expunges as EXPUNGE, all unsolicited between commands.
func TestNotifySelected(t *testing.T) {
	a, b := notifyPair(t)
	b.do("e", "ENABLE IMAP4rev2") // no RECENT, which a or b may claim
	b.do("s", "SELECT INBOX")
	a.do("s", "SELECT INBOX")
	expectPrefix(t, last(b.do("n", "NOTIFY SET (SELECTED (MessageNew (UID FLAGS RFC822.SIZE) MessageExpunge FlagChange))")), "n OK")
	a.do("a1", "APPEND INBOX (\\Draft) {5+}\r\nhello")
	wantLine(t, b, "* 4 EXISTS")
	wantLine(t, b, `* 4 FETCH (UID 4 FLAGS (\Draft) RFC822.SIZE 5)`)
	a.do("a2", `STORE 2 +FLAGS.SILENT (\Flagged)`)
	wantLine(t, b, `* 2 FETCH (UID 2 FLAGS (\Flagged))`)
	a.do("a3", `STORE 1 +FLAGS.SILENT (\Deleted)`)
	wantLine(t, b, `* 1 FETCH (UID 1 FLAGS (\Seen \Deleted))`)
	a.do("a4", "EXPUNGE")
	wantLine(t, b, "* 1 EXPUNGE")
	// Another mailbox is not watched by SELECTED.
	a.do("a5", "APPEND Archive {5+}\r\nhello")
	if l := b.do("b1", "NOOP"); !slices.Equal(l, []string{"b1 OK NOOP completed"}) {
		t.Fatalf("NOOP: %q", l)
	}
}

// TestNotifySelectedDelayed checks SELECTED-DELAYED: between commands new
// messages are told, expunges wait for a command that may carry them
// (RFC 5465 section 5.3, RFC 9051 section 7.5.1): not FETCH, but NOOP.
func TestNotifySelectedDelayed(t *testing.T) {
	a, b := notifyPair(t)
	b.do("e", "ENABLE IMAP4rev2") // no RECENT, which a or b may claim
	b.do("s", "SELECT INBOX")
	a.do("s", "SELECT INBOX")
	expectPrefix(t, last(b.do("n", "NOTIFY SET (SELECTED-DELAYED (MessageNew MessageExpunge))")), "n OK")
	a.do("a1", `STORE 1 +FLAGS.SILENT (\Deleted)`)
	wantLine(t, b, `* 1 FETCH (UID 1 FLAGS (\Seen \Deleted))`)
	a.do("a2", "EXPUNGE")
	a.do("a3", "APPEND INBOX {5+}\r\nhello")
	wantLine(t, b, "* 4 EXISTS") // the expunged message still counts
	lines := b.do("b1", "FETCH 1 UID")
	if !slices.Equal(lines, []string{"* 1 FETCH (UID 1)", "b1 OK FETCH completed"}) {
		t.Fatalf("FETCH: %q", lines)
	}
	lines = b.do("b2", "NOOP")
	if !slices.Equal(lines, []string{"* 1 EXPUNGE", "b2 OK NOOP completed"}) {
		t.Fatalf("NOOP: %q", lines)
	}
	// IDLE may carry expunges: they come as they happen.
	b.send("i IDLE\r\n")
	expectPrefix(t, b.line(), "+ ")
	a.do("a4", `STORE 1 +FLAGS.SILENT (\Deleted)`)
	wantLine(t, b, `* 1 FETCH (UID 2 FLAGS (\Deleted))`)
	a.do("a5", "EXPUNGE")
	wantLine(t, b, "* 1 EXPUNGE")
	b.send("DONE\r\n")
	expectPrefix(t, last(b.until("i")), "i OK")
}

// TestNotifyDuringIdle checks that NOTIFY's STATUS arrives during IDLE
// (RFC 5465 section 4), and the selected mailbox's updates too.
func TestNotifyDuringIdle(t *testing.T) {
	a, b := notifyPair(t)
	v := validity(t, a, "Trash")
	b.do("s", "SELECT INBOX")
	expectPrefix(t, last(b.do("n", "NOTIFY SET (SELECTED (MessageNew MessageExpunge)) (PERSONAL (MessageNew MessageExpunge))")), "n OK")
	b.send("i IDLE\r\n")
	expectPrefix(t, b.line(), "+ ")
	a.do("a1", "APPEND Trash {5+}\r\nhello")
	wantLine(t, b, "* STATUS \"Trash\" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY "+v+")")
	a.do("a2", "APPEND INBOX {5+}\r\nhello")
	wantLine(t, b, "* 4 EXISTS")
	wantLine(t, b, "* 1 RECENT")
	b.send("DONE\r\n")
	if l := b.until("i"); !slices.Equal(l, []string{"i OK IDLE completed"}) {
		t.Fatalf("after DONE: %q", l)
	}
}

// TestNotifyErrors checks the errors of RFC 5465 sections 3.1 and 6.
func TestNotifyErrors(t *testing.T) {
	_, b := notifyPair(t)
	for _, tc := range []struct{ args, want string }{
		{"SET (PERSONAL (MessageNew))", "x BAD"},
		{"SET (PERSONAL (MessageExpunge))", "x BAD"},
		{"SET (PERSONAL (FlagChange))", "x BAD"},
		{"SET (PERSONAL (MessageNew (UID) MessageExpunge))", "x BAD"},
		{"SET (SELECTED (MessageNew MessageExpunge)) (SELECTED-DELAYED (MessageNew MessageExpunge))", "x BAD"},
		{"SET (PERSONAL (AnnotationChange))", "x NO [BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)]"},
		{"SET (PERSONAL (MailboxMetadataChange))", "x NO [BADEVENT"},
		{"SET (PERSONAL (ServerMetadataChange))", "x NO [BADEVENT"},
		{"SET (PERSONAL (Frobnicate))", "x NO [BADEVENT"},
		{"SET (NOWHERE (MessageNew MessageExpunge))", "x BAD"},
		{"SET (PERSONAL (MessageNew MessageExpunge)", "x BAD"},
		{"SET", "x BAD"},
		{"SET STATUS", "x BAD"},
		{"SET FOO (PERSONAL NONE)", "x BAD"},
		{"SET (SUBTREE (MailboxName))", "x BAD"},
		{"SET (SELECTED (MessageNew (BODY[) MessageExpunge))", "x BAD"},
		{"MAYBE", "x BAD"},
		{"SET (PERSONAL NONE)", "x OK"},
		{"SET (personal (messagenew messageexpunge)) (inboxes none)", "x OK"},
		{"NONE", "x OK"},
	} {
		expectPrefix(t, last(b.do("x", "NOTIFY "+tc.args)), tc.want)
	}
}

// TestNotifyOverflow checks RFC 5465 section 5.8's NOTIFICATIONOVERFLOW:
// while the connection is busy in a command (an APPEND waiting for its
// literal), more changes pile up than MaxNotifyMailboxes; the client then
// gets the overflow and NOTIFY is off.
func TestNotifyOverflow(t *testing.T) {
	be, _ := newFixture(t)
	s := testServer(be)
	s.MaxNotifyMailboxes = 2
	a, b := newClient(t, s), newClient(t, s)
	a.do("l", "LOGIN alice secret")
	b.do("l", "LOGIN alice secret")
	expectPrefix(t, last(b.do("n", "NOTIFY SET (PERSONAL (MailboxName))")), "n OK")
	b.send("b1 APPEND INBOX {5}\r\n")
	expectPrefix(t, b.line(), "+ ")
	for _, name := range []string{"M1", "M2", "M3"} {
		a.do("c", "CREATE "+name)
	}
	b.send("hello\r\n")
	expectPrefix(t, b.line(), "b1 OK")
	expectPrefix(t, b.line(), "* OK [NOTIFICATIONOVERFLOW]")
	a.do("c", "CREATE M4")
	if l := b.do("b2", "NOOP"); !slices.Equal(l, []string{"b2 OK NOOP completed"}) {
		t.Fatalf("after overflow: %q", l)
	}
	// Below the limit nothing is lost.
	expectPrefix(t, last(b.do("n", "NOTIFY SET (PERSONAL (MailboxName))")), "n OK")
	b.send("b3 APPEND INBOX {5}\r\n")
	expectPrefix(t, b.line(), "+ ")
	a.do("c", "CREATE M5")
	a.do("c", "CREATE M6")
	b.send("hello\r\n")
	expectPrefix(t, b.line(), "b3 OK")
	wantLine(t, b, `* LIST () "/" "M5"`)
	wantLine(t, b, `* LIST () "/" "M6"`)
}

// TestNotifyWatchLimit checks that NOTIFY SET watching more mailboxes
// than MaxNotifyMailboxes is refused with NO [LIMIT] and changes nothing.
func TestNotifyWatchLimit(t *testing.T) {
	be, _ := newFixture(t)
	s := testServer(be)
	s.MaxNotifyMailboxes = 3
	b := newClient(t, s)
	b.do("l", "LOGIN alice secret")
	expectPrefix(t, last(b.do("n", "NOTIFY SET (PERSONAL (MessageNew MessageExpunge))")), "n NO [LIMIT]")
	expectPrefix(t, last(b.do("n", "NOTIFY SET (MAILBOXES (INBOX Sent Trash) (MessageNew MessageExpunge))")), "n OK")
	// A NOTIFY SET refused leaves the one before in effect.
	expectPrefix(t, last(b.do("n", "NOTIFY SET (PERSONAL (MessageNew MessageExpunge))")), "n NO [LIMIT]")
	a := newClient(t, s)
	a.do("l", "LOGIN alice secret")
	a.do("a", "APPEND Sent {5+}\r\nhello")
	expectPrefix(t, b.line(), `* STATUS "Sent" (MESSAGES 1 `)
}

// TestNotifyCapability checks that NOTIFY is announced.
func TestNotifyCapability(t *testing.T) {
	_, b := notifyPair(t)
	if l := b.do("c", "CAPABILITY"); !strings.Contains(" "+l[0]+" ", " NOTIFY ") {
		t.Fatalf("CAPABILITY: %q", l)
	}
}
