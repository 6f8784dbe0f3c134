package maildir

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/heraldmail/herald/internal/peertest"
)

// muttScript runs mutt read-only on the Maildir argv[1] inside a
// pseudo-terminal (mutt needs one), lets it draw its index with one
// "@@<subject>|<status flags>@@" line per message and quits; it prints
// what mutt drew.
const muttScript = `
import os, pty, select, sys, time
fmt = 'set mbox_type=Maildir sort=mailbox-order index_format="@@%s|%Z@@" wait_key=no quit=yes'
args = ["mutt", "-F", "/dev/null", "-n", "-R", "-f", sys.argv[1], "-e", fmt, "-e", 'push "<quit>"']
pid, fd = pty.fork()
if pid == 0:
    os.environ["TERM"] = "vt100"
    os.execvp(args[0], args)
buf = b""
deadline = time.time() + 20
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.2)
    if r:
        try:
            d = os.read(fd, 65536)
        except OSError:
            break
        if not d:
            break
        buf += d
    elif os.waitpid(pid, os.WNOHANG)[0]:
        break
sys.stdout.buffer.write(buf)
`

// TestMuttReadsHerald checks that mutt, reading a folder Herald wrote, sees
// the same messages with the same state: new (in new/), old (seen by a
// client, not read), read (S) and flagged (F).
func TestMuttReadsHerald(t *testing.T) {
	peertest.LookPath(t, "mutt")
	peertest.LookPath(t, "python3")
	ctx := context.Background()
	m := newTestMaildir(t, nil)
	deliver(t, m, "Subject: alpha\r\n\r\na\r\n", nil)
	b := deliver(t, m, "Subject: beta\r\n\r\nb\r\n", nil)
	c := deliver(t, m, "Subject: gamma\r\n\r\nc\r\n", nil)
	d := deliver(t, m, "Subject: delta\r\n\r\nd\r\n", nil)
	if _, err := m.SetFlags(ctx, []uint32{b.UID}, FlagsAdd, "S", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := m.SetFlags(ctx, []uint32{c.UID}, FlagsAdd, "F", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := m.SetFlags(ctx, []uint32{d.UID}, FlagsAdd, "SF", nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "python3", "-c", muttScript, m.Dir())
	// A home with a Mail directory: mutt asks to create a missing one.
	home := t.TempDir()
	if err := os.Mkdir(filepath.Join(home, "Mail"), 0o700); err != nil {
		t.Fatal(err)
	}
	cmd.Env = append(os.Environ(), "HOME="+home, "MAIL="+filepath.Join(home, "none"))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("mutt: %v\n%q", err, out)
	}
	got := map[string]string{}
	for _, sm := range regexp.MustCompile(`@@(\w+)\|(...)@@`).FindAllSubmatch(out, -1) {
		got[string(sm[1])] = string(sm[2])
	}
	want := map[string]string{
		"alpha": "N  ", // in new/, unread
		"beta":  "   ", // read
		"gamma": "O !", // seen by a client, unread, flagged
		"delta": "  !", // read, flagged
	}
	for subj, flags := range want {
		if got[subj] != flags {
			t.Errorf("mutt shows %s as %q, want %q (all: %q)", subj, got[subj], flags, got)
		}
	}
}
