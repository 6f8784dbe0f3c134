package imapmaildir_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// notifyFixture returns a session of alice with a folder Lists and NOTIFY
// set on it and on folder names, and the UIDVALIDITY of Lists.
func notifyFixture(t *testing.T, noInotify bool, poll time.Duration) (*fixture, *client, string) {
	t.Helper()
	f := newFixture(t, nil)
	f.be.NoInotify, f.be.PollInterval = noInotify, poll
	c := f.dial(t, "alice")
	c.ok("CREATE Lists")
	lines := c.ok("STATUS Lists (UIDVALIDITY)")
	v := regexp.MustCompile(`UIDVALIDITY (\d+)`).FindStringSubmatch(lines[0])
	if v == nil {
		t.Fatalf("STATUS: %q", lines)
	}
	c.ok("NOTIFY SET (MAILBOXES Lists (MessageNew MessageExpunge)) (PERSONAL (MailboxName))")
	return f, c, v[1]
}

// waitLine reads the next line and fails unless it is want and came
// within limit.
func waitLine(t *testing.T, c *client, want string, limit time.Duration) {
	t.Helper()
	start := time.Now()
	got := c.line()
	if got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	if d := time.Since(start); d > limit {
		t.Fatalf("%q came after %v, more than %v", got, d, limit)
	}
}

// writeMessage puts a message into a folder's new/ as another program
// would: written in tmp/, then renamed.
func writeMessage(t *testing.T, dir, name string) {
	t.Helper()
	tmp := filepath.Join(dir, "tmp", name)
	if err := os.WriteFile(tmp, []byte(testMsg), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "new", name)); err != nil {
		t.Fatal(err)
	}
}

// TestNotifyOtherProcess checks that a message another process writes
// into a folder that is not selected reaches a session with NOTIFY on it
// within a second, with inotify and by polling.
func TestNotifyOtherProcess(t *testing.T) {
	for _, poll := range []bool{false, true} {
		t.Run(map[bool]string{false: "inotify", true: "poll"}[poll], func(t *testing.T) {
			f, c, v := notifyFixture(t, poll, 0)
			dir := filepath.Join(f.root, "alice", ".Lists")
			writeMessage(t, dir, "1700000000.M1P1.other")
			waitLine(t, c, `* STATUS "Lists" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY `+v+`)`, time.Second)
			// And an expunge: the file removed.
			names, _ := filepath.Glob(filepath.Join(dir, "*", "1700000000.M1P1.other*"))
			if len(names) != 1 {
				t.Fatalf("message files: %q", names)
			}
			if err := os.Remove(names[0]); err != nil {
				t.Fatal(err)
			}
			waitLine(t, c, `* STATUS "Lists" (MESSAGES 0 UIDNEXT 2 UIDVALIDITY `+v+`)`, time.Second)
		})
	}
}

// TestNotifyStoreDelivery checks that a delivery through a maildir.Store
// of the same process, not through the Backend, arrives at once (the
// inotify watch, after its settle time), and one through another
// session at once even without inotify.
func TestNotifyStoreDelivery(t *testing.T) {
	f, c, v := notifyFixture(t, false, 0)
	md, err := f.store(t, "alice").Folder("Lists")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := md.Deliver(context.Background(), strings.NewReader(testMsg), nil); err != nil {
		t.Fatal(err)
	}
	waitLine(t, c, `* STATUS "Lists" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY `+v+`)`, 300*time.Millisecond)

	f, c, v = notifyFixture(t, true, time.Hour)
	other := f.dial(t, "alice")
	if st := other.append("Lists", "", "", testMsg); !strings.HasPrefix(st, "OK") {
		t.Fatal(st)
	}
	waitLine(t, c, `* STATUS "Lists" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY `+v+`)`, 300*time.Millisecond)
}

// TestNotifyFolderNames checks MailboxName: a folder created or renamed
// by another session is told at once with LIST (OLDNAME for a rename), and
// one another process creates or removes within a second.
func TestNotifyFolderNames(t *testing.T) {
	f, c, _ := notifyFixture(t, false, 0)
	other := f.dial(t, "alice")
	other.ok("CREATE News")
	waitLine(t, c, `* LIST () "/" "News"`, 300*time.Millisecond)
	other.ok("RENAME News Press")
	waitLine(t, c, `* LIST () "/" "Press" ("OLDNAME" ("News"))`, 300*time.Millisecond)
	// Another program makes a folder.
	root := filepath.Join(f.root, "alice")
	dir := filepath.Join(root, ".Feeds")
	for _, sub := range []string{"", "cur", "new", "tmp"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	waitLine(t, c, `* LIST () "/" "Feeds"`, time.Second)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	waitLine(t, c, `* LIST (\NonExistent) "/" "Feeds"`, time.Second)
	// Nothing else was sent meanwhile.
	if lines := c.ok("NOOP"); len(lines) != 1 {
		t.Fatalf("NOOP: %q", lines)
	}
}

// TestNotifyManyFolders checks that watching a user's 1,000 folders costs
// a goroutine or two, not one per folder, and that a message another
// process writes into the last of them still arrives within a second.
func TestNotifyManyFolders(t *testing.T) {
	f := newFixture(t, nil)
	st := f.store(t, "alice")
	for i := range 1000 {
		if err := st.CreateFolder(fmt.Sprintf("F%04d", i)); err != nil {
			t.Fatal(err)
		}
	}
	c := f.dial(t, "alice")
	before := runtime.NumGoroutine()
	c.ok("NOTIFY SET (PERSONAL (MessageNew MessageExpunge MailboxName))")
	if n := runtime.NumGoroutine() - before; n > 3 {
		t.Fatalf("NOTIFY on 1000 folders started %d goroutines", n)
	}
	start := time.Now()
	writeMessage(t, filepath.Join(f.root, "alice", ".F0999"), "1700000000.M2P2.other")
	l := c.line()
	if !strings.HasPrefix(l, `* STATUS "F0999" (MESSAGES 1 UIDNEXT 2 `) || time.Since(start) > time.Second {
		t.Fatalf("after %v: %q", time.Since(start), l)
	}
}
