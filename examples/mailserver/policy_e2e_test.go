package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/require"

	"github.com/heraldmail/herald/dnsmx/dnstest"
)

// dialFrom connects to addr from the loopback address src, so that the
// policy sees different clients.
func dialFrom(t *testing.T, src, addr string) *dialog {
	t.Helper()
	dl := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c, err := dl.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	d := &dialog{t: t, c: c, r: bufio.NewReader(c)}
	require.True(t, strings.HasPrefix(d.reply(), "220 "))
	return d
}

// sendMX sends one message over d after EHLO name and returns the replies
// to MAIL, RCPT and the data (the last two empty when an earlier step is
// refused).
func (d *dialog) sendMX(helo, from, to, msg string) (mail, rcpt, data string) {
	d.t.Helper()
	require.True(d.t, strings.HasPrefix(d.cmd("EHLO "+helo), "250"))
	mail = d.cmd("MAIL FROM:<" + from + ">")
	if !strings.HasPrefix(mail, "250") {
		return mail, "", ""
	}
	rcpt = d.cmd("RCPT TO:<" + to + ">")
	if !strings.HasPrefix(rcpt, "250") {
		d.cmd("RSET")
		return mail, rcpt, ""
	}
	require.True(d.t, strings.HasPrefix(d.cmd("DATA"), "354"))
	return mail, rcpt, d.cmd(strings.ReplaceAll(msg, "\n", "\r\n") + "\r\n.")
}

// scrape fetches /metrics and parses the text format strictly: every line
// is a HELP or TYPE comment or a sample "name{labels} value".
func scrape(t *testing.T, in *instance) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + in.addr["http"] + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/plain; version=0.0.4; charset=utf-8", resp.Header.Get("Content-Type"))
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return parseMetrics(t, string(b))
}

