package main

import (
	"bytes"
	"encoding/xml"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heraldmail/herald/dnsmx/dnstest"
	"github.com/heraldmail/herald/internal/peertest"
)

const (
	alicePW = "alice-password-1"
	bobPW   = "bob-password-22"
)

// sink starts a Postfix smtp-sink on ip:port with extra options, dumping
// each message into the returned directory.
func sink(t *testing.T, ip string, port int, opts ...string) string {
	t.Helper()
	bin := peertest.LookPath(t, "smtp-sink")
	dumps := t.TempDir()
	for _, d := range []string{filepath.Dir(dumps), dumps} {
		require.NoError(t, os.Chmod(d, 0o777))
	}
	addr := net.JoinHostPort(ip, strconv.Itoa(port))
	args := []string{"-d", dumps + "/%M%S."}
	if os.Geteuid() == 0 {
		args = append(args, "-u", "nobody")
	}
	args = append(append(args, opts...), addr, "16")
	cmd := exec.Command(bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-done })
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return dumps
		}
		select {
		case <-done:
			t.Fatalf("smtp-sink exited: %s", stderr.String())
		default:
		}
		require.True(t, time.Now().Before(deadline), "smtp-sink not listening on %s", addr)
		time.Sleep(20 * time.Millisecond)
	}
}

func dumps(t *testing.T, dir string) []string {
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		out = append(out, string(b))
	}
	return out
}

func remoteZone() *dnstest.Zone {
	return dnstest.NewZone().
		AddMX("remote.test", 10, "mx.remote.test").AddA("mx.remote.test", "127.0.0.1").
		AddMX("bounce.test", 10, "mx.bounce.test").AddA("mx.bounce.test", "127.0.0.2")
}

func hostPort(addr string) (string, string) {
	h, p, _ := net.SplitHostPort(addr)
	return h, p
}

const readBackPy = `
import imaplib, poplib, ssl, sys, base64
host, imaps, pop3s, user, pw = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
m = imaplib.IMAP4_SSL(host, imaps, ssl_context=ctx)
m.login(user, pw)
typ, data = m.select('INBOX')
n = int(data[0])
for i in range(1, n + 1):
    typ, d = m.fetch(str(i), '(BODY.PEEK[])')
    print('imap', base64.b64encode(d[0][1]).decode())
m.logout()
p = poplib.POP3_SSL(host, pop3s, context=ctx)
p.user(user); p.pass_(pw)
count, _ = p.stat()
for i in range(1, count + 1):
    resp, lines, octets = p.retr(i)
    print('pop3', base64.b64encode(b''.join(l + b'\r\n' for l in lines)).decode())
p.quit()
`

// readBack returns user's INBOX as imaplib and poplib fetch it, in order.
func readBack(t *testing.T, in *instance, user, pw string) (imapMsgs, popMsgs []string) {
	host, imaps := hostPort(in.addr["imaps"])
	_, pop3s := hostPort(in.addr["pop3s"])
	out := python(t, readBackPy, host, imaps, pop3s, user, pw)
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		kind, b64, _ := strings.Cut(line, " ")
		b, err := decodeB64(b64)
		require.NoError(t, err)
		if kind == "imap" {
			imapMsgs = append(imapMsgs, b)
		} else {
			popMsgs = append(popMsgs, b)
		}
	}
	return imapMsgs, popMsgs
}

