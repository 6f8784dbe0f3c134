package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// setScript makes script user's active Sieve script, in the layout the
// ManageSieve listener writes (TestSieveFilesMail uploads over it).
func (in *instance) setScript(user, script string) {
	in.t.Helper()
	root := filepath.Join(in.dir, "sieve", user)
	require.NoError(in.t, os.MkdirAll(filepath.Join(root, "sieve"), 0o700))
	require.NoError(in.t, os.WriteFile(filepath.Join(root, "sieve", "rules.sieve"), []byte(script), 0o600))
	link := filepath.Join(root, ".dovecot.sieve")
	os.Remove(link)
	require.NoError(in.t, os.Symlink("sieve/rules.sieve", link))
}

// sendPy sends the message in the file argv[6] from argv[3] ("" for <>)
// to the comma-separated argv[4]; argv[5] "utf8" asks for SMTPUTF8. It
// prints "ok" or the reply to DATA as the client got it.
const sendPy = `
import smtplib, sys
host, port, sender, rcpts, mode, path = sys.argv[1:7]
msg = open(path, 'rb').read()
s = smtplib.SMTP(host, int(port))
opts = ['SMTPUTF8'] if mode == 'utf8' else []
try:
    s.sendmail(sender, rcpts.split(','), msg, mail_options=opts)
    print('ok')
except smtplib.SMTPDataError as e:
    print('data', e.smtp_code, e.smtp_error.decode('utf-8'))
except smtplib.SMTPRecipientsRefused as e:
    print('rcpt', e.recipients)
s.quit()
`

func (in *instance) sendMX(from, rcpts, mode string, msg []byte) string {
	in.t.Helper()
	file := filepath.Join(in.t.TempDir(), "msg.eml")
	require.NoError(in.t, os.WriteFile(file, msg, 0o600))
	host, port := hostPort(in.addr["smtp"])
	return strings.TrimSpace(python(in.t, sendPy, host, port, from, rcpts, mode, file))
}

// fetchPy prints every message of a mailbox as imaplib fetches it: its
// header and its body (BODY.PEEK[HEADER] and BODY.PEEK[TEXT]), hex.
const fetchPy = `
import imaplib, ssl, sys
host, port, user, pw, box = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
m = imaplib.IMAP4_SSL(host, port, ssl_context=ctx)
m.login(user, pw)
typ, data = m.select('"' + box + '"', readonly=True)
if typ == 'OK':
    n = int(data[0])
    for i in range(1, n + 1):
        typ, d = m.fetch(str(i), '(BODY.PEEK[HEADER] BODY.PEEK[TEXT])')
        parts = [x[1] for x in d if isinstance(x, tuple)]
        print(parts[0].hex(), parts[1].hex())
m.logout()
`

type fetched struct{ header, body string }

func (in *instance) fetch(user, pw, box string) []fetched {
	in.t.Helper()
	host, port := hostPort(in.addr["imaps"])
	var out []fetched
	for _, l := range strings.Split(strings.TrimSpace(python(in.t, fetchPy, host, port, user, pw, box)), "\n") {
		if l == "" {
			continue
		}
		h, b, _ := strings.Cut(l, " ")
		hb, err := hex.DecodeString(h)
		require.NoError(in.t, err)
		bb, err := hex.DecodeString(b)
		require.NoError(in.t, err)
		out = append(out, fetched{string(hb), string(bb)})
	}
	return out
}

// waitFetch waits until box holds n messages.
func (in *instance) waitFetch(user, pw, box string, n int) []fetched {
	in.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := in.fetch(user, pw, box)
		if len(got) >= n {
			return got
		}
		require.True(in.t, time.Now().Before(deadline), "%s %s has %d messages, want %d\n%s", user, box, len(got), n, in.log.String())
		time.Sleep(100 * time.Millisecond)
	}
}