var sampleRE = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (\S+)$`)

func parseMetrics(t *testing.T, text string) map[string]float64 {
	t.Helper()
	require.True(t, strings.HasSuffix(text, "\n"))
	out := map[string]float64{}
	typed := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "#" {
			require.Contains(t, []string{"HELP", "TYPE"}, f[1], line)
			if f[1] == "TYPE" {
				require.Equal(t, "counter", f[3], line)
				typed[f[2]] = true
			}
			continue
		}
		m := sampleRE.FindStringSubmatch(line)
		require.NotNil(t, m, "not a sample line: %q", line)
		require.True(t, typed[m[1]], "sample before its TYPE: %q", line)
		v, err := strconv.ParseFloat(m[3], 64)
		require.NoError(t, err, line)
		out[m[1]+m[2]] = v
	}
	return out
}

func policyMetric(check, result string) string {
	return `herald_smtp_policy_total{check="` + check + `",result="` + result + `"}`
}

// TestPolicyFCrDNS: a client whose PTR name does not resolve back to it is
// only logged by default and refused 550 5.7.25 with -fcrdns reject; a
// forward-confirmed client passes, recorded as iprev=pass.
func TestPolicyFCrDNS(t *testing.T) {
	zone := dnstest.NewZone().
		AddPTR("127.0.0.1", "unconfirmed.client.test").AddA("unconfirmed.client.test", "192.0.2.1").
		AddPTR("127.0.0.3", "mail.client.test").AddA("mail.client.test", "127.0.0.3")
	msg := "From: <someone@remote.test>\nSubject: fcrdns\n\nHello."

	// Default: log.
	in := newInstance(t, zone)
	in.start()
	in.addUser("alice@example.test", alicePW)
	mail, rcpt, data := dialFrom(t, "127.0.0.1", in.addr["smtp"]).sendMX("unconfirmed.client.test", "someone@remote.test", "alice@example.test", msg)
	require.True(t, strings.HasPrefix(mail, "250"), mail)
	require.True(t, strings.HasPrefix(rcpt, "250"), rcpt)
	require.True(t, strings.HasPrefix(data, "250"), data)
	in.waitLog(`check=fcrdns result=fail action=accept reason="PTR names \[unconfirmed.client.test\] of 127.0.0.1 do not resolve back to it"`)
	stored := unfold(in.waitInbox("alice@example.test", 1, 10*time.Second)[0])
	require.Contains(t, stored, "iprev=fail policy.iprev=127.0.0.1")
	in.stop()

	// -fcrdns reject.
	in = newInstance(t, zone, "-fcrdns", "reject")
	in.start()
	in.addUser("alice@example.test", alicePW)
	mail, _, _ = dialFrom(t, "127.0.0.1", in.addr["smtp"]).sendMX("unconfirmed.client.test", "someone@remote.test", "alice@example.test", msg)
	require.Equal(t, "550 5.7.25 Reverse DNS validation failed: the address you connect from has no host name that resolves back to it (RFC 7372)\r\n", mail)
	in.waitLog(`check=fcrdns result=fail action=reject`)

	mail, _, data = dialFrom(t, "127.0.0.3", in.addr["smtp"]).sendMX("mail.client.test", "someone@remote.test", "alice@example.test", msg)
	require.True(t, strings.HasPrefix(mail, "250"), mail)
	require.True(t, strings.HasPrefix(data, "250"), data)
	stored = unfold(in.waitInbox("alice@example.test", 1, 10*time.Second)[0])
	require.Contains(t, stored, "iprev=pass policy.iprev=127.0.0.3 (mail.client.test)")
	in.waitLog(`check=helo result=match`)
	m := scrape(t, in)
	require.Equal(t, 1.0, m[policyMetric("fcrdns", "fail")])
	require.Equal(t, 1.0, m[policyMetric("fcrdns", "pass")])
	in.stop()
}

// TestPolicyDNSBLAndMetrics: a client listed with a configured code is
// refused 554 5.7.1 naming the list and its TXT reason (seen by Python's
// smtplib bound to 127.0.0.2); a code outside the configured range and an
// unlisted client pass; a list that fails to answer fails open; an
// allowlisted client skips the blocklist; /metrics and "stats" count it
// all.
func TestPolicyDNSBLAndMetrics(t *testing.T) {
	zone := remoteZone().
		AddA("2.0.0.127.zen.example", "127.0.0.2").AddTXT("2.0.0.127.zen.example", "Listed for spam, see https://zen.example/q?127.0.0.2").
		AddA("1.0.0.127.zen.example", "127.0.0.20").
		AddA("5.0.0.127.zen.example", "127.0.0.4").
		AddA("5.0.0.127.wl.example", "127.0.10.1").
		SetFault("3.0.0.127.broken.example", dns.TypeA, dnstest.ServFail)
	in := newInstance(t, zone, "-dnsbl", "zen.example=127.0.0.2-127.0.0.11,broken.example", "-dnswl", "wl.example")
	in.start()
	in.addUser("alice@example.test", alicePW)
	host, port := hostPort(in.addr["smtp"])
	out := python(t, `
import smtplib, sys
host, port, src = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = smtplib.SMTP(host, port, source_address=(src, 0))
try:
    s.sendmail('someone@remote.test', ['alice@example.test'], b'Subject: dnsbl\r\n\r\nHello.\r\n')
    print('accepted')
except smtplib.SMTPSenderRefused as e:
    print(e.smtp_code, e.smtp_error.decode())
