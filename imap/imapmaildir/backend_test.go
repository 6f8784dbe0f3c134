package imapmaildir_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/maildir"
)

func TestSpecialFolders(t *testing.T) {
	f := newFixture(t, nil)
	c := f.dial(t, "alice")
	lines := c.ok(`LIST "" "*"`)
	for _, want := range []string{`(\Sent \HasNoChildren) "/" "Sent"`, `\Drafts`, `\Trash`, `\Junk`, `\Archive`, `"/" "INBOX"`} {
		mustHave(t, lines, want)
	}
	for _, d := range []string{".Sent", ".Drafts", ".Trash", ".Junk", ".Archive"} {
		if _, err := os.Stat(filepath.Join(f.root, "alice", d, "cur")); err != nil {
			t.Errorf("%s: %v", d, err)
		}
	}
	mustHave(t, c.ok(`LSUB "" "*"`), "Sent")
	// A client's own name is a plain folder; the attribute stays put.
	c.ok(`CREATE "Sent Items"`)
	lines = c.ok(`LIST "" "Sent*"`)
	mustHave(t, lines, `(\HasNoChildren) "/" "Sent Items"`)
	mustHave(t, lines, `\Sent \HasNoChildren) "/" "Sent"`)
	// CREATE-SPECIAL-USE.
	c.ok(`CREATE Outbox (USE (\Sent))`)
	mustHave(t, c.ok(`LIST "" Outbox`), `\Sent`)
	c.no(`CREATE Everything (USE (\All))`, "USEATTR")
	c.ok(`RENAME Outbox Outgoing`)
	mustHave(t, c.ok(`LIST "" Outgoing`), `\Sent`)
}

func TestAppendFetch(t *testing.T) {
	f := newFixture(t, nil)
	c := f.dial(t, "alice")
	status := c.append("INBOX", `\Seen $Forwarded`, "14-Mar-2024 15:09:26 +0100", testMsg)
	if !strings.Contains(status, "[APPENDUID ") || !strings.HasSuffix(strings.Fields(status)[3], "]") {
		t.Fatalf("APPEND: %s", status)
	}
	uidvalidity := strings.Fields(status)[2]
	c.append("INBOX", "", "", testMsg)
	lines := c.ok("SELECT INBOX")
	mustHave(t, lines, "2 EXISTS")
	mustHave(t, lines, "[UIDVALIDITY "+uidvalidity+"]")
	mustHave(t, lines, "[UIDNEXT 3]")
	lines = c.ok("UID FETCH 1:* (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)")
	mustHave(t, lines, `FLAGS (\Seen $Forwarded) INTERNALDATE "14-Mar-2024 14:09:26 +0000" RFC822.SIZE 155`)
	mustHave(t, lines, `"Hello"`)
	lines = c.ok("UID FETCH 2 BODY[]")
	mustHave(t, lines, "Hi Bob.")
	// On disk, as Dovecot and mutt read it.
	st := f.store(t, "alice")
	md, _ := st.Folder("INBOX")
	snap, err := md.Sync(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Messages) != 2 || snap.Messages[0].Flags != "S" || strings.Join(snap.Messages[0].Keywords, ",") != "$Forwarded" {
		t.Fatalf("on disk: %+v", snap.Messages)
	}
	fi, err := os.Stat(filepath.Join(md.Dir(), "cur", snap.Messages[0].Name))
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2024, 3, 14, 14, 9, 26, 0, time.UTC); !fi.ModTime().Equal(want) {
		t.Errorf("mtime %v, want %v", fi.ModTime(), want)
	}
}

func TestStoreFlagsAndKeywords(t *testing.T) {
	f := newFixture(t, nil)
	c := f.dial(t, "alice")
	c.append("INBOX", "", "", testMsg)
	c.ok("SELECT INBOX")
	lines := c.ok(`STORE 1 +FLAGS (\Flagged $Junk Custom)`)
	mustHave(t, lines, `FLAGS (\Flagged $Junk Custom \Recent)`)
	kw, err := os.ReadFile(filepath.Join(f.root, "alice", "dovecot-keywords"))
	if err != nil || string(kw) != "0 $Junk\n1 Custom\n" {
		t.Fatalf("dovecot-keywords %q, %v", kw, err)
	}
	names, _ := filepath.Glob(filepath.Join(f.root, "alice", "cur", "*:2,Fab"))
	if len(names) != 1 {
		t.Fatalf("no file with the flags Fab")
	}
	mustHave(t, c.ok("SELECT INBOX"), "FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Junk Custom)")
	c.ok(`STORE 1 -FLAGS (custom)`)
	mustHave(t, c.ok("FETCH 1 FLAGS"), `FLAGS (\Flagged $Junk)`)
	c.ok(`STORE 1 FLAGS (\Seen)`)
	mustHave(t, c.ok("FETCH 1 FLAGS"), `FLAGS (\Seen)`)
	// A second session sees the change.
	c2 := f.dial(t, "alice")
	c2.ok("SELECT INBOX")
	mustHave(t, c2.ok("FETCH 1 FLAGS"), `FLAGS (\Seen)`)
	c.ok(`STORE 1 +FLAGS (\Answered)`)
	mustHave(t, c2.ok("NOOP"), `FLAGS (\Seen \Answered)`)
}

