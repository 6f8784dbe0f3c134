package imapmaildir_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/internal/peertest"
	"github.com/heraldmail/herald/maildir"
)

// listen serves the fixture on a free port of 127.0.0.1 until the test
// ends and returns the port.
func (f *fixture) listen(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go f.srv.Serve(l)
	// Shutdown, not Close: it waits for the connections to end, so that
	// the files the last session of a folder writes (the cache, the
	// mod-sequence snapshot) are written before the directory is removed.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		f.srv.Shutdown(ctx)
	})
	return l.Addr().(*net.TCPAddr).Port
}

// run runs a peer with a timeout and returns its combined output.
func run(t testing.TB, timeout time.Duration, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	// A home of its own, with the Mail directory mutt asks to create.
	home := t.TempDir()
	os.Mkdir(filepath.Join(home, "Mail"), 0o700)
	cmd.Env = append(os.Environ(), "HOME="+home)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %q: %v\n%s", name, args, err, out)
	}
	return string(out)
}

// deliver puts a message into a folder of the user as another process
// would, and returns it.
func (f *fixture) deliver(t testing.TB, user, folder, subject string, flags maildir.Flags) maildir.Message {
	t.Helper()
	md, err := f.store(t, user).Folder(folder)
	if err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf("From: Carol <carol@example.org>\r\nTo: alice@example.org\r\nSubject: %s\r\nMessage-ID: <%s@example.org>\r\nDate: Thu, 14 Mar 2024 15:09:26 +0000\r\n\r\nText of %s.\r\n", subject, strings.ReplaceAll(subject, " ", "."), subject)
	m, err := md.Deliver(context.Background(), strings.NewReader(body), &maildir.DeliverOptions{Flags: flags})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// serverState returns "<subject>|<flags letters>" of every message of a
// folder, sorted.
func (f *fixture) serverState(t testing.TB, user, folder string) []string {
	t.Helper()
	md, err := f.store(t, user).Folder(folder)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := md.Sync(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range snap.Messages {
		h, err := md.Header(context.Background(), m.UID, nil)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, h.Get("Subject")+"|"+string(m.Flags))
	}
	sort.Strings(out)
	return out
}

// localState does the same for a plain Maildir a client keeps.
func localState(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	for _, sub := range []string{"new", "cur"} {
		entries, _ := os.ReadDir(filepath.Join(dir, sub))
		for _, e := range entries {
			data, err := os.ReadFile(filepath.Join(dir, sub, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			subj := ""
			for _, l := range strings.Split(string(data), "\n") {
				if strings.HasPrefix(l, "Subject: ") {
					subj = strings.TrimSpace(strings.TrimPrefix(l, "Subject: "))
					break
				}
			}
			n, _ := maildir.ParseName(e.Name())
			flags := n.Flags()
			if i := strings.Index(e.Name(), ":2,"); i >= 0 {
				flags = maildir.MakeFlags(e.Name()[i+3:])
			}
			out = append(out, subj+"|"+string(flags))
		}
	}
	sort.Strings(out)
	return out
}

func sameState(t testing.TB, what string, got []string, want ...string) {
	t.Helper()
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\ngot  %q\nwant %q", what, got, want)
	}
}

func TestPythonImaplib(t *testing.T) {
	python := peertest.LookPath(t, "python3")
	f := newFixture(t, &maildir.Options{MaxMessageBytes: 4096})
	f.deliver(t, "alice", "INBOX", "first", "")
	port := f.listen(t)
	out := run(t, time.Minute, python, "testdata/imaplib_client.py", strconv.Itoa(port))
	if !strings.HasSuffix(strings.TrimSpace(out), "PASS") {
		t.Fatalf("imaplib: %s", out)
	}
	sameState(t, "Work.Herald", f.serverState(t, "alice", "Work.Herald"), "first|F", "from imaplib|S")
	sameState(t, "Archive", f.serverState(t, "alice", "Archive"), "from imaplib|")
}

func TestCurl(t *testing.T) {
	curl := peertest.LookPath(t, "curl")
	f := newFixture(t, nil)
	f.deliver(t, "alice", "INBOX", "for curl", "")
	port := f.listen(t)
	base := "imap://127.0.0.1:" + strconv.Itoa(port)
	out := run(t, 30*time.Second, curl, "-sS", "-u", "alice:secret", base+"/INBOX;UID=1")
	if !strings.Contains(out, "Text of for curl.") {
		t.Fatalf("curl fetch: %q", out)
	}
	out = run(t, 30*time.Second, curl, "-sS", "-u", "alice:secret", base+"/")
	if !strings.Contains(out, `\Sent`) || !strings.Contains(out, "INBOX") {
		t.Fatalf("curl list: %q", out)
	}
	msg := filepath.Join(t.TempDir(), "msg")
	os.WriteFile(msg, []byte("Subject: uploaded\r\n\r\nby curl\r\n"), 0o600)
	run(t, 30*time.Second, curl, "-sS", "-u", "alice:secret", "-T", msg, base+"/Drafts")
	sameState(t, "Drafts", f.serverState(t, "alice", "Drafts"), "uploaded|S")
	out = run(t, 30*time.Second, curl, "-sS", "-u", "alice:secret", base+"/INBOX", "-X", "UID SEARCH SUBJECT curl")
	if !strings.Contains(out, "SEARCH 1") {
		t.Fatalf("curl search: %q", out)
	}
}

// muttIMAP runs mutt on an IMAP folder in a pseudo-terminal, pushes keys
// and prints what it drew, as maildir's mutt test does for local folders.
const muttIMAP = `
import os, pty, select, sys, time
url, keys = sys.argv[1], sys.argv[2]
fmt = 'set imap_pass=secret ssl_starttls=no ssl_force_tls=no sort=mailbox-order index_format="@@%s|%Z@@" wait_key=no quit=yes delete=yes confirmappend=no mail_check=1'
args = ["mutt", "-F", "/dev/null", "-n", "-f", url, "-e", fmt, "-e", 'push "' + keys + '"']
pid, fd = pty.fork()
if pid == 0:
    os.environ["TERM"] = "vt100"
    os.execvp(args[0], args)
buf = b""
deadline = time.time() + 30
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

func TestMuttIMAP(t *testing.T) {
	peertest.LookPath(t, "mutt")
	python := peertest.LookPath(t, "python3")
	f := newFixture(t, nil)
	f.deliver(t, "alice", "INBOX", "one", "")
	f.deliver(t, "alice", "INBOX", "two", maildir.FlagSeen)
	f.deliver(t, "alice", "INBOX", "three", maildir.FlagFlagged)
	port := f.listen(t)
	url := "imap://alice@127.0.0.1:" + strconv.Itoa(port) + "/INBOX"
	// mutt shows the three, deletes the first (which moves to the next),
	// flags the second and
	// syncs.
	out := run(t, time.Minute, python, "-c", muttIMAP, url, "<delete-message><flag-message><sync-mailbox><quit>")
	for _, s := range []string{"@@two|  !@@", "@@three|N !@@"} {
		if !strings.Contains(out, s) {
			t.Errorf("mutt did not show %s:\n%q", s, out)
		}
	}
	sameState(t, "INBOX", f.serverState(t, "alice", "INBOX"), "two|FS", "three|F")
}