s.quit()
`, host, port, "127.0.0.2")
	require.Equal(t, "554 5.7.1 Client 127.0.0.2 is listed in zen.example: Listed for spam, see https://zen.example/q?127.0.0.2\n", out)

	// 127.0.0.1 is listed with 127.0.0.20, not a code of the flag; 127.0.0.3
	// is not listed, and broken.example fails for it.
	for _, src := range []string{"127.0.0.1", "127.0.0.3", "127.0.0.5"} {
		mail, _, data := dialFrom(t, src, in.addr["smtp"]).sendMX("client.test", "someone@remote.test", "alice@example.test", "Subject: from "+src+"\n\nHello.")
		require.True(t, strings.HasPrefix(mail, "250"), "%s: %s", src, mail)
		require.True(t, strings.HasPrefix(data, "250"), "%s: %s", src, data)
	}
	in.waitInbox("alice@example.test", 3, 10*time.Second)
	in.waitLog(`check=dnsbl result=clean action=accept reason="zen.example answers \[127.0.0.20\], not a code configured as listed"`)
	in.waitLog(`check=dnsbl result=error action=accept reason="broken.example: .*\(failing open\)"`)
	in.waitLog(`check=dnswl result=listed action=skip-checks reason="wl.example lists 127.0.0.5 as \[127.0.10.1\]"`)

	m := scrape(t, in)
	require.Equal(t, 1.0, m[policyMetric("dnsbl", "listed")])
	require.Equal(t, 1.0, m[policyMetric("dnswl", "listed")])
	require.Equal(t, 3.0, m[policyMetric("dnswl", "unlisted")])
	require.Equal(t, 3.0, m[policyMetric("dnsbl", "clean")])
	require.Equal(t, 1.0, m[policyMetric("dnsbl", "error")])
	require.Equal(t, 3.0, m[policyMetric("spf", "none")])
	require.Equal(t, 3.0, m[policyMetric("junk", "ham")])
	// FCrDNS is logged by default: none of these clients has a PTR.
	require.Equal(t, 3.0, m[policyMetric("fcrdns", "fail")])

	stats, err := in.cli("", "stats")
	require.NoError(t, err, stats)
	require.Equal(t, m, parseMetrics(t, stats))
	in.stop()
	out, err = in.cli("", "stats")
	require.Error(t, err)
	require.Contains(t, out, "the server is not running")
}

// TestPolicySPF: SPF fail is refused at MAIL FROM with 550 5.7.23 and the
// domain's explanation, a DNS failure with 451 4.7.24, and a pass is
// recorded in Received-SPF and Authentication-Results.
func TestPolicySPF(t *testing.T) {
	zone := remoteZone().
		AddTXT("fail.test", "v=spf1 ip4:192.0.2.0/24 exp=why.fail.test -all").
		AddTXT("why.fail.test", "%{i} may not send mail for %{d}, see https://fail.test/spf").
		AddTXT("pass.test", "v=spf1 ip4:127.0.0.0/8 -all").
		AddTXT("client.test", "v=spf1 -all").
		SetFault("temp.test", dns.TypeTXT, dnstest.ServFail)
	in := newInstance(t, zone)
	in.start()
	in.addUser("alice@example.test", alicePW)
	d := dialFrom(t, "127.0.0.1", in.addr["smtp"])
	mail, _, _ := d.sendMX("client.test", "someone@fail.test", "alice@example.test", "")
	require.Equal(t, "550 5.7.23 SPF check failed: fail.test does not allow 127.0.0.1 to send its mail: 127.0.0.1 may not send mail for fail.test, see https://fail.test/spf\r\n", mail)
	in.waitLog(`check=spf result=fail action=reject reason="domain fail.test, client 127.0.0.1, mechanism -all"`)
	mail, _, _ = d.sendMX("client.test", "someone@temp.test", "alice@example.test", "")
	require.Equal(t, "451 4.7.24 SPF check of the sender could not be completed (temperror), please try again later\r\n", mail)
	// The null sender is checked as postmaster@ the HELO name.
	mail, _, _ = d.sendMX("client.test", "", "alice@example.test", "")
	require.True(t, strings.HasPrefix(mail, "550 5.7.23 SPF check failed: client.test does not allow 127.0.0.1"), mail)

	mail, _, data := d.sendMX("client.test", "someone@pass.test", "alice@example.test", "From: <someone@pass.test>\nSubject: spf pass\nX-Herald-Spam: no score=-100 forged\n"+
		"Authentication-Results: MX.example.test; spf=pass smtp.mailfrom=forged@pass.test\nAuthentication-Results: upstream.example; spf=fail smtp.mailfrom=x@pass.test\n\nHello.")
	require.True(t, strings.HasPrefix(mail, "250"), mail)
	require.True(t, strings.HasPrefix(data, "250"), data)
	stored := unfold(in.waitInbox("alice@example.test", 1, 10*time.Second)[0])
	require.True(t, strings.HasPrefix(stored, "Received-SPF: pass (mx.example.test: domain of someone@pass.test designates 127.0.0.1 as permitted sender)"), stored)
	require.Contains(t, stored, "\r\nAuthentication-Results: mx.example.test; spf=pass smtp.mailfrom=someone@pass.test;")
	require.NotContains(t, stored, "forged", "the client's X-Herald-Spam field is removed")
	require.Equal(t, 1, strings.Count(stored, "X-Herald-Spam: no score="))
	require.NotContains(t, stored, "forged@pass.test", "an Authentication-Results field naming this host is removed")
	require.Contains(t, stored, "\r\nAuthentication-Results: upstream.example; spf=fail smtp.mailfrom=x@pass.test\r\n\r\nHello.\r\n")
	m := scrape(t, in)
	require.Equal(t, 2.0, m[policyMetric("spf", "fail")])
	require.Equal(t, 1.0, m[policyMetric("spf", "temperror")])
	require.Equal(t, 1.0, m[policyMetric("spf", "pass")])
	in.stop()
}

// TestPolicyJunkFolder: messages with the configured spam markers are
// stored in the Junk folder with $Junk and X-Herald-Spam: yes, as Python's
// imaplib sees them; a clean message goes to the INBOX.
func TestPolicyJunkFolder(t *testing.T) {
	in := newInstance(t, nil)
	require.NoError(t, os.MkdirAll(in.dir, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(in.dir, "junk-rules"), []byte(
		"# test rules\nthreshold 5\nsubject 3 you have won\nbody 2 unclaimed prize\nlink-mismatch 4\nip-link 3\n"), 0o600))
	in.start()
	in.addUser("alice@example.test", alicePW)
	d := dialFrom(t, "127.0.0.1", in.addr["smtp"])
	_, _, data := d.sendMX("client.test", "someone@remote.test", "alice@example.test",
		"From: <someone@remote.test>\nSubject: You have WON\n\nClaim your unclaimed prize now.")
	require.True(t, strings.HasPrefix(data, "250"), data)
	_, _, data = d.sendMX("client.test", "someone@remote.test", "alice@example.test",
		"From: <someone@remote.test>\nSubject: Your account\nMIME-Version: 1.0\nContent-Type: text/html\n\n<p>Log in at <a href=\"http://198.51.100.7/login\">www.bank.example</a></p>")
	require.True(t, strings.HasPrefix(data, "250"), data)
	_, _, data = d.sendMX("client.test", "someone@remote.test", "alice@example.test",
		"From: <someone@remote.test>\nSubject: lunch\n\nSee you at noon.")
	require.True(t, strings.HasPrefix(data, "250"), data)

	host, imaps := hostPort(in.addr["imaps"])
	out := python(t, `