func TestExpunge(t *testing.T) {
	f := newFixture(t, nil)
	c := f.dial(t, "alice")
	for range 4 {
		c.append("INBOX", "", "", testMsg)
	}
	c.ok("SELECT INBOX")
	c.ok(`STORE 1:3 +FLAGS.SILENT (\Deleted)`)
	lines := c.ok("UID EXPUNGE 2")
	mustHave(t, lines, "2 EXPUNGE")
	lines = c.ok("EXPUNGE")
	mustHave(t, lines, "1 EXPUNGE")
	mustHave(t, lines, "1 EXPUNGE")
	mustHave(t, c.ok("UID FETCH 1:* FLAGS"), "1 FETCH (UID 4 FLAGS (\\Recent))")
	st := f.store(t, "alice")
	md, _ := st.Folder("INBOX")
	snap, _ := md.Sync(context.Background(), nil)
	if len(snap.Messages) != 1 || snap.Messages[0].UID != 4 || snap.UIDNext != 5 {
		t.Fatalf("on disk: %+v", snap)
	}
}

func TestCopyMove(t *testing.T) {
	f := newFixture(t, nil)
	c := f.dial(t, "alice")
	for range 3 {
		c.append("INBOX", `\Seen`, "", testMsg)
	}
	c.ok("SELECT INBOX")
	c.ok(`STORE 2 +FLAGS (Important)`)
	lines := c.ok("COPY 1:2 Archive")
	if !has(lines, "[COPYUID ") || !has(lines, " 1:2 1:2]") {
		t.Fatalf("COPY: %q", lines)
	}
	lines = c.ok("UID MOVE 3 Trash")
	mustHave(t, lines, " 3 1]")
	mustHave(t, lines, "* 3 EXPUNGE")
	c.no("COPY 1 Nowhere", "TRYCREATE")
	lines = c.ok("STATUS Archive (MESSAGES UIDNEXT UNSEEN)")
	mustHave(t, lines, "MESSAGES 2 UIDNEXT 3 UNSEEN 0")
	c.ok("SELECT Archive")
	mustHave(t, c.ok("FETCH 2 FLAGS"), `FLAGS (\Seen Important)`)
}

func TestMailboxTree(t *testing.T) {
	f := newFixture(t, nil)
	c := f.dial(t, "alice")
	c.ok(`CREATE Work/Projects/Herald`)
	c.ok(`CREATE "Entw&APw-rfe"`)
	if _, err := os.Stat(filepath.Join(f.root, "alice", ".Entw&APw-rfe", "maildirfolder")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(f.root, "alice", ".Work.Projects.Herald", "cur")); err != nil {
		t.Fatal(err)
	}
	lines := c.ok(`LIST "" "*"`)
	mustHave(t, lines, `(\Noselect \HasChildren) "/" "Work"`)
	mustHave(t, lines, `"/" "Work/Projects/Herald"`)
	mustHave(t, lines, `"/" "Entw&APw-rfe"`)
	c.no(`CREATE a.b`, "CANNOT")
	c.no(`CREATE Sent`, "ALREADYEXISTS")
	c.append("Work/Projects/Herald", "", "", testMsg)
	c.ok(`CREATE Work/Projects`)
	if _, st := c.do(`RENAME Work Job`); !strings.HasPrefix(st, "OK") {
		t.Fatalf("%s\n%s", st, f.logs.String())
	}
	lines = c.ok(`LIST "" "*"`)
	mustHave(t, lines, `"/" "Job/Projects/Herald"`)
	if has(lines, "Work") {
		t.Fatalf("Work still listed: %q", lines)
	}
	mustHave(t, c.ok(`STATUS Job/Projects/Herald (MESSAGES)`), "MESSAGES 1")
	c.ok(`DELETE Job/Projects`)
	lines = c.ok(`LIST "" "Job*"`)
	mustHave(t, lines, `"/" "Job/Projects/Herald"`)
	c.no(`DELETE INBOX`, "CANNOT")
	c.no(`SELECT Nowhere`, "NONEXISTENT")
	c.ok(`SUBSCRIBE Job/Projects/Herald`)
	mustHave(t, c.ok(`LSUB "" "Job*"`), "Job/Projects/Herald")
	c.ok(`UNSUBSCRIBE Job/Projects/Herald`)
	if has(c.ok(`LSUB "" "Job*"`), "Herald") {
		t.Fatal("still subscribed")
	}
	// Renaming INBOX moves its messages.
	c.append("INBOX", "", "", testMsg)
	c.ok(`RENAME INBOX Old`)
	mustHave(t, c.ok(`STATUS INBOX (MESSAGES)`), "MESSAGES 0")
	mustHave(t, c.ok(`STATUS Old (MESSAGES)`), "MESSAGES 1")
}

