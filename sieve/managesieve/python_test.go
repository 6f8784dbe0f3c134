package managesieve_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/internal/peertest"
)

// pythonFlow is a ManageSieve session written from scratch in Python on a
// raw socket, a client independent of this package's: STARTTLS, PLAIN,
// PUTSCRIPT with a {n+} literal, SETACTIVE, LISTSCRIPTS, GETSCRIPT with
// its {n} literal, LOGOUT. It prints what it read.
const pythonFlow = `
import base64, socket, ssl, sys
host, port = sys.argv[1], int(sys.argv[2])
s = socket.create_connection((host, port), timeout=10)
f = s.makefile("rb")
def until_ok(f):
    lines = []
    while True:
        l = f.readline()
        if not l:
            raise SystemExit("closed: %r" % lines)
        l = l.rstrip(b"\r\n")
        if l.endswith(b"}") and b"{" in l:
            n = int(l[l.rindex(b"{")+1:-1])
            data = f.read(n)
            rest = f.readline().rstrip(b"\r\n")
            lines.append(data + rest)
            continue
        lines.append(l)
        if l[:2] in (b"OK", b"NO") or l[:3] == b"BYE":
            return lines
greeting = until_ok(f)
assert b'"STARTTLS"' in greeting, greeting
assert b'"SASL" ""' in greeting, greeting
s.sendall(b"STARTTLS\r\n")
assert until_ok(f)[-1].startswith(b"OK")
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = ctx.wrap_socket(s, server_hostname="localhost")
f = s.makefile("rb")
caps = until_ok(f)
assert b'"SASL" "PLAIN LOGIN"' in caps, caps
ir = base64.b64encode(b"\0alice\0secret")
s.sendall(b'AUTHENTICATE "PLAIN" "' + ir + b'"\r\n')
print("auth", until_ok(f)[-1].decode())
script = b'require "fileinto";\r\nfileinto "py";\r\n'
s.sendall(b'PUTSCRIPT "py" {%d+}\r\n' % len(script) + script + b"\r\n")
print("put", until_ok(f)[-1].decode())
s.sendall(b'SETACTIVE "py"\r\nLISTSCRIPTS\r\n')
print("setactive", until_ok(f)[-1].decode())
print("list", until_ok(f)[:-1])
s.sendall(b'GETSCRIPT "py"\r\n')
got = until_ok(f)
print("get", got[0] == script)
s.sendall(b"LOGOUT\r\n")
print("logout", until_ok(f)[-1].decode())
`

func TestPythonRawClient(t *testing.T) {
	t.Parallel()
	py := peertest.LookPath(t, "python3")
	be := newBackend()
	addr := listen(t, newServer(t, be, "tls", nil))
	host, port, _ := strings.Cut(addr, ":")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "-c", pythonFlow, host, port).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	want := `auth OK "Logged in"
put OK "Script stored"
setactive OK "Script activated"
list [b'"py" ACTIVE']
get True
logout OK "Logout completed"
`
	if string(out) != want {
		t.Fatalf("python output:\n%s\nwant:\n%s", out, want)
	}
	if name, _ := be.Active("alice"); name != "py" {
		t.Fatalf("active script %q", name)
	}
}