import imaplib, ssl, sys
host, port, user, pw = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
m = imaplib.IMAP4_SSL(host, port, ssl_context=ctx)
m.login(user, pw)
typ, lst = m.list('""', 'Junk')
print('list', lst[0].decode())
for box in ('INBOX', 'Junk'):
    typ, data = m.select(box, readonly=True)
    n = int(data[0])
    for i in range(1, n + 1):
        typ, f = m.fetch(str(i), '(FLAGS)')
        flags = f[0].decode()
        typ, d = m.fetch(str(i), '(BODY.PEEK[HEADER.FIELDS (SUBJECT X-HERALD-SPAM)])')
        hdr = ' | '.join(l for l in d[0][1].decode().split('\r\n') if l)
        print(box, 'junk' if '$Junk' in flags else 'nojunk', hdr)
    typ, data = m.search(None, 'KEYWORD', '$Junk')
    print(box, 'search', data[0].decode())
m.logout()
`, host, imaps, "alice@example.test", alicePW)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 6, out)
	require.Regexp(t, `^list \(.*\\Junk.*\) "/" "?Junk"?$`, lines[0])
	require.Equal(t, "INBOX nojunk X-Herald-Spam: no score=0.0 threshold=5.0 | Subject: lunch", lines[1])
	require.Equal(t, "INBOX search ", lines[2])
	require.Equal(t, "Junk junk X-Herald-Spam: yes score=5.0 threshold=5.0 rules=subject:3,body:4 | Subject: You have WON", lines[3])
	require.Equal(t, "Junk junk X-Herald-Spam: yes score=7.0 threshold=5.0 rules=link-mismatch:5,ip-link:6 | Subject: Your account", lines[4])
	require.Equal(t, "Junk search 1 2", lines[5])
	m := scrape(t, in)
	require.Equal(t, 2.0, m[policyMetric("junk", "spam")])
	require.Equal(t, 1.0, m[policyMetric("junk", "ham")])
	in.waitLog(`folder=Junk`)
	in.stop()
}

// TestPolicyRateLimit: with the default limit (50/h) the 51st message of a
// user within the hour gets 451 4.7.1, another user is not held back, and
// the log names the user and the count.
func TestPolicyRateLimit(t *testing.T) {
	in := newInstance(t, nil)
	in.start()
	in.addUser("alice@example.test", alicePW)
	in.addUser("bob@example.test", bobPW)
	host, sub := hostPort(in.addr["submission"])
	out := python(t, `
