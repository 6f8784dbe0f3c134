package pop3maildir_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/heraldmail/herald/internal/peertest"
	"github.com/heraldmail/herald/pop3"
	"github.com/heraldmail/herald/pop3/pop3maildir"
)

// smallFS mounts a 256 KiB tmpfs in a temporary directory for the test.
// Where mounting is not permitted the test is skipped, unless
// HERALD_INTEROP=1 (as in CI, which runs as root) asks for every check.
func smallFS(t *testing.T) string {
	t.Helper()
	mnt := filepath.Join(t.TempDir(), "mnt")
	if err := os.Mkdir(mnt, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=256k"); err != nil {
		peertest.Unavailable(t, "cannot mount a small tmpfs to fill (needs CAP_SYS_ADMIN): %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(mnt, syscall.MNT_DETACH) })
	return mnt
}

// fill writes a file at p until the file system is full, and returns a
// function that frees the space again.
func fill(t *testing.T, p string) func() {
	t.Helper()
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{4096, 1} {
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

// TestDiskFull checks that a full disk gives a clear temporary error at
// login and at QUIT, leaves every message in place and nothing
// half-written visible, and that all works again once space is freed.
func TestDiskFull(t *testing.T) {
	mnt := smallFS(t)
	e := newEnv(t, filepath.Join(mnt, "alice"), nil, fixture...)
	full := func(err error) bool {
		var pe *pop3.Error
		return errors.As(err, &pe) && pe.Code == pop3.CodeSysTemp && strings.Contains(pe.Message, "Mail storage is full")
	}
	check := func(when string) {
		t.Helper()
		if got := len(snapshot(t, e.store).Messages); got != 3 {
			t.Errorf("%s: %d messages, want 3", when, got)
		}
		for _, p := range []string{pop3maildir.JournalName, pop3maildir.SessionLockName} {
			if _, err := os.Lstat(filepath.Join(e.root, p)); err == nil {
				t.Errorf("%s: %s left behind", when, p)
			}
		}
		tmp, _ := os.ReadDir(filepath.Join(e.root, "tmp"))
		for _, f := range tmp {
			t.Errorf("%s: tmp/%s left behind", when, f.Name())
		}
	}

	c := login(t, e.addr)
	if err := c.Dele(ctx(t), 1); err != nil {
		t.Fatal(err)
	}
	free := fill(t, filepath.Join(mnt, "filler"))
	if err := c.Quit(ctx(t)); !full(err) {
		t.Fatalf("QUIT on a full disk: %v, want [SYS/TEMP] Mail storage is full", err)
	}
	waitUnlocked(t, e.root)
	check("after QUIT")

	// The session's lock file freed its block: fill that too.
	free2 := fill(t, filepath.Join(mnt, "filler2"))
	c = dial(t, e.addr)
	if err := c.Login(ctx(t), "alice", "secret"); !full(err) {
		t.Fatalf("login on a full disk: %v, want [SYS/TEMP] Mail storage is full", err)
	}
	check("after login")

	free()
	free2()
	c = login(t, e.addr)
	if err := c.Dele(ctx(t), 1); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(ctx(t)); err != nil {
		t.Fatalf("QUIT with space: %v", err)
	}
	waitUnlocked(t, e.root)
	if got := len(snapshot(t, e.store).Messages); got != 2 {
		t.Errorf("%d messages, want 2", got)
	}
}
