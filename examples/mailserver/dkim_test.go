package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/dkim"
	"github.com/heraldmail/herald/internal/peertest"
	"github.com/stretchr/testify/require"
)

// dkimpyVerify verifies msg with Python's dkimpy, which finds the key
// record of each selector in records, and returns its verdict.
func dkimpyVerify(t *testing.T, msg string, records map[string]string) string {
	t.Helper()
	script := peertest.LookPath(t, "dkimverify")
	b, err := os.ReadFile(script)
	require.NoError(t, err)
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(strings.TrimPrefix(string(line), "#!"))
	require.True(t, bytes.HasPrefix(b, []byte("#!")) && len(f) > 0, "%s has no #! line", script)
	py := `
import dkim, sys, json
records = json.loads(sys.argv[1])
msg = sys.stdin.buffer.read()
def dnsfunc(name, timeout=5):
    return records.get(name.decode().rstrip('.'), '').encode()
print('pass' if dkim.verify(msg, dnsfunc=dnsfunc) else 'fail')
`
	var js strings.Builder
	js.WriteString("{")
	first := true
	for k, v := range records {
		if !first {
			js.WriteString(",")
		}
		first = false
		js.WriteString(`"` + k + `":"` + v + `"`)
	}
	js.WriteString("}")
	cmd := exec.Command(f[0], append(f[1:], "-c", py, js.String())...)
	cmd.Stdin = strings.NewReader(msg)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	return strings.TrimSpace(string(out))
}

// sinkMessage returns a message smtp-sink dumped from its first
// DKIM-Signature field on: above are the envelope records and the
// Received: field smtp-sink writes, which are no part of what was signed.
func sinkMessage(dump string) string {
	if i := strings.Index(dump, "DKIM-Signature: "); i >= 0 {
		return strings.ReplaceAll(strings.ReplaceAll(dump[i:], "\r\n", "\n"), "\n", "\r\n")
	}
	return dump
}