// waitFor reads responses (in IDLE) until one holds s.
func (c *client) waitFor(s string, d time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		c.c.SetReadDeadline(deadline)
		l, err := c.r.ReadString('\n')
		if err != nil {
			c.t.Fatalf("waiting for %q: %v", s, err)
		}
		if strings.Contains(l, s) {
			return
		}
	}
	c.t.Fatalf("no %q within %v", s, d)
}

func testIdle(t *testing.T, noInotify bool) {
	f := newFixture(t, nil)
	f.be.NoInotify = noInotify
	c := f.dial(t, "alice")
	c.ok("SELECT INBOX")
	c.write("i1 IDLE\r\n")
	c.waitFor("+ ", time.Second)
	// Another process delivers: a Store of its own.
	md, err := f.store(t, "alice").Folder("INBOX")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	m, err := md.Deliver(context.Background(), strings.NewReader(testMsg), nil)
	if err != nil {
		t.Fatal(err)
	}
	c.waitFor("* 1 EXISTS", 2*time.Second)
	t.Logf("delivery seen after %v", time.Since(start))
	// It flags the message, then removes it.
	if _, err := md.SetFlags(context.Background(), []uint32{m.UID}, maildir.FlagsAdd, maildir.FlagFlagged, nil); err != nil {
		t.Fatal(err)
	}
	c.waitFor(`FETCH (UID 1 FLAGS (\Flagged \Recent))`, 2*time.Second)
	if err := md.Remove(context.Background(), []uint32{m.UID}); err != nil {
		t.Fatal(err)
	}
	c.waitFor("* 1 EXPUNGE", 2*time.Second)
	// Another session of the same process appends.
	c2 := f.dial(t, "alice")
	c2.append("INBOX", "", "", testMsg)
	c.waitFor("* 1 EXISTS", 2*time.Second)
	c.write("DONE\r\n")
	c.waitFor("i1 OK", time.Second)
}

func TestIdleInotify(t *testing.T) { testIdle(t, false) }
func TestIdlePolling(t *testing.T) { testIdle(t, true) }

func TestQuota(t *testing.T) {
	f := newFixture(t, &maildir.Options{Quota: maildir.Quota{Bytes: 400}, MaxMessageBytes: 300})
	c := f.dial(t, "alice")
	if s := c.append("INBOX", "", "", testMsg); !strings.HasPrefix(s, "OK") {
		t.Fatal(s)
	}
	big := testMsg + strings.Repeat("x", 200)
	if s := c.append("INBOX", "", "", big); !strings.HasPrefix(s, "NO [TOOBIG]") {
		t.Fatalf("APPEND too large: %s", s)
	}
	if s := c.append("INBOX", "", "", testMsg); !strings.HasPrefix(s, "OK") {
		t.Fatal(s)
	}
	if s := c.append("INBOX", "", "", testMsg); !strings.HasPrefix(s, "NO [OVERQUOTA]") {
		t.Fatalf("APPEND over quota: %s", s)
	}
	c.ok("SELECT INBOX")
	c.no("COPY 1 Archive", "OVERQUOTA")
	// Nothing half-made is left: Archive is empty, no tmp files.
	mustHave(t, c.ok("STATUS Archive (MESSAGES)"), "MESSAGES 0")
	for _, d := range []string{"tmp", ".Archive/tmp", ".Archive/cur", ".Archive/new"} {
		if e, _ := os.ReadDir(filepath.Join(f.root, "alice", d)); len(e) != 0 {
			t.Errorf("%s holds %d files", d, len(e))
		}
	}
}

