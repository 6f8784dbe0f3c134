package imapmaildir_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestSortKeysShared checks that the SORT keys one session derived serve
// the next session without reading the messages: a message file rewritten
// behind the index's back (same size, same name, another subject) keeps
// its first subject for SORT, while FETCH reads the new one.
func TestSortKeysShared(t *testing.T) {
	f := newFixture(t, nil)
	f.deliver(t, "alice", "INBOX", "bbbb", "")
	m := f.deliver(t, "alice", "INBOX", "cccc", "")
	c := f.dial(t, "alice")
	c.ok("SELECT INBOX")
	if got := c.ok("SORT (SUBJECT) UTF-8 ALL"); got[0] != "* SORT 1 2" {
		t.Fatalf("SORT: %q", got)
	}
	c.ok("LOGOUT")
	// Rewrite message 2's subject in place: "cccc" becomes "aaaa".
	files, _ := filepath.Glob(filepath.Join(f.root, "alice", "*", m.Name+"*"))
	if len(files) != 1 {
		t.Fatalf("message file of %s: %v", m.Name, files)
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.Replace(data, []byte("Subject: cccc"), []byte("Subject: aaaa"), 1)
	fi, _ := os.Stat(files[0])
	if err := os.WriteFile(files[0], data, 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(files[0], fi.ModTime(), fi.ModTime())
	c2 := f.dial(t, "alice")
	c2.ok("SELECT INBOX")
	if got := c2.ok("SORT (SUBJECT) UTF-8 ALL"); got[0] != "* SORT 1 2" {
		t.Fatalf("second session's SORT read the message again: %q", got)
	}
	if got := c2.ok("FETCH 2 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])"); !bytes.Contains([]byte(got[0]), []byte("Subject: aaaa")) {
		t.Fatalf("FETCH: %q", got)
	}
}