func TestDKIMSigningAndDMARC(t *testing.T) {
	// A domain that signs its mail, with p=reject, and two that do not.
	key, err := dkim.GenerateKey(dkim.Ed25519SHA256)
	require.NoError(t, err)
	rec, err := dkim.KeyRecordText(key.Public())
	require.NoError(t, err)
	zone := remoteZone().
		AddPTR("127.0.0.1", "mail.list.test").AddA("mail.list.test", "127.0.0.1").
		AddTXT("list.test", "v=spf1 ip4:127.0.0.1 -all").
		AddTXT("_dmarc.strict.test", "v=DMARC1; p=reject").
		AddTXT("_dmarc.quar.test", "v=DMARC1; p=quarantine").
		AddTXT("_dmarc.signed.test", "v=DMARC1; p=reject").
		AddTXT("sel._domainkey.signed.test", rec)
	in := newInstance(t, zone)
	remote := sink(t, "127.0.0.1", in.outPort)
	in.start()
	in.addUser("alice@example.test", alicePW)

	// The banner names the record to publish; the key is in DIR/dkim.
	require.Contains(t, in.out.String(), "herald._domainkey.example.test. TXT \"v=DKIM1; k=rsa; p=")
	pemBytes, err := os.ReadFile(filepath.Join(in.dir, "dkim", "example.test.pem"))
	require.NoError(t, err)
	ourKey, err := dkim.ParsePrivateKey(pemBytes)
	require.NoError(t, err)
	ourRec, err := dkim.KeyRecordText(ourKey.Public())
	require.NoError(t, err)

	// Outbound: Alice's message to a remote domain arrives signed, and
	// dkimpy verifies it with the record the banner printed.
	host, sub := hostPort(in.addr["submission"])
	submit := `
import smtplib, ssl, sys
host, port, user, pw, rcpt, msg = sys.argv[1:7]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP(host, int(port)); s.starttls(context=ctx); s.login(user, pw)
s.sendmail(user, [rcpt], msg.encode()); s.quit(); print('ok')
`
	require.Equal(t, "ok\n", python(t, submit, host, sub, "alice@example.test", alicePW, "carol@remote.test",
		"From: Alice <alice@example.test>\r\nTo: carol@remote.test\r\nSubject: signed\r\n\r\nThis one is signed.\r\n"))
	var out string
	require.Eventually(t, func() bool {
		d := dumps(t, remote)
		if len(d) == 1 {
			out = sinkMessage(d[0])
		}
		// smtp-sink writes its dump while the message arrives: wait
		// for the end of the body.
		return len(d) == 1 && strings.Contains(out, "This one is signed.")
	}, 20*time.Second, 50*time.Millisecond, "nothing reached the remote MX\n%s", in.log.String())
	require.True(t, strings.HasPrefix(out, "DKIM-Signature: "), "not signed:\n%s", out)
	require.Contains(t, out, "d=example.test")
	require.Equal(t, "pass", dkimpyVerify(t, out, map[string]string{"herald._domainkey.example.test": ourRec}))

	// Inbound over the MX port, all with an SPF pass for list.test.
	mxHost, mx := hostPort(in.addr["smtp"])
	send := `
import smtplib, sys
host, port, sender, rcpt, msg = sys.argv[1:6]
s = smtplib.SMTP(host, int(port), local_hostname='mail.list.test')
try:
    s.sendmail(sender, [rcpt], msg.encode()); print('ok')
except smtplib.SMTPDataError as e:
    print(e.smtp_code, e.smtp_error.decode())
s.quit()
`
	// The From: domain publishes p=reject and nothing aligned passes.
	got := python(t, send, mxHost, mx, "news@list.test", "alice@example.test",
		"From: ceo@strict.test\r\nTo: alice@example.test\r\nSubject: wire the money\r\n\r\nNow.\r\n")
	require.True(t, strings.HasPrefix(got, "550 5.7.1 Rejected by the DMARC policy of strict.test"), got)

	// p=quarantine: in Junk with $Junk, and the verdict recorded.
	require.Equal(t, "ok\n", python(t, send, mxHost, mx, "news@list.test", "alice@example.test",
		"From: info@quar.test\r\nTo: alice@example.test\r\nSubject: quarantined\r\n\r\nHello.\r\n"))
	var junk []string
	require.Eventually(t, func() bool {
		junk, _ = filepath.Glob(filepath.Join(in.dir, "mail", "example.test", "alice", ".Junk", "cur", "*"))
		more, _ := filepath.Glob(filepath.Join(in.dir, "mail", "example.test", "alice", ".Junk", "new", "*"))
		junk = append(junk, more...)
		return len(junk) == 1
	}, 10*time.Second, 50*time.Millisecond)
	b, err := os.ReadFile(junk[0])
	require.NoError(t, err)
	require.Contains(t, unfold(string(b)), "dmarc=fail (p=quarantine dis=quarantine) header.from=quar.test")
	kw, err := os.ReadFile(filepath.Join(in.dir, "mail", "example.test", "alice", ".Junk", "dovecot-keywords"))
	require.NoError(t, err)
	require.Contains(t, string(kw), "$Junk")

	// Signed by signed.test (p=reject): DKIM passes aligned, so DMARC
	// passes although SPF authenticated list.test.
	msg := "From: Bank <alerts@signed.test>\r\nTo: alice@example.test\r\nSubject: statement\r\nDate: Mon, 7 Dec 2026 09:00:00 +0000\r\nMessage-ID: <s1@signed.test>\r\n\r\nYour statement is ready.\r\n"
	sig, err := dkim.Sign(strings.NewReader(msg), &dkim.Signer{Domain: "signed.test", Selector: "sel", Key: key})
	require.NoError(t, err)
	require.Equal(t, "ok\n", python(t, send, mxHost, mx, "news@list.test", "alice@example.test", sig+msg))
	inbox := in.waitInbox("alice@example.test", 1, 10*time.Second)
	require.Contains(t, unfold(inbox[0]), "dkim=pass header.d=signed.test")
	require.Contains(t, unfold(inbox[0]), "dmarc=pass")
	require.Contains(t, unfold(inbox[0]), "header.from=signed.test")
	// The message is stored as it was signed: dkimpy still verifies it.
	_, stored, _ := strings.Cut(inbox[0], "\r\nDKIM-Signature: ")
	require.Equal(t, "pass", dkimpyVerify(t, "DKIM-Signature: "+stored, map[string]string{"sel._domainkey.signed.test": rec}))

	// Tampered in transit: the signature fails, and so does DMARC.
	tampered := strings.Replace(sig+msg, "is ready", "is ready, click here", 1)
	got = python(t, send, mxHost, mx, "news@list.test", "alice@example.test", tampered)
	require.True(t, strings.HasPrefix(got, "550 5.7.1 Rejected by the DMARC policy of signed.test"), got)
	in.stop()
}