func TestMXDeliveryReadBack(t *testing.T) {
	in := newInstance(t, nil)
	in.start()
	in.addUser("alice@example.test", alicePW)
	host, port := hostPort(in.addr["smtp"])

	swaks := peertest.LookPath(t, "swaks")
	out, err := exec.Command(swaks, "--server", host, "--port", port, "--from", "someone@remote.test",
		"--to", "Alice@Example.Test", "--header", "Subject: from swaks", "--body", "Hello from swaks.").CombinedOutput()
	require.NoError(t, err, string(out))
	require.Contains(t, string(out), "<-  250 2.0.0 ")

	msg := "From: Someone <someone@remote.test>\r\nTo: alice@example.test\r\nSubject: from smtplib\r\n" +
		"Message-ID: <1@remote.test>\r\nDate: Mon, 7 Dec 2026 10:00:00 +0000\r\n\r\nLine one.\r\n.leading dot\r\nLast line.\r\n"
	python(t, `
import smtplib, sys
s = smtplib.SMTP(sys.argv[1], int(sys.argv[2]))
s.sendmail('someone@remote.test', ['alice@example.test'], sys.argv[3].encode())
s.quit()
`, host, port, msg)

	disk := in.waitInbox("alice@example.test", 2, 10*time.Second)
	var stored string
	for _, m := range disk {
		if strings.Contains(m, "from smtplib") {
			stored = m
		}
	}
	require.NotEmpty(t, stored)
	// The policy's trace fields come first, above the Received: field
	// (RFC 7208 section 9.1), then the Received: field of this hop.
	require.True(t, strings.HasPrefix(stored, "Received-SPF: none (mx.example.test: "), stored)
	_, rest, _ := strings.Cut(stored, "\r\nAuthentication-Results: mx.example.test; spf=none")
	_, rest, _ = strings.Cut(rest, "\r\nX-Herald-Spam: no score=")
	_, rest, ok := strings.Cut(rest, "\r\nReceived: from ")
	require.True(t, ok, stored)
	require.NotContains(t, rest, "X-Herald-Spam")
	require.Contains(t, stored, "by mx.example.test")
	// The Received: id is the transaction's id in the server's log.
	m := regexp.MustCompile(` id ([a-z0-9]+)`).FindStringSubmatch(stored)
	require.NotNil(t, m, stored)
	require.Contains(t, in.log.String(), "msg=accepted proto=mx")
	require.Regexp(t, `msg=accepted .*id=`+m[1], in.log.String())
	require.True(t, strings.HasSuffix(stored, msg), "stored message does not end with what was sent:\n%q", stored)

	imapMsgs, popMsgs := readBack(t, in, "alice@example.test", alicePW)
	require.Len(t, imapMsgs, 2)
	require.Equal(t, imapMsgs, popMsgs, "IMAP and POP3 disagree")
	require.Contains(t, imapMsgs, stored, "IMAP did not return the stored bytes")

	curl := peertest.LookPath(t, "curl")
	imapHost, imapPort := hostPort(in.addr["imap"])
	for i, want := range imapMsgs {
		out, err := exec.Command(curl, "-s", "-S", "--ssl-reqd", "-k", "-u", "alice@example.test:"+alicePW,
			"imap://"+imapHost+":"+imapPort+"/INBOX;MAILINDEX="+strconv.Itoa(i+1)).Output()
		require.NoError(t, err)
		require.Equal(t, want, string(out), "curl imap:// message %d", i+1)
	}
	in.stop()
}

