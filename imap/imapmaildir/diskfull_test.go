package imapmaildir_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/heraldmail/herald/internal/peertest"
)

// smallFS mounts a 1 MiB tmpfs in a temporary directory for the test.
// Where mounting is not permitted the test is skipped, unless
// HERALD_INTEROP=1 (as in CI, which runs as root) asks for every check.
func smallFS(t *testing.T) string {
	t.Helper()
	mnt := filepath.Join(t.TempDir(), "mnt")
	if err := os.Mkdir(mnt, 0o700); err != nil {
		t.Fatal(err)
	}
	mountSmall(t, mnt)
	return mnt
}

// mountSmall mounts a 1 MiB tmpfs on the directory mnt.
func mountSmall(t *testing.T, mnt string) {
	t.Helper()
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=1m"); err != nil {
		peertest.Unavailable(t, "cannot mount a small tmpfs to fill (needs CAP_SYS_ADMIN): %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(mnt, syscall.MNT_DETACH) })
}

// fill writes a file at p until the file system is full, and returns a
// function that frees the space again.
func fill(t *testing.T, p string) func() {
	t.Helper()
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{64 << 10, 4096, 1} {
		buf := make([]byte, size)
		for {
			if _, err := f.Write(buf); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatal(err)
				}
				break
			}
		}
	}
	f.Close()
	return func() { os.Remove(p) }
}

// TestDiskFull checks APPEND and COPY on real full file systems (small
// tmpfs mounts): a temporary NO [UNAVAILABLE] (RFC 5530: the store cannot
// take it now, try later) that says the storage is full, nothing
// half-written in tmp/ or visible to IMAP, to another process or to the
// next session, and all works again once space is freed. COPY within one
// file system makes hard links, which need no space, as Dovecot's do; so
// Archive gets a file system of its own, where COPY writes the bytes.
func TestDiskFull(t *testing.T) {
	mnt := smallFS(t)
	f := newFixture(t, nil)
	f.root = mnt
	const msgs = 3
	c := f.dial(t, "alice")
	for range msgs {
		if st := c.append("INBOX", "", "", testMsg); !strings.HasPrefix(st, "OK") {
			t.Fatalf("APPEND: %s", st)
		}
	}
	c.ok("SELECT INBOX")
	c.ok("UID FETCH 1:* (ENVELOPE BODYSTRUCTURE)")
	inbox := filepath.Join(mnt, "alice")
	archive := filepath.Join(inbox, ".Archive")
	mountSmall(t, archive)
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.Mkdir(filepath.Join(archive, sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(archive, "maildirfolder"), nil, 0o600)
	count := func(dir string) int {
		n := 0
		for _, sub := range []string{"cur", "new"} {
			ents, _ := os.ReadDir(filepath.Join(dir, sub))
			n += len(ents)
		}
		return n
	}
	clean := func(when string) {
		t.Helper()
		for _, dir := range []string{inbox, archive} {
			tmp, _ := os.ReadDir(filepath.Join(dir, "tmp"))
			for _, e := range tmp {
				t.Errorf("%s: %s/tmp/%s left behind", when, dir, e.Name())
			}
			ents, _ := os.ReadDir(dir)
			for _, e := range ents {
				if strings.Contains(e.Name(), ".tmp") || e.Name() == "dovecot-uidlist.lock" {
					t.Errorf("%s: %s left behind", when, e.Name())
				}
			}
		}
		if n := count(inbox); n != msgs {
			t.Errorf("%s: INBOX holds %d files, want %d", when, n, msgs)
		}
		if n := count(archive); n != 0 {
			t.Errorf("%s: Archive holds %d files, want 0", when, n)
		}
	}
	full := func(cmd, st string) {
		t.Helper()
		if !strings.HasPrefix(st, "NO [UNAVAILABLE]") || !strings.Contains(st, "storage is full") {
			t.Fatalf("%s on a full disk: %q, want NO [UNAVAILABLE] ... storage is full", cmd, st)
		}
	}

	free := fill(t, filepath.Join(mnt, "filler"))
	freeArchive := fill(t, filepath.Join(archive, "filler"))
	big := testMsg + strings.Repeat("a line of the body, long enough to need space\r\n", 200)
	full("APPEND", c.append("INBOX", "", "", big))
	full("APPEND", c.append("Archive", `\Seen`, "", testMsg))
	_, st := c.do("UID COPY 1:* Archive")
	full("COPY", st)
	clean("after APPEND and COPY")
	// The session and a new one see the three messages and nothing
	// in Archive.
	lines := c.ok("UID FETCH 1:* (UID)")
	if n := strings.Count(strings.Join(lines, "\n"), "* "); n != msgs {
		t.Errorf("the session sees %d messages, want %d", n, msgs)
	}
	c.ok("LOGOUT")
	d := f.restart(t).dial(t, "alice")
	// STATUS of Archive, never read, must write its dovecot-uidlist.
	_, st = d.do("STATUS Archive (MESSAGES)")
	full("STATUS", st)
	mustHave(t, d.ok("STATUS INBOX (MESSAGES)"), "(MESSAGES "+itoa(msgs)+")")
	clean("after LOGOUT")

	free()
	freeArchive()
	mustHave(t, d.ok("STATUS Archive (MESSAGES)"), "(MESSAGES 0)")
	if st := d.append("INBOX", "", "", big); !strings.HasPrefix(st, "OK") {
		t.Fatalf("APPEND with space: %s", st)
	}
	d.ok("SELECT INBOX")
	mustHave(t, d.ok("UID COPY 1:* Archive"), "COPYUID")
	mustHave(t, d.ok("STATUS Archive (MESSAGES)"), "(MESSAGES "+itoa(msgs+1)+")")
}
