package pop3_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/internal/peertest"
)

// runPeer runs a peer program with env added to the environment and
// returns its combined output; a failure ends the test with the output.
func runPeer(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	path := peertest.LookPath(t, name)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %q: %v\n%s", name, args, err, out)
	}
	return string(out)
}

func portOf(t *testing.T, addr string) string {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// poplibScript drives the Herald server with Python's poplib, and with a
// raw socket for what poplib lacks (AUTH, pipelining). It asserts what a
// POP3 client would see and prints "done" at the end.
const poplibScript = `
import base64, os, poplib, socket, ssl
host = "127.0.0.1"
stls_port = int(os.environ["STLS_PORT"])
tls_port = int(os.environ["TLS_PORT"])
ctx = ssl.create_default_context(cafile=os.environ["CAFILE"])

# USER/PASS is refused in the clear, works after STLS.
p = poplib.POP3(host, stls_port, timeout=20)
caps = p.capa()
assert "STLS" in caps and "USER" not in caps, caps
try:
    p.user("alice")
    raise SystemExit("USER accepted before TLS")
except poplib.error_proto as e:
    assert b"[SYS/PERM]" in e.args[0], e
p.stls(ctx)
caps = p.capa()
assert "USER" in caps and "STLS" not in caps and "PIPELINING" in caps, caps
assert caps["SASL"] == ["PLAIN", "LOGIN"], caps
p.user("alice")
p.pass_("secret")
assert p.stat() == (3, 119), p.stat()
resp, lines, octets = p.list()
assert lines == [b"1 34", b"2 58", b"3 27"], lines
resp, lines, octets = p.uidl()
assert lines == [b"1 m1", b"2 m2", b"3 m3"], lines
assert p.uidl(2).split()[1:] == [b"2", b"m2"], p.uidl(2)
resp, lines, octets = p.retr(1)
assert lines == [b"Subject: one", b"", b"Hello", b".dot line"], lines
resp, lines, octets = p.top(2, 1)
assert lines == [b"Subject: two", b"From: b@example.org", b"", b"line1"], lines
p.dele(1)
assert p.stat() == (2, 85), p.stat()
p.quit()

# Reconnect: message 1 is gone; RSET undoes a DELE; APOP works.
p = poplib.POP3(host, stls_port, timeout=20)
p.apop("alice", "secret")
assert p.stat() == (2, 85), p.stat()
resp, lines, octets = p.uidl()
assert lines == [b"1 m2", b"2 m3"], lines
p.dele(1)
p.rset()
assert p.stat() == (2, 85), p.stat()
p.quit()

# Implicit TLS with POP3_SSL, and a second login while locked.
p = poplib.POP3_SSL(host, tls_port, context=ctx, timeout=20)
p.user("alice")
p.pass_("secret")
q = poplib.POP3_SSL(host, tls_port, context=ctx, timeout=20)
q.user("alice")
try:
    q.pass_("secret")
    raise SystemExit("second login succeeded")
except poplib.error_proto as e:
    assert b"[IN-USE]" in e.args[0], e
q.quit()
p.quit()

# AUTH PLAIN and pipelining over a raw TLS socket.
s = ctx.wrap_socket(socket.create_connection((host, tls_port), timeout=20), server_hostname="localhost")
f = s.makefile("rb")
assert f.readline().startswith(b"+OK")
ir = base64.b64encode(b"\0alice\0secret").decode()
s.sendall(("AUTH PLAIN " + ir + "\r\nSTAT\r\nLIST 2\r\nUIDL 1\r\nNOOP\r\nQUIT\r\n").encode())
got = [f.readline() for _ in range(6)]
assert got == [b"+OK Logged in, 2 messages (85 octets)\r\n", b"+OK 2 85\r\n", b"+OK 2 27\r\n",
    b"+OK 1 m2\r\n", b"+OK\r\n", b"+OK Bye, 0 messages deleted\r\n"], got
s.close()

# AUTH LOGIN with challenges, and a wrong password.
s = ctx.wrap_socket(socket.create_connection((host, tls_port), timeout=20), server_hostname="localhost")
f = s.makefile("rb")
f.readline()
s.sendall(b"AUTH PLAIN " + base64.b64encode(b"\0alice\0nope") + b"\r\n")
assert f.readline().startswith(b"-ERR [AUTH]")
s.sendall(b"AUTH LOGIN\r\n")
assert f.readline() == b"+ VXNlcm5hbWU6\r\n"
s.sendall(base64.b64encode(b"alice") + b"\r\n")
assert f.readline() == b"+ UGFzc3dvcmQ6\r\n"
s.sendall(base64.b64encode(b"secret") + b"\r\n")
line = f.readline()
assert line.startswith(b"+OK Logged in"), line
s.sendall(b"QUIT\r\n")
f.readline()
s.close()
print("done")
`

// TestInteropPoplib runs Python's poplib against the Herald server.
func TestInteropPoplib(t *testing.T) {
	t.Parallel()
	be := newBackend(t)
	cert, _ := writeCertFiles(t, t.TempDir())
	stls := newServer(t, be, "tls apop", nil)
	implicit := newServer(t, be, "tls", nil)
	implicit.ImplicitTLS = true
	implicit.LoginFailureDelay = 10 * time.Millisecond
	stlsAddr, tlsAddr := listen(t, stls), listen(t, implicit)
	out := runPeer(t, []string{"STLS_PORT=" + portOf(t, stlsAddr), "TLS_PORT=" + portOf(t, tlsAddr), "CAFILE=" + cert},
		"python3", "-c", poplibScript)
	if strings.TrimSpace(out) != "done" {
		t.Fatalf("poplib: %s", out)
	}
	if n := be.Count("alice"); n != 2 {
		t.Errorf("alice has %d messages, want 2", n)
	}
}

// TestInteropCurl runs curl's pop3:// and pop3s:// against the Herald
// server: LIST, RETR, a custom UIDL and DELE, with --ssl-reqd.
func TestInteropCurl(t *testing.T) {
	t.Parallel()
	be := newBackend(t)
	cert, _ := writeCertFiles(t, t.TempDir())
	stls := newServer(t, be, "tls", nil)
	implicit := newServer(t, be, "tls", nil)
	implicit.ImplicitTLS = true
	stlsURL := "pop3://127.0.0.1:" + portOf(t, listen(t, stls))
	tlsURL := "pop3s://127.0.0.1:" + portOf(t, listen(t, implicit))
	curl := func(args ...string) string {
		return runPeer(t, nil, "curl", append([]string{"--silent", "--show-error", "--max-time", "30", "--cacert", cert, "--user", "alice:secret"}, args...)...)
	}
	if got := curl("--ssl-reqd", stlsURL+"/"); got != "1 34\r\n2 58\r\n3 27\r\n" {
		t.Errorf("LIST = %q", got)
	}
	if got := curl("--ssl-reqd", stlsURL+"/1"); got != fixture[0] {
		t.Errorf("RETR 1 = %q", got)
	}
	if got := curl(tlsURL+"/", "-X", "UIDL"); got != "1 m1\r\n2 m2\r\n3 m3\r\n" {
		t.Errorf("UIDL = %q", got)
	}
	if got := curl(tlsURL + "/3"); got != "Subject: three\r\n\r\nbare lf\r\n" {
		t.Errorf("RETR 3 = %q", got)
	}
	curl(tlsURL+"/2", "-X", "DELE", "--request-target", "2", "-I")
	if got := curl(tlsURL+"/", "-X", "UIDL"); got != "1 m1\r\n2 m3\r\n" {
		t.Errorf("UIDL after DELE = %q", got)
	}
	// With --ssl (TLS if offered) curl upgrades with STLS by itself.
	cmd := exec.Command(peertest.LookPath(t, "curl"), "--silent", "--max-time", "30", "--user", "alice:secret", "--ssl", "--insecure", stlsURL+"/")
	if out, err := cmd.CombinedOutput(); err != nil || string(out) != "1 34\r\n2 27\r\n" {
		t.Errorf("curl --ssl: %q, %v", out, err)
	}
}
