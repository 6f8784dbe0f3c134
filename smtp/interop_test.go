package smtp_test

import (
	"context"
	"encoding/pem"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/internal/peertest"
	"github.com/heraldmail/herald/smtp"
)

// Interop tests run real clients against the server on 127.0.0.1. A missing
// program skips the test, unless HERALD_INTEROP=1 asks for all of them.

func needTool(t *testing.T, name string) string {
	t.Helper()
	return peertest.LookPath(t, name)
}

// listen serves s on a free loopback port until the test ends.
func listen(t *testing.T, s *smtp.Server) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		<-done
	})
	return l.Addr().String()
}

func run(t *testing.T, stdin string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %q: %v\n%s", name, args, err, out)
	}
	return string(out)
}

func hostPort(t *testing.T, addr string) (string, string) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return h, p
}

// python runs a Python script with HOST, PORT and CAFILE in its
// environment.
func python(t *testing.T, addr, cafile, script string) string {
	t.Helper()
	py := needTool(t, "python3")
	h, p := hostPort(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "-c", script)
	cmd.Env = append(os.Environ(), "HOST="+h, "PORT="+p, "CAFILE="+cafile)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	return string(out)
}

func TestInteropPythonPlain(t *testing.T) {
	t.Parallel()
	be := &testBackend{}
	addr := listen(t, newServer(t, be, "received", io.Discard))
	out := python(t, addr, "", `
import os, smtplib
s = smtplib.SMTP(os.environ["HOST"], int(os.environ["PORT"]))
code, _ = s.ehlo("python.test")
assert code == 250
assert s.has_extn("pipelining") and s.has_extn("size") and s.has_extn("8bitmime")
refused = s.sendmail("alice@example.org", ["bob@example.net", "unknown@example.net"],
    b"Subject: hi\r\n\r\n.leading dot\r\nbody\r\n")
print("refused", sorted(refused))
print("vrfy", s.verify("root")[0])
s.quit()
`)
	if !strings.Contains(out, "refused ['unknown@example.net']") || !strings.Contains(out, "vrfy 252") {
		t.Fatalf("python output: %s", out)
	}
	m := be.Messages()
	if len(m) != 1 || withoutTrace(t, m[0], "ESMTP") != "Subject: hi\r\n\r\n.leading dot\r\nbody\r\n" || len(m[0].To) != 1 || m[0].From.Mailbox() != "alice@example.org" {
		t.Fatalf("stored: %+v", m)
	}
}

func TestInteropPythonStartTLSAuthPlain(t *testing.T) {
	t.Parallel()
	srvTLS, cliTLS := testTLS(t)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srvTLS.Certificates[0].Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = cliTLS
	// AUTH through Server.Auth, the interface imap and pop3 share.
	be := &testBackend{serverAuth: true}
	s := newServer(t, be, "received", io.Discard)
	s.TLSConfig = srvTLS
	s.Auth = testAuth()
	addr := listen(t, s)
	out := python(t, addr, ca, `
import os, smtplib, ssl
ctx = ssl.create_default_context(cafile=os.environ["CAFILE"])
ctx.check_hostname = False
s = smtplib.SMTP(os.environ["HOST"], int(os.environ["PORT"]))
s.ehlo("python.test")
assert s.has_extn("starttls")
assert not s.has_extn("auth"), "AUTH offered before TLS"
s.starttls(context=ctx)
s.ehlo("python.test")
print("auth", s.esmtp_features.get("auth"))
try:
    s.login("user", "wrong")
except smtplib.SMTPAuthenticationError as e:
    print("badlogin", e.smtp_code)
s.user, s.password = "user", "pass"
code, _ = s.auth("PLAIN", s.auth_plain)
print("login", code)
s.sendmail("user@example.org", ["bob@example.net"], b"Subject: tls\r\n\r\nsecret\r\n")
s.quit()
`)
	if !strings.Contains(out, "PLAIN LOGIN") || !strings.Contains(out, "badlogin 535") || !strings.Contains(out, "login 235") {
		t.Fatalf("python output: %s", out)
	}
	m := be.Messages()
	if len(m) != 1 || m[0].Info.TLS == nil || m[0].Info.AuthIdentity != "user" || m[0].Info.AuthMechanism != "PLAIN" ||
		withoutTrace(t, m[0], "ESMTPSA") != "Subject: tls\r\n\r\nsecret\r\n" {
		t.Fatalf("stored: %+v", m)
	}
}

func TestInteropPythonSMTPUTF8(t *testing.T) {
	t.Parallel()
	be := &testBackend{}
	addr := listen(t, newServer(t, be, "received", io.Discard))
	out := python(t, addr, "", `
import os, smtplib
s = smtplib.SMTP(os.environ["HOST"], int(os.environ["PORT"]))
s.ehlo("python.test")
assert s.has_extn("smtputf8")
s.sendmail("jörg@bücher.example", ["用户@例子.广告"], "Subject: grüße\r\n\r\nhej\r\n".encode("utf-8"),
    mail_options=["SMTPUTF8", "BODY=8BITMIME"])
try:
    s.sendmail("jörg@bücher.example", ["x@example.org"], b"x\r\n")
except (smtplib.SMTPSenderRefused, UnicodeEncodeError) as e:
    print("refused without SMTPUTF8", type(e).__name__)
s.quit()
`)
	if !strings.Contains(out, "refused without SMTPUTF8") {
		t.Fatalf("python output: %s", out)
	}
	m := be.Messages()
	if len(m) != 1 || m[0].From.Local != "jörg" || m[0].To[0].Domain != "例子.广告" || !m[0].Mail.UTF8 || withoutTrace(t, m[0], "UTF8SMTP") != "Subject: grüße\r\n\r\nhej\r\n" {
		t.Fatalf("stored: %+v", m)
	}
}