func TestSubmission(t *testing.T) {
	in := newInstance(t, remoteZone())
	remote := sink(t, "127.0.0.1", in.outPort)
	sink(t, "127.0.0.2", in.outPort, "-f", "RCPT")
	in.start()
	in.addUser("alice@example.test", alicePW)
	in.addUser("bob@other.test", bobPW)
	out, err := in.cli("", "alias", "info@example.test", "alice@example.test")
	require.NoError(t, err, out)
	host, sub := hostPort(in.addr["submission"])
	_, subs := hostPort(in.addr["submissions"])

	script := `
import smtplib, ssl, sys
host, port, mode, user, pw, sender, rcpts, msg = sys.argv[1:9]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
if mode == 'ssl':
    s = smtplib.SMTP_SSL(host, int(port), context=ctx)
else:
    s = smtplib.SMTP(host, int(port)); s.starttls(context=ctx)
try:
    s.login(user, pw)
    s.sendmail(sender, rcpts.split(','), msg.encode())
    print('ok')
except smtplib.SMTPException as e:
    print('error', getattr(e, 'smtp_code', ''), getattr(e, 'smtp_error', e))
    try:
        print('codes', {k: v[0] for k, v in e.recipients.items()})
    except AttributeError:
        pass
s.quit()
`
	// Over 587 with STARTTLS: a local recipient, a remote one and a Bcc,
	// with no Date or Message-ID.
	msg := "From: Alice <alice@example.test>\r\nTo: bob@other.test, carol@remote.test\r\nBcc: hidden@remote.test\r\nSubject: hello\r\n\r\nHi Bob and Carol.\r\n"
	require.Equal(t, "ok\n", python(t, script, host, sub, "starttls", "alice@example.test", alicePW,
		"alice@example.test", "bob@other.test,carol@remote.test,hidden@remote.test", msg))
	got := in.waitInbox("bob@other.test", 1, 10*time.Second)[0]
	require.Contains(t, got, "Subject: hello")
	require.Contains(t, got, "\r\nDate: ")
	require.Contains(t, got, "\r\nMessage-ID: <")
	require.NotContains(t, got, "Bcc")
	require.NotContains(t, got, "hidden@remote.test")
	require.Eventually(t, func() bool {
		d := dumps(t, remote)
		return len(d) == 1 && strings.Contains(d[0], "Hi Bob and Carol.") && !strings.Contains(d[0], "Bcc:")
	}, 20*time.Second, 50*time.Millisecond, "no message at the remote smtp-sink\n%s", in.log.String())

	// Over 465 with implicit TLS, from an alias.
	require.Equal(t, "ok\n", python(t, script, host, subs, "ssl", "alice@example.test", alicePW,
		"info@example.test", "bob@other.test", "From: info@example.test\r\nSubject: via 465\r\n\r\nAlias.\r\n"))
	in.waitInbox("bob@other.test", 2, 10*time.Second)

	// A forged From: header, and a MAIL FROM that is not Bob's.
	forged := python(t, script, host, sub, "starttls", "bob@other.test", bobPW,
		"bob@other.test", "alice@example.test", "From: alice@example.test\r\nSubject: forged\r\n\r\nx\r\n")
	require.True(t, strings.HasPrefix(forged, "error 553 "), forged)
	forged = python(t, script, host, sub, "starttls", "bob@other.test", bobPW,
		"alice@example.test", "alice@example.test", "From: bob@other.test\r\n\r\nx\r\n")
	require.Contains(t, forged, "553", forged)

	// A remote recipient refused with 550: a DSN in Alice's INBOX.
	before := len(in.inbox("alice@example.test"))
	require.Equal(t, "ok\n", python(t, script, host, sub, "starttls", "alice@example.test", alicePW,
		"alice@example.test", "dave@bounce.test", "From: alice@example.test\r\nSubject: to dave\r\n\r\nHello Dave.\r\n"))
	msgs := in.waitInbox("alice@example.test", before+1, 20*time.Second)
	var dsnMsg string
	for _, m := range msgs {
		if strings.Contains(m, "multipart/report") {
			dsnMsg = m
		}
	}
	require.NotEmpty(t, dsnMsg, "no DSN among %d messages", len(msgs))
	require.Contains(t, dsnMsg, "dave@bounce.test")
	require.Contains(t, dsnMsg, "Action: failed")
	require.Contains(t, dsnMsg, "Status: 5.")
	in.stop()
}

func TestLoginAndWrongPassword(t *testing.T) {
	in := newInstance(t, nil)
	in.start()
	in.addUser("alice@example.test", alicePW)
	host, sub := hostPort(in.addr["submission"])
	_, imapsPort := hostPort(in.addr["imaps"])
	_, pop3sPort := hostPort(in.addr["pop3s"])
	script := `
import smtplib, imaplib, poplib, ssl, sys
host, sub, imaps, pop3s, user, pw = sys.argv[1:7]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP(host, int(sub)); s.starttls(context=ctx)
try:
    s.login(user, pw); print('smtp ok')
except smtplib.SMTPAuthenticationError as e:
    print('smtp', e.smtp_code, e.smtp_error.decode())
m = imaplib.IMAP4_SSL(host, int(imaps), ssl_context=ctx)
try:
    m.login(user, pw); print('imap ok')
except imaplib.IMAP4.error as e:
    print('imap', e)
p = poplib.POP3_SSL(host, int(pop3s), context=ctx)
try:
    p.user(user); p.pass_(pw); print('pop3 ok')
except poplib.error_proto as e:
    print('pop3', e)
`
	ok := python(t, script, host, sub, imapsPort, pop3sPort, "alice@example.test", alicePW)
	require.Equal(t, "smtp ok\nimap ok\npop3 ok\n", ok)
	bad := python(t, script, host, sub, imapsPort, pop3sPort, "alice@example.test", "wrong-password")
	lines := strings.Split(strings.TrimSpace(bad), "\n")
	require.Len(t, lines, 3, bad)
	require.True(t, strings.HasPrefix(lines[0], "smtp 535 5.7.8"), lines[0])
	require.Contains(t, lines[1], "AUTHENTICATIONFAILED")
	require.Contains(t, lines[2], "-ERR [AUTH]")
	// Changing the password takes effect at once.
	out, err := in.cli("new-password-333\n", "passwd", "alice@example.test")
	require.NoError(t, err, out)
	require.Equal(t, "smtp ok\nimap ok\npop3 ok\n", python(t, script, host, sub, imapsPort, pop3sPort, "alice@example.test", "new-password-333"))
	// The password is not stored in clear.
	b, err := os.ReadFile(filepath.Join(in.dir, "users"))
	require.NoError(t, err)
	require.NotContains(t, string(b), "new-password-333")
	require.Contains(t, string(b), "$argon2id$")
}