// sieveRuns counts the runs of user's script in the log.
func sieveRuns(in *instance, user string) int {
	n := 0
	for _, l := range strings.Split(in.log.String(), "\n") {
		if strings.Contains(l, `msg="sieve ran"`) && strings.Contains(l, " user="+user+" ") {
			n++
		}
	}
	return n
}

const carolPW = "carol-password-333"

// TestSieveERejectInDialogue: when every recipient's script rejects, the
// client gets 550 5.7.1 with the script's reason, on one line, with
// non-ASCII text only when it said SMTPUTF8; nothing is stored.
func TestSieveERejectInDialogue(t *testing.T) {
	in := newInstance(t, nil)
	in.start()
	in.addUser("alice@example.test", alicePW)
	in.addUser("bob@example.test", bobPW)
	in.setScript("alice@example.test", "require \"ereject\";\r\nereject text:\r\nNo mail from you, Grüße.\r\nSecond line\x07 here.\r\n.\r\n;\r\n")
	in.setScript("bob@example.test", "require \"reject\";\r\nreject \"Bob is not here.\";\r\n")
	msg := []byte("From: someone@remote.test\r\nTo: alice@example.test\r\nSubject: hi\r\n\r\nHello.\r\n")

	require.Equal(t, "data 550 5.7.1 No mail from you, Gr??e. Second line here.",
		in.sendMX("someone@remote.test", "alice@example.test", "", msg))
	require.Equal(t, "data 550 5.7.1 No mail from you, Grüße. Second line here.",
		in.sendMX("someone@remote.test", "alice@example.test", "utf8", msg))
	// Both recipients reject: refused too, with the first one's reason.
	require.Equal(t, "data 550 5.7.1 No mail from you, Gr??e. Second line here.",
		in.sendMX("someone@remote.test", "alice@example.test,bob@example.test", "", msg))
	// A long reason is cut.
	in.setScript("bob@example.test", "require \"ereject\";\r\nereject \""+strings.Repeat("x", 5000)+"\";\r\n")
	got := in.sendMX("someone@remote.test", "bob@example.test", "", msg)
	require.True(t, strings.HasPrefix(got, "data 550 5.7.1 xxxx"), got)
	require.LessOrEqual(t, len(got), 250)

	in.waitLog(`sieve reject in the dialogue.*user=bob@example.test`)
	require.Empty(t, in.inbox("alice@example.test"))
	require.Empty(t, in.inbox("bob@example.test"))
	// Each script ran once per message and recipient.
	require.Equal(t, 3, sieveRuns(in, "alice@example.test"), in.log.String())
	require.Equal(t, 2, sieveRuns(in, "bob@example.test"), in.log.String())
	in.stop()
}

