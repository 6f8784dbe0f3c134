package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/internal/peertest"
	"github.com/stretchr/testify/require"
)

// TestSieveFilesMail: a user uploads a script with sieve-connect over the
// ManageSieve listener (STARTTLS, AUTH), a bad one is refused with the
// parser's error, the script is activated, and mail to the MX port is
// then filed by it, as imaplib sees the folders and flags.
func TestSieveFilesMail(t *testing.T) {
	in := newInstance(t, nil)
	in.start()
	in.addUser("alice@example.test", alicePW)

	bin := peertest.LookPath(t, "sieve-connect")
	host, port, _ := net.SplitHostPort(in.addr["managesieve"])
	sieveConnect := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, append([]string{"--nosrv", "--server", host, "--port", port,
			"--user", "alice@example.test", "--passwordfd", "0", "--notlsverify", "--authmech", "PLAIN"}, args...)...)
		cmd.Stdin = strings.NewReader(alicePW + "\n")
		cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}
	work := t.TempDir()
	script := "require [\"fileinto\", \"imap4flags\", \"mailbox\", \"spamtest\", \"relational\", \"comparator-i;ascii-numeric\"];\r\n" +
		"if header :contains \"subject\" \"[golang-nuts]\" { fileinto :create \"Lists/Go\"; stop; }\r\n" +
		"if header :contains \"subject\" \"urgent\" { addflag \"\\\\Flagged\"; }\r\n" +
		"if address :is \"from\" \"spam@bad.test\" { discard; stop; }\r\n" +
		// The junk filter's verdict: 1.5 of 5 points (this zone has no PTR
		// for 127.0.0.1) is spamtest 4; without a verdict it would be 0.
		"if spamtest :value \"eq\" :comparator \"i;ascii-numeric\" \"4\" { addflag \"$Clean\"; }\r\n"
	good := filepath.Join(work, "rules.sieve")
	require.NoError(t, os.WriteFile(good, []byte(script), 0o600))
	bad := filepath.Join(work, "bad.sieve")
	require.NoError(t, os.WriteFile(bad, []byte("keep;\r\nfileinot \"x\";\r\n"), 0o600))

	out, err := sieveConnect("--upload", "--localsieve", bad, "--remotesieve", "bad")
	require.Error(t, err, out)
	require.Contains(t, out, "line 2")
	out, err = sieveConnect("--upload", "--localsieve", good, "--remotesieve", "rules")
	require.NoError(t, err, out)
	out, err = sieveConnect("--activate", "--remotesieve", "rules")
	require.NoError(t, err, out)
	out, err = sieveConnect("--list")
	require.NoError(t, err, out)
	require.Contains(t, out, "rules")

	send := `
import smtplib, sys
host, port, sender, rcpt, msg = sys.argv[1:6]
s = smtplib.SMTP(host, int(port))
s.sendmail(sender, [rcpt], msg.encode()); s.quit(); print('ok')
`
	mxHost, mx := hostPort(in.addr["smtp"])
	for _, m := range []struct{ from, subject string }{
		{"list@golang.test", "[golang-nuts] generics"},
		{"boss@work.test", "urgent: call me"},
		{"spam@bad.test", "cheap pills"},
		{"friend@home.test", "dinner"},
	} {
		require.Equal(t, "ok\n", python(t, send, mxHost, mx, m.from, "alice@example.test",
			"From: "+m.from+"\r\nTo: alice@example.test\r\nSubject: "+m.subject+"\r\n\r\nHello.\r\n"))
	}

	// What an IMAP client sees: the list mail in Lists/Go, the urgent one
	// flagged in INBOX, the spam nowhere, the rest in INBOX.
	look := `
import imaplib, ssl, sys
host, port, user, pw = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
m = imaplib.IMAP4_SSL(host, port, ssl_context=ctx)
m.login(user, pw)
for box in ('INBOX', 'Lists/Go'):
    typ, data = m.select(box, readonly=True)
    if typ != 'OK':
        print(box, 'missing'); continue
    typ, data = m.fetch('1:*', '(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
    for item in data:
        if isinstance(item, tuple):
            flags = item[0].decode()
            subj = item[1].decode().strip()
            print(box, '|', subj, '|', 'Flagged' if '\\Flagged' in flags else '-', '$Clean' in flags)
m.logout()
`
	ih, ip := hostPort(in.addr["imaps"])
	var seen string
	require.Eventually(t, func() bool {
		seen = python(t, look, ih, ip, "alice@example.test", alicePW)
		return strings.Count(seen, "\n") >= 3
	}, 10*time.Second, 100*time.Millisecond)
	require.Contains(t, seen, "Lists/Go | Subject: [golang-nuts] generics | - False")
	require.Contains(t, seen, "INBOX | Subject: urgent: call me | Flagged True")
	require.Contains(t, seen, "INBOX | Subject: dinner | - True")
	require.NotContains(t, seen, "cheap pills")
	require.Equal(t, 3, strings.Count(seen, "\n"), seen)
	in.stop()
}