func TestAutoconfigAndMTASTS(t *testing.T) {
	in := newInstance(t, nil)
	in.start()
	resp, err := http.Get("http://" + in.addr["http"] + "/mail/config-v1.1.xml?emailaddress=alice@other.test")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	var cfg struct {
		Provider struct {
			ID       string   `xml:"id,attr"`
			Domains  []string `xml:"domain"`
			Incoming []struct {
				Type     string `xml:"type,attr"`
				Hostname string `xml:"hostname"`
				Port     int    `xml:"port"`
				Socket   string `xml:"socketType"`
				Username string `xml:"username"`
			} `xml:"incomingServer"`
			Outgoing []struct {
				Type   string `xml:"type,attr"`
				Port   int    `xml:"port"`
				Socket string `xml:"socketType"`
			} `xml:"outgoingServer"`
		} `xml:"emailProvider"`
	}
	require.NoError(t, xml.Unmarshal(body, &cfg), string(body))
	require.Equal(t, "other.test", cfg.Provider.ID)
	require.Equal(t, []string{"example.test", "other.test"}, cfg.Provider.Domains)
	ports := map[string]int{}
	for _, s := range cfg.Provider.Incoming {
		require.Equal(t, "mx.example.test", s.Hostname)
		require.Equal(t, "%EMAILADDRESS%", s.Username)
		ports[s.Type+"/"+s.Socket] = s.Port
	}
	for _, s := range cfg.Provider.Outgoing {
		ports[s.Type+"/"+s.Socket] = s.Port
	}
	p := func(name string) int { _, n := hostPort(in.addr[name]); v, _ := strconv.Atoi(n); return v }
	require.Equal(t, map[string]int{
		"imap/SSL": p("imaps"), "imap/STARTTLS": p("imap"), "pop3/SSL": p("pop3s"), "pop3/STARTTLS": p("pop3"),
		"smtp/SSL": p("submissions"), "smtp/STARTTLS": p("submission"),
	}, ports)

	resp, err = http.Get("http://" + in.addr["http"] + "/.well-known/mta-sts.txt")
	require.NoError(t, err)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, "version: STSv1\r\nmode: testing\r\nmx: mx.example.test\r\nmax_age: 604800\r\n", string(body))
}

// TestSmarthost sends everything for other domains through -smarthost,
// here a Postfix smtp-sink without TLS, instead of looking up MX hosts.
func TestSmarthost(t *testing.T) {
	relay := freeAddr(t, "127.0.0.1")
	_, rp := hostPort(relay)
	port, _ := strconv.Atoi(rp)
	dir := sink(t, "127.0.0.1", port)
	in := newInstance(t, nil, "-smarthost", relay)
	in.start()
	in.addUser("alice@example.test", alicePW)
	host, sub := hostPort(in.addr["submission"])
	out := python(t, `
import smtplib, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP(sys.argv[1], int(sys.argv[2])); s.starttls(context=ctx)
s.login('alice@example.test', sys.argv[3])
s.sendmail('alice@example.test', ['someone@nowhere.test'], b'From: alice@example.test\r\nSubject: via relay\r\n\r\nRelayed.\r\n')
s.quit()
print('ok')
`, host, sub, alicePW)
	require.Equal(t, "ok\n", out)
	require.Eventually(t, func() bool {
		d := dumps(t, dir)
		return len(d) == 1 && strings.Contains(d[0], "Relayed.")
	}, 20*time.Second, 50*time.Millisecond, "nothing at the smarthost\n%s", in.log.String())
	// No MX lookup was made for nowhere.test.
	require.Zero(t, in.dns.QueryCount("nowhere.test", 15))
}
