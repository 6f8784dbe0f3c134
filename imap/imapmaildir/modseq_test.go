package imapmaildir_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/heraldmail/herald/imap/imapmaildir"
	"github.com/heraldmail/herald/maildir"
)

var (
	highestRe = regexp.MustCompile(`HIGHESTMODSEQ (\d+)[\])]`)
	fetchRe   = regexp.MustCompile(`^\* \d+ FETCH \(UID (\d+) FLAGS \(([^)]*)\) MODSEQ \((\d+)\)\)$`)
)

// msgState is what a client was told of a message.
type msgState struct {
	flags  string
	modseq uint64
}

// highest returns the HIGHESTMODSEQ of a response.
func highest(t testing.TB, lines []string) uint64 {
	t.Helper()
	for _, l := range lines {
		if m := highestRe.FindStringSubmatch(l); m != nil {
			n, _ := strconv.ParseUint(m[1], 10, 64)
			return n
		}
	}
	t.Fatalf("no HIGHESTMODSEQ in %q", lines)
	return 0
}

// modseqsOf returns the UID, flags and mod-sequence of every message.
func modseqsOf(t testing.TB, c *client) map[string]msgState {
	t.Helper()
	out := map[string]msgState{}
	for _, l := range c.ok("FETCH 1:* (UID FLAGS MODSEQ)") {
		if m := fetchRe.FindStringSubmatch(l); m != nil {
			n, _ := strconv.ParseUint(m[3], 10, 64)
			// \Recent is the session's, not the message's.
			out[m[1]] = msgState{strings.TrimSpace(strings.ReplaceAll(m[2], `\Recent`, "")), n}
		}
	}
	return out
}

func deliverN(t testing.TB, f *fixture, n int) {
	t.Helper()
	md, err := f.store(t, "alice").Folder(maildir.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := md.Deliver(context.Background(), strings.NewReader("Subject: m"+strconv.Itoa(i)+"\r\n\r\nx\r\n"), nil); err != nil {
			t.Fatal(err)
		}
	}
}

// restart returns a new Backend over the same trees, as after a restart
// of the server.
func restart(t testing.TB, f *fixture) *fixture {
	g := newFixture(t, &f.opts)
	g.root = f.root
	return g
}

// TestModSeqPersist checks that mod-sequences survive a restart: the same
// HIGHESTMODSEQ and MODSEQ of every message, the next change above them,
// and the expunged UIDs still reported by SELECT (QRESYNC).
func TestModSeqPersist(t *testing.T) {
	f := newFixture(t, nil)
	deliverN(t, f, 4)
	c := f.dial(t, "alice")
	c.ok("ENABLE QRESYNC")
	h0 := highest(t, c.ok("SELECT INBOX"))
	c.ok(`STORE 1 +FLAGS (\Flagged)`)
	c.ok(`STORE 2 +FLAGS (\Deleted $Work)`)
	exp := c.ok("EXPUNGE")
	mustHave(t, exp, "* VANISHED 2")
	h1 := highest(t, exp)
	before := modseqsOf(t, c)
	if h1 <= h0 || len(before) != 3 {
		t.Fatalf("HIGHESTMODSEQ %d after %d, messages %v", h1, h0, before)
	}
	c.ok("UNSELECT") // writes the snapshot before the answer

	g := restart(t, f)
	d := g.dial(t, "alice")
	d.ok("ENABLE QRESYNC")
	sel := d.ok("SELECT INBOX (QRESYNC (" + uidValidity(t, f) + " " + strconv.FormatUint(h0, 10) + "))")
	if h := highest(t, sel); h != h1 {
		t.Fatalf("HIGHESTMODSEQ %d after restart, was %d", h, h1)
	}
	mustHave(t, sel, "* VANISHED (EARLIER) 2")
	after := modseqsOf(t, d)
	for uid, st := range before {
		if after[uid] != st {
			t.Fatalf("UID %s: %v after restart, was %v", uid, after[uid], st)
		}
	}
	lines := d.ok(`UID STORE 3 +FLAGS (\Seen)`)
	if got := modseqsOf(t, d)["3"].modseq; got <= h1 {
		t.Fatalf("new change got %d, not above %d: %q", got, h1, lines)
	}
}

