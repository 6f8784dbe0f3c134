package pop3maildir_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/internal/peertest"
	"github.com/heraldmail/herald/maildir"
)

// runPeer runs a peer program with env added to the environment and
// returns its combined output and exit code; it fails the test when the
// program cannot run.
func runPeer(t *testing.T, env []string, name string, args ...string) (string, int) {
	t.Helper()
	path := peertest.LookPath(t, name)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("%s %q: %v\n%s", name, args, err, out)
	}
	return string(out), 0
}

func port(t *testing.T, addr string) string {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// poplibScript reads alice's maildrop with Python's poplib: LIST sizes,
// 16-character UIDLs, RETR of LF and dot lines, TOP, DELE and QUIT, and
// IN-USE for a second session.
const poplibScript = `
import os, poplib
port = int(os.environ["PORT"])
want = os.environ["UIDLS"].split()
p = poplib.POP3("127.0.0.1", port, timeout=20)
p.user("alice")
p.pass_("secret")
assert p.stat() == (3, 87), p.stat()
resp, lines, _ = p.list()
assert lines == [b"1 23", b"2 30", b"3 34"], lines
resp, lines, _ = p.uidl()
assert [l.split()[1].decode() for l in lines] == want, (lines, want)
resp, lines, _ = p.retr(2)
assert lines == [b"Subject: two", b"", b"line1", b"line2"], lines
resp, lines, _ = p.retr(3)
assert lines == [b"Subject: three", b"", b".dot line", b"end"], lines
resp, lines, _ = p.top(1, 0)
assert lines == [b"Subject: one", b""], lines
q = poplib.POP3("127.0.0.1", port, timeout=20)
q.user("alice")
try:
    q.pass_("secret")
    raise SystemExit("second session got the maildrop")
except poplib.error_proto as e:
    assert b"[IN-USE]" in e.args[0], e
q.quit()
p.dele(1)
p.quit()
print("done")
`

// TestInteropPoplib runs Python's poplib against Herald and pop3maildir.
func TestInteropPoplib(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "", nil, fixture...)
	out, code := runPeer(t, []string{"PORT=" + port(t, e.addr), "UIDLS=" + strings.Join(uidls(t, e.store), " ")}, "python3", "-c", poplibScript)
	if code != 0 || strings.TrimSpace(out) != "done" {
		t.Fatalf("poplib (exit %d):\n%s", code, out)
	}
	waitUnlocked(t, e.root)
	s := snapshot(t, e.store)
	if len(s.Messages) != 2 || !s.Messages[0].Flags.Has(maildir.FlagSeen) || !s.Messages[1].Flags.Has(maildir.FlagSeen) {
		t.Errorf("after poplib: %+v; want messages 2 and 3, seen", s.Messages)
	}
}

// TestInteropCurl runs curl's pop3:// against Herald and pop3maildir:
// LIST, UIDL, RETR and DELE.
func TestInteropCurl(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "", nil, fixture...)
	url := "pop3://127.0.0.1:" + port(t, e.addr)
	curl := func(args ...string) string {
		t.Helper()
		out, code := runPeer(t, nil, "curl", append([]string{"--silent", "--show-error", "--max-time", "30", "--user", "alice:secret"}, args...)...)
		if code != 0 {
			t.Fatalf("curl %q: exit %d\n%s", args, code, out)
		}
		waitUnlocked(t, e.root)
		return out
	}
	if got := curl(url + "/"); got != "1 23\r\n2 30\r\n3 34\r\n" {
		t.Errorf("LIST = %q", got)
	}
	ul := uidls(t, e.store)
	if got, want := curl(url+"/", "-X", "UIDL"), "1 "+ul[0]+"\r\n2 "+ul[1]+"\r\n3 "+ul[2]+"\r\n"; got != want {
		t.Errorf("UIDL = %q, want %q", got, want)
	}
	if got := curl(url + "/2"); got != crlf(fixture[1]) {
		t.Errorf("RETR 2 = %q", got)
	}
	curl(url+"/1", "-X", "DELE", "--request-target", "1", "-I")
	if got, want := curl(url+"/", "-X", "UIDL"), "1 "+ul[1]+"\r\n2 "+ul[2]+"\r\n"; got != want {
		t.Errorf("UIDL after DELE = %q, want %q", got, want)
	}
}

// TestInteropFetchmail runs fetchmail over POP3 with STLS, delivering to
// an mda command that appends to a file in a temporary directory: first
// keeping the messages and remembering their UIDLs, then once more to
// find nothing new, then fetching and deleting them all.
func TestInteropFetchmail(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "", nil, fixture...)
	dir := t.TempDir()
	certFile, tlsConfig := writeCert(t, dir)
	e.server.TLSConfig = tlsConfig
	e.server.Auth.AllowInsecure = false
	out := filepath.Join(dir, "delivered")
	rc := func(extra string) string {
		p := filepath.Join(dir, "fetchmailrc")
		conf := "set no bouncemail\nset no syslog\n" +
			"poll localhost via 127.0.0.1 protocol pop3 port " + port(t, e.addr) + " uidl\n" +
			"  user alice there with password secret is alice here\n" +
			"  sslproto TLS1.2+ sslcertck sslcertfile " + certFile + " sslcommonname localhost\n" +
			"  mda \"cat >> " + out + "\"\n" + extra
		if err := os.WriteFile(p, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fetch := func(extra string, wantCode int) string {
		t.Helper()
		got, code := runPeer(t, []string{"HOME=" + dir}, "fetchmail", "-N", "-v", "-f", rc(extra), "-i", filepath.Join(dir, "fetchids"), "--pidfile", filepath.Join(dir, "pid"))
		if code != wantCode {
			t.Fatalf("fetchmail: exit %d, want %d\n%s", code, wantCode, got)
		}
		waitUnlocked(t, e.root)
		return got
	}
	log := fetch("  keep\n", 0)
	if !strings.Contains(log, "STLS") {
		t.Errorf("fetchmail did not use STLS:\n%s", log)
	}
	data, _ := os.ReadFile(out)
	for _, m := range fixture {
		if !strings.Contains(strings.ReplaceAll(string(data), "\r\n", "\n"), strings.ReplaceAll(m, "\r\n", "\n")) {
			t.Errorf("fetchmail did not deliver %q; got\n%s", m, data)
		}
	}
	if got := len(snapshot(t, e.store).Messages); got != 3 {
		t.Fatalf("keep: %d messages left, want 3", got)
	}
	fetch("  keep\n", 1) // 1: no new mail, by the UIDLs it remembered
	fetch("  fetchall\n", 0)
	if got := len(snapshot(t, e.store).Messages); got != 0 {
		t.Errorf("after fetchall: %d messages left, want 0", got)
	}
}
