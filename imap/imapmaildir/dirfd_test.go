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

// openFDs counts the descriptors of this process.
func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// TestMessageFilesByDirFD: bodies are read through descriptors of cur/
// and new/ while a session has the folder selected. A file another
// process renamed is still found, and the descriptors are closed when
// the last session leaves.
func TestMessageFilesByDirFD(t *testing.T) {
	f := newFixture(t, nil)
	seed := f.dial(t, "alice")
	for range 3 {
		seed.append("INBOX", "", "", testMsg)
	}
	seed.ok("LOGOUT")
	seed.c.Close()
	time.Sleep(50 * time.Millisecond)
	base := openFDs(t)

	c := f.dial(t, "alice")
	c.ok("SELECT INBOX")
	lines := c.ok("FETCH 1:* BODY.PEEK[]")
	if n := strings.Count(strings.Join(lines, "\n"), "Hi Bob."); n != 3 {
		t.Fatalf("%d bodies, want 3:\n%s", n, strings.Join(lines, "\n"))
	}

	// Another process marks message 2 seen: its file moves to cur/ with
	// another name.
	st := f.store(t, "alice")
	md, err := st.Folder("INBOX")
	if err != nil {
		t.Fatal(err)
	}
	snap, err := md.Sync(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := md.SetFlags(context.Background(), []uint32{snap.Messages[1].UID}, maildir.FlagsAdd, maildir.FlagSeen, nil); err != nil {
		t.Fatal(err)
	}
	lines = c.ok("FETCH 2 BODY.PEEK[TEXT]")
	if !strings.Contains(strings.Join(lines, "\n"), "Hi Bob.") {
		t.Fatalf("message 2 after its rename:\n%s", strings.Join(lines, "\n"))
	}
	files, _ := filepath.Glob(filepath.Join(f.root, "alice", "cur", "*:2,S"))
	if len(files) != 1 {
		t.Fatalf("seen files in cur/: %v", files)
	}

	c.ok("LOGOUT")
	c.c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for openFDs(t) > base {
		if time.Now().After(deadline) {
			t.Fatalf("%d descriptors open after the session, %d before it", openFDs(t), base)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