// TestSieveRejectMixed: when only some recipients reject, the others get
// the message, and the sender gets a rejection message (an MDN) for the
// rejecting one; a null sender gets nothing.
func TestSieveRejectMixed(t *testing.T) {
	in := newInstance(t, nil)
	in.start()
	in.addUser("alice@example.test", alicePW)
	in.addUser("bob@example.test", bobPW)
	in.addUser("carol@example.test", carolPW)
	in.setScript("alice@example.test", "require \"reject\";\r\nif header :contains \"subject\" \"offer\" { reject \"Alice takes no offers.\"; }\r\n")

	msg := []byte("From: carol@example.test\r\nTo: alice@example.test, bob@example.test\r\nSubject: special offer\r\nMessage-ID: <offer-1@example.test>\r\n\r\nBuy now.\r\n")
	require.Equal(t, "ok", in.sendMX("carol@example.test", "alice@example.test,bob@example.test", "", msg))
	bobs := in.waitFetch("bob@example.test", bobPW, "INBOX", 1)
	require.Equal(t, "Buy now.\r\n", bobs[0].body)

	// Carol's rejection message, as her IMAP client sees it.
	mdn := in.waitFetch("carol@example.test", carolPW, "INBOX", 1)
	require.Len(t, mdn, 1)
	h := unfold(mdn[0].header)
	require.Contains(t, h, "Subject: Rejected: special offer")
	require.Contains(t, h, "Auto-Submitted: auto-replied")
	require.Contains(t, h, "report-type=disposition-notification")
	require.Contains(t, h, "In-Reply-To: <offer-1@example.test>")
	require.Contains(t, mdn[0].body, "Alice takes no offers.")
	require.Contains(t, mdn[0].body, "Disposition: automatic-action/MDN-sent-automatically; deleted")
	require.Contains(t, mdn[0].body, "Final-Recipient: rfc822;alice@example.test")
	require.NotContains(t, mdn[0].body, "Buy now.")
	require.Empty(t, in.inbox("alice@example.test"))

	// The same from the null sender: Bob gets it, no rejection anywhere.
	msg = bytes.Replace(msg, []byte("offer-1"), []byte("offer-2"), 1)
	require.Equal(t, "ok", in.sendMX("", "alice@example.test,bob@example.test", "", msg))
	in.waitFetch("bob@example.test", bobPW, "INBOX", 2)
	in.waitLog(`no rejection message sent.*why="null sender"`)
	// A third message, with an MDN, shows the queue has run past the
	// second: still only the first MDN and this one.
	msg = bytes.Replace(msg, []byte("offer-2"), []byte("offer-3"), 1)
	require.Equal(t, "ok", in.sendMX("carol@example.test", "alice@example.test,bob@example.test", "", msg))
	mdn = in.waitFetch("carol@example.test", carolPW, "INBOX", 2)
	time.Sleep(500 * time.Millisecond)
	mdn = in.fetch("carol@example.test", carolPW, "INBOX")
	require.Len(t, mdn, 2)
	require.NotContains(t, mdn[0].header+mdn[1].header, "offer-2")
	require.Empty(t, in.inbox("alice@example.test"))
	require.Empty(t, in.fetch("alice@example.test", alicePW, "INBOX"))
	// Alice's script ran once per message, not again at delivery.
	require.Equal(t, 3, sieveRuns(in, "alice@example.test"), in.log.String())
	in.stop()
}

// TestSieveEditheaderStored: the field addheader adds and the one
// deleteheader deletes are seen over IMAP in the copies fileinto and keep
// store, the body is byte for byte the one sent (large enough to go
// through the spool's file), and Received cannot be deleted.
func TestSieveEditheaderStored(t *testing.T) {
	in := newInstance(t, nil)
	in.start()
	in.addUser("bob@example.test", bobPW)
	in.setScript("bob@example.test", "require [\"editheader\", \"fileinto\", \"mailbox\", \"copy\"];\r\n"+
		"addheader \"X-Sieve-Note\" \"seen by the filter\";\r\n"+
		"addheader :last \"X-Sieve-Last\" \"Grüße\";\r\n"+
		"deleteheader \"X-Tracking\";\r\n"+
		"deleteheader \"Received\";\r\n"+
		"deleteheader \"Auto-Submitted\";\r\n"+
		"fileinto :copy :create \"Filtered\";\r\n"+
		"redirect :copy \"carol@example.test\";\r\n")
	in.addUser("carol@example.test", carolPW)
	var body bytes.Buffer
	for i := 0; body.Len() < 3<<20; i++ {
		body.WriteString(strings.Repeat("0123456789abcdef", 4) + "\r\n")
		if i%1000 == 0 {
			body.WriteString(".a line that starts with a dot\r\n\r\n")
		}
	}
	msg := append([]byte("From: someone@remote.test\r\nTo: bob@example.test\r\nSubject: edited\r\nAuto-Submitted: no\r\nX-Tracking: id=12345\r\nX-Keep: yes\r\n\r\n"), body.Bytes()...)
	require.Equal(t, "ok", in.sendMX("someone@remote.test", "bob@example.test", "", msg))
	sum := sha256.Sum256(body.Bytes())
	// The stored copies, and the redirected one (RFC 5293 section 7:
	// what is sent on goes with the current header too).
	for _, c := range []struct{ user, pw, box string }{
		{"bob@example.test", bobPW, "INBOX"}, {"bob@example.test", bobPW, "Filtered"}, {"carol@example.test", carolPW, "INBOX"},
	} {
		box := c.user + " " + c.box
		got := in.waitFetch(c.user, c.pw, c.box, 1)
		require.Len(t, got, 1, box)
		h := got[0].header
		require.True(t, strings.HasPrefix(h, "X-Sieve-Note: seen by the filter\r\n"), "%s: %q", box, h)
		require.Contains(t, h, "X-Sieve-Last: =?utf-8?")
		require.NotContains(t, h, "X-Tracking")
		require.Contains(t, h, "X-Keep: yes")
		require.Contains(t, h, "Received: from ", "Received must not be deleted")
		require.Contains(t, h, "Auto-Submitted: no", "Auto-Submitted must not be deleted")
		require.Equal(t, hex.EncodeToString(sum[:]), hex.EncodeToString(sha256Sum(got[0].body)), box)
	}
	in.stop()
}