func TestCorruptMessage(t *testing.T) {
	f := newFixture(t, nil)
	c := f.dial(t, "alice")
	c.append("INBOX", `\Seen`, "", testMsg)
	c.append("INBOX", `\Seen`, "", testMsg)
	c.ok("SELECT INBOX")
	names, _ := filepath.Glob(filepath.Join(f.root, "alice", "cur", "*"))
	if len(names) != 2 {
		t.Fatal(names)
	}
	// Truncate the first message behind the server's back.
	first := names[0]
	if names[1] < first {
		first = names[1]
	}
	if err := os.Truncate(first, 10); err != nil {
		t.Fatal(err)
	}
	lines, status := c.do("FETCH 1:2 BODY.PEEK[]")
	if !strings.HasPrefix(status, "NO [EXPUNGEISSUED]") {
		t.Fatalf("FETCH: %s %q", status, lines)
	}
	mustHave(t, lines, "Hi Bob.")
	if !strings.Contains(f.logs.String(), "skipped") {
		t.Errorf("no log line: %s", f.logs.String())
	}
	c.ok("NOOP")
}

// TestBareLF serves a message stored with bare LFs (as Dovecot and mutt
// store them) with CRLF, and its ",W=" size as RFC822.SIZE.
func TestBareLF(t *testing.T) {
	f := newFixture(t, nil)
	md, _ := f.store(t, "alice").Folder("INBOX")
	lf := strings.ReplaceAll(testMsg, "\r\n", "\n")
	if _, err := md.Deliver(context.Background(), strings.NewReader(lf), nil); err != nil {
		t.Fatal(err)
	}
	c := f.dial(t, "alice")
	c.ok("SELECT INBOX")
	lines := c.ok("FETCH 1 (RFC822.SIZE BODY.PEEK[] BODY.PEEK[TEXT])")
	mustHave(t, lines, "RFC822.SIZE 155 BODY[] {155}\r\n"+testMsg+" BODY[TEXT] {9}\r\nHi Bob.\r\n)")
}

// TestSubscribedNonExistent checks that a subscribed name without a
// folder is listed by LIST (SUBSCRIBED) as \NonExistent (RFC 5258 section
// 3.1) and not by LIST.
func TestSubscribedNonExistent(t *testing.T) {
	f := newFixture(t, nil)
	c := f.dial(t, "alice")
	c.ok(`CREATE Old`)
	c.ok(`SUBSCRIBE Old`)
	c.ok(`DELETE Old`)
	lines := c.ok(`LIST (SUBSCRIBED) "" "*"`)
	mustHave(t, lines, `* LIST (\NonExistent \Subscribed) "/" "Old"`)
	for _, l := range lines {
		if strings.Contains(l, `"INBOX"`) && strings.Contains(l, `\NonExistent`) {
			t.Errorf("INBOX listed as not existing: %q", l)
		}
	}
	for _, l := range c.ok(`LIST "" "*"`) {
		if strings.Contains(l, `"Old"`) {
			t.Errorf("LIST lists a deleted folder: %q", l)
		}
	}
}

// TestSessionsShareNoView checks that what one session changes in its own
// view (STORE, a FETCH that sets \Seen) is told to another session with
// the same mailbox selected: the Backend hands both sessions one list of
// the messages, which neither may change in place.
func TestSessionsShareNoView(t *testing.T) {
	f := newFixture(t, nil)
	a := f.dial(t, "alice")
	for range 2 {
		a.append("INBOX", "", "", testMsg)
	}
	b := f.dial(t, "alice")
	a.ok("SELECT INBOX")
	b.ok("SELECT INBOX")
	a.ok("SELECT INBOX") // with nothing changed since b's SELECT
	a.ok("FETCH 1 BODY[]")
	a.ok("STORE 2 +FLAGS (\\Flagged)")
	got := strings.Join(b.ok("NOOP"), "\n")
	for _, want := range []string{`* 1 FETCH (UID 1 FLAGS (\Seen))`, `* 2 FETCH (UID 2 FLAGS (\Flagged))`} {
		if !strings.Contains(got, want) {
			t.Errorf("second session got %q, want %q among them", got, want)
		}
	}
}