import smtplib, ssl, sys
host, port = sys.argv[1], int(sys.argv[2])
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
for user, pw, n in ((sys.argv[3], sys.argv[4], 51), (sys.argv[5], sys.argv[6], 1)):
    s = smtplib.SMTP(host, port); s.starttls(context=ctx); s.login(user, pw)
    for i in range(n):
        try:
            s.sendmail(user, ['alice@example.test'], ('Subject: %d\r\n\r\nHello.\r\n' % i).encode())
            print(user, i + 1, 'accepted')
        except smtplib.SMTPSenderRefused as e:
            print(user, i + 1, e.smtp_code, e.smtp_error.decode())
    s.quit()
`, host, sub, "alice@example.test", alicePW, "bob@example.test", bobPW)
	var want strings.Builder
	for i := 1; i <= 50; i++ {
		fmt.Fprintf(&want, "alice@example.test %d accepted\n", i)
	}
	want.WriteString("alice@example.test 51 451 4.7.1 Rate limit reached: alice@example.test has sent 50 messages in the last hour (limit 50/h); please try again in 60 minutes\n" +
		"bob@example.test 1 accepted\n")
	require.Equal(t, want.String(), out)
	in.waitLog(`check=ratelimit result=limited action=defer user=alice@example.test sent=50 limit=50/h`)
	in.waitInbox("alice@example.test", 51, 20*time.Second)
	// Submission is not greylisted or SPF-checked.
	require.NotContains(t, in.log.String(), "check=spf")
	m := scrape(t, in)
	require.Equal(t, 1.0, m[policyMetric("ratelimit", "limited")])
	require.Equal(t, 51.0, m[policyMetric("ratelimit", "allowed")])
	in.stop()
}

// waitLog waits until the server's log matches the regular expression re:
// the log comes through a pipe, a little after the replies.
func (in *instance) waitLog(re string) {
	in.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(10 * time.Second)
	for !rx.MatchString(in.log.String()) {
		require.True(in.t, time.Now().Before(deadline), "the log does not match %q:\n%s", re, in.log.String())
		time.Sleep(20 * time.Millisecond)
	}
}

// unfold undoes header folding.
func unfold(s string) string { return strings.ReplaceAll(s, "\r\n ", " ") }
