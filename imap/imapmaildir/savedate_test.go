package imapmaildir_test

import (
	"strings"
	"testing"
	"time"
)

// TestSaveDate checks SAVEDATE (RFC 8514) over a Maildir: the save date is
// the time the file was written (its name), not the INTERNALDATE APPEND
// gave, it survives a new session, COPY gives the copy its own, and the
// SAVED* search keys use it.
func TestSaveDate(t *testing.T) {
	f := newFixture(t, nil)
	c := f.dial(t, "alice")
	before := time.Now().Add(-time.Second)
	c.append("INBOX", "", "01-Feb-2001 10:00:00 +0000", "Subject: old date\r\n\r\nx\r\n")
	c.ok("SELECT INBOX")
	lines := c.ok("FETCH 1 (INTERNALDATE SAVEDATE)")
	if !strings.Contains(lines[0], `INTERNALDATE "01-Feb-2001 10:00:00 +0000"`) {
		t.Fatalf("FETCH: %q", lines)
	}
	i := strings.Index(lines[0], `SAVEDATE "`)
	if i < 0 {
		t.Fatalf("no SAVEDATE: %q", lines)
	}
	saved, err := time.Parse("02-Jan-2006 15:04:05 -0700", strings.TrimLeft(lines[0][i+10:i+36], " "))
	if err != nil || saved.Before(before.Truncate(time.Second)) || saved.After(time.Now().Add(time.Second)) {
		t.Fatalf("SAVEDATE %v (%v), want about now: %q", saved, err, lines[0])
	}
	today := time.Now().Format("2-Jan-2006")
	for cmd, want := range map[string]string{
		"SEARCH SAVEDON " + today:       "* SEARCH 1",
		"SEARCH SAVEDSINCE " + today:    "* SEARCH 1",
		"SEARCH SAVEDBEFORE " + today:   "* SEARCH",
		"SEARCH SAVEDBEFORE 1-Jan-2002": "* SEARCH",
		"SEARCH BEFORE 1-Jan-2002":      "* SEARCH 1",
		"SEARCH SAVEDATESUPPORTED":      "* SEARCH 1",
	} {
		if got := c.ok(cmd); got[0] != want {
			t.Errorf("%s: %q, want %s", cmd, got, want)
		}
	}
	c.ok("COPY 1 Archive")
	c2 := f.dial(t, "alice")
	c2.ok("SELECT Archive")
	if got := c2.ok("FETCH 1 (SAVEDATE)"); !strings.Contains(got[0], `SAVEDATE "`) {
		t.Errorf("copy: %q", got)
	}
	c2.ok("SELECT INBOX")
	if got := c2.ok("FETCH 1 (SAVEDATE)"); !strings.Contains(got[0], lines[0][i:i+36]) {
		t.Errorf("another session: %q, first %q", got, lines[0])
	}
}