func uidValidity(t testing.TB, f *fixture) string {
	md, err := f.store(t, "alice").Folder(maildir.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	v, _, err := md.UIDValidity()
	if err != nil {
		t.Fatal(err)
	}
	return strconv.FormatUint(uint64(v), 10)
}

// renameFlags changes the flag letters of the message file of uid as mutt
// does: a rename within cur/.
func renameFlags(t testing.TB, f *fixture, uid string, letters string) {
	t.Helper()
	md, err := f.store(t, "alice").Folder(maildir.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := md.Sync(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range snap.Messages {
		if strconv.FormatUint(uint64(m.UID), 10) != uid {
			continue
		}
		sub := "cur"
		if m.New {
			sub = "new"
		}
		if err := os.Rename(filepath.Join(md.Dir(), sub, m.Name), filepath.Join(md.Dir(), "cur", m.Key+":2,"+letters)); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("no UID %s", uid)
}

// TestModSeqExternalChange checks that a change another process makes gets
// a new mod-sequence: noticed by the watcher while a session has the
// folder selected, and read from the folder when the Backend starts
// again; the messages it did not touch keep theirs.
func TestModSeqExternalChange(t *testing.T) {
	f := newFixture(t, nil)
	deliverN(t, f, 3)
	c := f.dial(t, "alice")
	c.ok("ENABLE CONDSTORE")
	h0 := highest(t, c.ok("SELECT INBOX"))
	before := modseqsOf(t, c)

	renameFlags(t, f, "2", "FS")
	c.write("i IDLE\r\n")
	if l := c.line(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("IDLE: %q", l)
	}
	l := c.line()
	m := fetchRe.FindStringSubmatch(l)
	if m == nil || m[1] != "2" || !strings.Contains(m[2], `\Flagged`) || !strings.Contains(m[2], `\Seen`) {
		t.Fatalf("IDLE update: %q", l)
	}
	if n, _ := strconv.ParseUint(m[3], 10, 64); n <= h0 {
		t.Fatalf("external change got MODSEQ %d, not above %d", n, h0)
	}
	c.write("DONE\r\n")
	c.line()
	h1 := highest(t, c.ok("STATUS INBOX (HIGHESTMODSEQ)"))
	c.ok("UNSELECT") // writes the snapshot before the answer

	// While no Backend runs.
	renameFlags(t, f, "3", "R")
	g := restart(t, f)
	d := g.dial(t, "alice")
	sel := d.ok("SELECT INBOX (CONDSTORE)")
	h2 := highest(t, sel)
	after := modseqsOf(t, d)
	if after["1"] != before["1"] {
		t.Fatalf("untouched UID 1: %v, was %v", after["1"], before["1"])
	}
	if !strings.HasPrefix(after["3"].flags, `\Answered`) || after["3"].modseq <= h1 || h2 < after["3"].modseq {
		t.Fatalf("UID 3 changed offline: %v, HIGHESTMODSEQ %d, was %d", after["3"], h2, h1)
	}
	changed := d.ok("FETCH 1:* (UID) (CHANGEDSINCE " + strconv.FormatUint(h1, 10) + ")")
	mustHave(t, changed, "* 3 FETCH (UID 3 MODSEQ ("+strconv.FormatUint(after["3"].modseq, 10)+"))")
	if len(changed) != 2 {
		t.Fatalf("CHANGEDSINCE %d: %q", h1, changed)
	}
}

// TestModSeqFilesLost checks that a damaged or missing mod-sequence file,
// or both files gone, never make the folder go backwards: every message
// is then reported changed, above every value handed out before.
func TestModSeqFilesLost(t *testing.T) {
	for _, damage := range []string{"flip", "truncate", "remove", "remove both"} {
		t.Run(damage, func(t *testing.T) {
			f := newFixture(t, nil)
			deliverN(t, f, 3)
			c := f.dial(t, "alice")
			c.ok("ENABLE CONDSTORE")
			c.ok("SELECT INBOX")
			c.ok(`STORE 1:3 +FLAGS (\Seen)`)
			h := highest(t, c.ok("STATUS INBOX (HIGHESTMODSEQ)"))
			c.ok("UNSELECT") // writes the snapshot before the answer
			dir := filepath.Join(f.root, "alice")
			file := filepath.Join(dir, imapmaildir.ModSeqFile)
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			switch damage {
			case "flip":
				data[len(data)/2] ^= 1
				err = os.WriteFile(file, data, 0o600)
			case "truncate":
				err = os.WriteFile(file, data[:len(data)-5], 0o600)
			case "remove":
				err = os.Remove(file)
			case "remove both":
				if err = os.Remove(file); err == nil {
					err = os.Remove(filepath.Join(dir, imapmaildir.ModSeqMarkFile))
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			g := restart(t, f)
			d := g.dial(t, "alice")
			if h2 := highest(t, d.ok("SELECT INBOX (CONDSTORE)")); h2 <= h {
				t.Fatalf("HIGHESTMODSEQ %d after the damage, was %d", h2, h)
			}
			for uid, st := range modseqsOf(t, d) {
				if st.modseq <= h || !strings.HasPrefix(st.flags, `\Seen`) {
					t.Fatalf("UID %s: %v, not above %d", uid, st, h)
				}
			}
		})
	}
}