func sha256Sum(s string) []byte {
	sum := sha256.Sum256([]byte(s))
	return sum[:]
}

// TestSieveVacationRestart: a sender gets one vacation reply within the
// period, also across a restart of the server.
func TestSieveVacationRestart(t *testing.T) {
	in := newInstance(t, nil)
	in.start()
	in.addUser("alice@example.test", alicePW)
	in.addUser("carol@example.test", carolPW)
	in.addUser("bob@example.test", bobPW)
	in.setScript("alice@example.test", "require \"vacation\";\r\nvacation :days 7 :subject \"Away\" \"I am away until Monday.\";\r\n")
	mail := func(from, subject string) []byte {
		return []byte("From: " + from + "\r\nTo: alice@example.test\r\nSubject: " + subject + "\r\n\r\nHi Alice.\r\n")
	}
	// Two messages from Carol at once: both scripts run before either
	// reply is recorded, and still only one reply goes.
	file := filepath.Join(t.TempDir(), "msg.eml")
	require.NoError(t, os.WriteFile(file, mail("carol@example.test", "one"), 0o600))
	host, port := hostPort(in.addr["smtp"])
	require.Equal(t, "ok\nok\n", python(t, `
import smtplib, sys, threading
host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
msg = open(path, 'rb').read()
res = []
def send():
    s = smtplib.SMTP(host, port)
    s.sendmail('carol@example.test', ['alice@example.test'], msg)
    s.quit()
    res.append('ok')
ts = [threading.Thread(target=send) for _ in range(2)]
[t.start() for t in ts]; [t.join() for t in ts]
print('\n'.join(res))
`, host, port, file))
	replies := in.waitFetch("carol@example.test", carolPW, "INBOX", 1)
	require.Contains(t, replies[0].header, "Subject: Away")
	require.Contains(t, replies[0].body, "I am away until Monday.")

	in.stop()
	in.start()
	require.Equal(t, "ok", in.sendMX("carol@example.test", "alice@example.test", "", mail("carol@example.test", "two")))
	// Bob's reply, after the restart, shows the vacation still answers
	// and the queue has run.
	require.Equal(t, "ok", in.sendMX("bob@example.test", "alice@example.test", "", mail("bob@example.test", "three")))
	in.waitFetch("bob@example.test", bobPW, "INBOX", 1)
	in.waitFetch("alice@example.test", alicePW, "INBOX", 4)
	time.Sleep(500 * time.Millisecond)
	require.Len(t, in.fetch("carol@example.test", carolPW, "INBOX"), 1, "a second vacation reply within the period")
	in.stop()
}