func TestInteropSwaksPipelining(t *testing.T) {
	t.Parallel()
	swaks := needTool(t, "swaks")
	be := &testBackend{}
	addr := listen(t, newServer(t, be, "", io.Discard))
	out := run(t, "", swaks, "--server", addr, "--from", "a@example.org", "--to", "b@example.org,c@example.org",
		"--pipeline", "--ehlo", "swaks.test", "--header", "Subject: pipelined", "--body", "line\n.dot\n")
	if !strings.Contains(out, "250 2.0.0 Message accepted for delivery") {
		t.Fatalf("swaks output: %s", out)
	}
	m := be.Messages()
	if len(m) != 1 || len(m[0].To) != 2 || !strings.Contains(m[0].Data, "\r\n.dot\r\n") || !strings.Contains(m[0].Data, "Subject: pipelined\r\n") {
		t.Fatalf("stored: %+v", m)
	}
}

func TestInteropSwaksLMTP(t *testing.T) {
	t.Parallel()
	swaks := needTool(t, "swaks")
	be := &testBackend{}
	addr := listen(t, newServer(t, be, "lmtp", io.Discard))
	out := run(t, "", swaks, "--server", addr, "--protocol", "LMTP", "--from", "a@example.org",
		"--to", "b@example.org,full@example.org", "--ehlo", "swaks.test", "--body", "lmtp body")
	if !strings.Contains(out, "250 2.0.0 <b@example.org> Message accepted for delivery") || !strings.Contains(out, "552 5.2.2 Mailbox full") {
		t.Fatalf("swaks output: %s", out)
	}
	if m := be.Messages(); len(m) != 1 || !m[0].Info.LMTP {
		t.Fatalf("stored: %+v", m)
	}
}

// TestSmugglingOverTCP sends every smuggling variant over a real TCP
// connection in one write, the way an attacker behind a lenient outbound
// relay would get it delivered. No injected transaction may run. (swaks and
// other real clients normalise line endings, so they cannot send these.)
func TestSmugglingOverTCP(t *testing.T) {
	t.Parallel()
	be := &testBackend{}
	addr := listen(t, newServer(t, be, "", io.Discard))
	for _, end := range []string{"\n.\n", "\r.\r", "\n.\r\n", "\r\n.\n", "\r.\r\n", "\r\n.\r", "\r\n.\r\r\n", "\n\r.\r\n"} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		_, err = io.WriteString(c, "EHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n"+
			"Subject: x\r\n\r\nhello"+end+
			"MAIL FROM:<admin@example.org>\r\nRCPT TO:<victim@example.org>\r\nDATA\r\nSubject: smuggled\r\n\r\n.\r\nQUIT\r\n")
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(c)
		c.Close()
		if !strings.HasSuffix(string(out), "521 5.5.2 Bare CR or LF in message data not allowed\r\n") || strings.Count(string(out), "Sender OK") != 1 {
			t.Errorf("%q: server said %q", end, out)
		}
	}
	if m := be.Messages(); len(m) != 0 {
		t.Fatalf("stored: %+v", m)
	}
}

func TestInteropCurl(t *testing.T) {
	t.Parallel()
	curl := needTool(t, "curl")
	be := &testBackend{}
	addr := listen(t, newServer(t, be, "received", io.Discard))
	msg := "From: a@example.org\r\nTo: b@example.org\r\nSubject: curl\r\n\r\nuploaded\r\n.line\r\n"
	run(t, msg, curl, "--silent", "--show-error", "smtp://"+addr+"/curl.test",
		"--mail-from", "a@example.org", "--mail-rcpt", "b@example.org", "--upload-file", "-")
	m := be.Messages()
	if len(m) != 1 || m[0].Info.HeloName != "curl.test" || withoutTrace(t, m[0], "ESMTP") != msg {
		t.Fatalf("stored: %+v", m)
	}
}

func TestInteropSmtpSource(t *testing.T) {
	t.Parallel()
	src := "/usr/sbin/smtp-source"
	if _, err := os.Stat(src); err != nil {
		src = needTool(t, "smtp-source")
	}
	be := &testBackend{}
	addr := listen(t, newServer(t, be, "", io.Discard))
	run(t, "", src, "-s", "3", "-m", "30", "-l", "2000", "-d", "-f", "src@example.org", "-t", "dst@example.org", addr)
	m := be.Messages()
	if len(m) != 30 {
		t.Fatalf("%d messages stored, want 30", len(m))
	}
	for _, x := range m {
		if len(x.Data) < 2000 || x.From.Mailbox() != "src@example.org" {
			t.Fatalf("stored: %+v", x)
		}
	}
}