// TestSieveRejectRemoteSender: the rejection message to a remote sender
// goes out over SMTP to the sender's MX; none goes to a sender whose
// message failed DMARC (a forged sender would get backscatter), the log
// says why instead.
func TestSieveRejectRemoteSender(t *testing.T) {
	zone := remoteZone().
		AddMX("strict.test", 10, "mx.remote.test").
		AddTXT("_dmarc.strict.test", "v=DMARC1; p=none")
	in := newInstance(t, zone)
	remote := sink(t, "127.0.0.1", in.outPort)
	in.start()
	in.addUser("alice@example.test", alicePW)
	in.addUser("bob@example.test", bobPW)
	in.setScript("alice@example.test", "require \"reject\";\r\nreject \"Alice is gone.\";\r\n")
	mail := func(from, id string) []byte {
		return []byte("From: " + from + "\r\nTo: alice@example.test\r\nSubject: hello\r\nMessage-ID: <" + id + ">\r\n\r\nHi.\r\n")
	}
	// DMARC fails for strict.test (no SPF, no DKIM), p=none: taken, no
	// rejection message.
	require.Equal(t, "ok", in.sendMX("someone@strict.test", "alice@example.test,bob@example.test", "", mail("someone@strict.test", "m1@strict.test")))
	in.waitLog(`no rejection message sent.*why="DMARC failed for the From domain"`)
	// remote.test has no DMARC record: the rejection goes to its MX.
	require.Equal(t, "ok", in.sendMX("someone@remote.test", "alice@example.test,bob@example.test", "", mail("someone@remote.test", "m2@remote.test")))
	deadline := time.Now().Add(30 * time.Second)
	var got []string
	for len(got) == 0 {
		require.True(t, time.Now().Before(deadline), "no rejection message reached the sender's MX\n%s", in.log.String())
		time.Sleep(100 * time.Millisecond)
		got = dumps(t, remote)
	}
	time.Sleep(300 * time.Millisecond)
	got = dumps(t, remote)
	require.Len(t, got, 1)
	require.Contains(t, got[0], "In-Reply-To: <m2@remote.test>")
	require.Contains(t, got[0], "Alice is gone.")
	require.Contains(t, got[0], "X-Mail-Args: <>\n") // sent from the null reverse path
	require.NotContains(t, got[0], "m1@strict.test")
	in.waitFetch("bob@example.test", bobPW, "INBOX", 2)
	require.Empty(t, in.inbox("alice@example.test"))
	in.stop()
}

// TestSieveRejectSPFFail: a client on a DNS allowlist passes with an SPF
// fail; a rejection for its message would go to a forged sender, so none
// goes, and the log says why.
func TestSieveRejectSPFFail(t *testing.T) {
	zone := remoteZone().
		AddA("1.0.0.127.wl.example", "127.0.10.1").
		AddMX("spffail.test", 10, "mx.remote.test").
		AddTXT("spffail.test", "v=spf1 -all")
	in := newInstance(t, zone, "-dnswl", "wl.example")
	in.start()
	in.addUser("alice@example.test", alicePW)
	in.addUser("bob@example.test", bobPW)
	in.setScript("alice@example.test", "require \"reject\";\r\nreject \"Alice is gone.\";\r\n")
	msg := []byte("From: someone@spffail.test\r\nTo: alice@example.test\r\nSubject: hello\r\n\r\nHi.\r\n")
	require.Equal(t, "ok", in.sendMX("someone@spffail.test", "alice@example.test,bob@example.test", "", msg))
	in.waitLog(`no rejection message sent.*why="SPF failed for the sender"`)
	got := in.waitFetch("bob@example.test", bobPW, "INBOX", 1)
	require.Contains(t, got[0].header, "Received-SPF: fail")
	require.NotContains(t, in.log.String(), `msg="sieve reject: rejection message sent"`)
	require.Empty(t, in.inbox("alice@example.test"))
	in.stop()
}
