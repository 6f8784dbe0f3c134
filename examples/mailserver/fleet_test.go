package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heraldmail/herald/internal/haproxytest"
	"github.com/heraldmail/herald/internal/peertest"
	"github.com/heraldmail/herald/smtp"
)

// The listeners of each role in the tests.
var (
	mxListeners      = []string{"smtp", "submission", "submissions", "http"}
	mailboxListeners = []string{"lmtp", "imap", "imaps", "pop3", "pop3s", "managesieve", "http"}
)

// newRoleInstance prepares an instance of role with the listeners of that
// role only.
func newRoleInstance(t *testing.T, role string, listeners []string, extra ...string) *instance {
	t.Helper()
	in := newInstance(t, nil, append([]string{"-role", role}, extra...)...)
	in.listeners = listeners
	in.addr = map[string]string{}
	in.pickPorts()
	return in
}

// copyUserDB copies the user database of from to to, as an operator keeps
// the MX instances' copies current: each file replaced atomically.
func copyUserDB(t *testing.T, from, to *instance) {
	t.Helper()
	for _, name := range []string{usersFile, aliasesFile} {
		b, err := os.ReadFile(filepath.Join(from.dir, name))
		if os.IsNotExist(err) {
			continue
		}
		require.NoError(t, err)
		tmp := filepath.Join(to.dir, name+".new")
		require.NoError(t, os.WriteFile(tmp, b, 0o600))
		require.NoError(t, os.Rename(tmp, filepath.Join(to.dir, name)))
	}
}

// TestFleet runs the split deployment with real parts: one private HAProxy
// (send-proxy-v2) in front of two MX instances and of the mailbox
// instance's IMAP listener, one private Redis shared by the MX instances,
// and the mailbox instance fed over LMTP.
//
//   - A greylist triplet first seen through MX 1 passes through MX 2 after
//     the delay, and the logs show the clients' 127.0.0.x addresses that
//     HAProxy passed on.
//   - The junk verdict of an MX reaches the mailbox instance: the message
//     is in Junk with $Junk over IMAP, through HAProxy.
//   - The rate limit counts the submissions of both MX instances.
//   - MX 1 is killed with SIGKILL under load from smtp-source and from our
//     own senders: HAProxy moves to MX 2, and every message that got 250
//     is in the Maildir, once.
//   - Redis stops: greylisting fails open, submission is deferred.
func TestFleet(t *testing.T) {
	redisURL, redisStop := startRedisStoppable(t)
	mailbox := newRoleInstance(t, roleMailbox, mailboxListeners, "-proxy-from", "127.0.0.1", "-hostname", "mailbox.example.test")
	mailbox.start()
	mailbox.addUser("alice@example.test", alicePW)

	var mxs [2]*instance
	for i := range mxs {
		mx := newRoleInstance(t, roleMX, mxListeners, "-mailbox-lmtp", mailbox.addr["lmtp"],
			"-proxy-from", "127.0.0.1", "-redis", redisURL,
			"-greylist", "-greylist-delay", "2s", "-rate-limit", "3/h")
		require.NoError(t, os.MkdirAll(mx.dir, 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(mx.dir, "junk-rules"), []byte(
			"threshold 5\nsubject 3 you have won\nbody 2 unclaimed prize\n"), 0o600))
		mx.start()
		copyUserDB(t, mailbox, mx)
		mxs[i] = mx
	}
	fronts := haproxytest.StartFrontends(t,
		[]string{mxs[0].addr["smtp"]},
		[]string{mxs[1].addr["smtp"]},
		[]string{mxs[0].addr["smtp"], mxs[1].addr["smtp"]},
		[]string{mxs[0].addr["submission"]},
		[]string{mxs[1].addr["submission"]},
		[]string{mailbox.addr["imap"]},
	)
	mx1Front, mx2Front, mxFront, sub1Front, sub2Front, imapFront := fronts[0], fronts[1], fronts[2], fronts[3], fronts[4], fronts[5]

	// Greylisting across the instances, with the client addresses that
	// HAProxy passed on.
	msg := "From: <load@remote.test>\nSubject: greylisted\n\nHello."
	_, rcpt, _ := dialFrom(t, "127.0.0.7", mx1Front).sendMX("client.test", "load@remote.test", "alice@example.test", msg)
	require.Regexp(t, `^451 4.7.1 Greylisted`, rcpt)
	mxs[0].waitLog(`msg=connect proto=mx client=127.0.0.7:`)
	mxs[0].waitLog(`check=greylist result=defer action=defer reason="new: load@remote.test from 127.0.0.0/24 to alice@example.test"`)
	time.Sleep(2100 * time.Millisecond)
	_, rcpt, data := dialFrom(t, "127.0.0.8", mx2Front).sendMX("client.test", "load@remote.test", "alice@example.test", msg)
	require.True(t, strings.HasPrefix(rcpt, "250"), rcpt)
	require.True(t, strings.HasPrefix(data, "250"), data)
	mxs[1].waitLog(`msg=connect proto=mx client=127.0.0.8:`)
	mxs[1].waitLog(`msg="handed over" .*to=<alice@example.test> via=` + regexp.QuoteMeta(mailbox.addr["lmtp"]))
	stored := mailbox.waitInbox("alice@example.test", 1, 10*time.Second)[0]
	require.Contains(t, stored, "X-Greylist: delayed ")
	require.Contains(t, unfold(stored), "client-ip=127.0.0.8;", "SPF judged the client HAProxy passed on")
	require.Regexp(t, `(?m)^Received: from mx\.example\.test .*\r\n\s+by mailbox\.example\.test with LMTP`, stored)
	require.NotContains(t, stored, verdictHeader)

	// The junk verdict travels to the mailbox instance; a client's own
	// verdict field does not.
	_, _, data = dialFrom(t, "127.0.0.8", mx2Front).sendMX("client.test", "load@remote.test", "alice@example.test",
		"From: <load@remote.test>\nSubject: You have WON\n\nClaim your unclaimed prize now.")
	require.True(t, strings.HasPrefix(data, "250"), data)
	_, _, data = dialFrom(t, "127.0.0.8", mx1Front).sendMX("client.test", "load@remote.test", "alice@example.test",
		"From: <load@remote.test>\n"+verdictHeader+": junk\nSubject: forged verdict\n\nHello.")
	require.True(t, strings.HasPrefix(data, "250"), data)
	mailbox.waitInbox("alice@example.test", 2, 10*time.Second)
	host, port := hostPort(imapFront)
	out := python(t, `
import imaplib, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
m = imaplib.IMAP4(sys.argv[1], int(sys.argv[2]))
m.starttls(ssl_context=ctx)
m.login(sys.argv[3], sys.argv[4])
for box in ('INBOX', 'Junk'):
    typ, data = m.select(box, readonly=True)
    for i in range(1, int(data[0]) + 1):
        typ, f = m.fetch(str(i), '(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT X-HERALD-VERDICT)])')
        hdr = ' | '.join(l for l in f[0][1].decode().split('\r\n') if l)
        print(box, 'junk' if '$Junk' in f[0][0].decode() else 'nojunk', hdr)
m.logout()
`, host, port, "alice@example.test", alicePW)
	require.Equal(t, "INBOX nojunk Subject: greylisted\nINBOX nojunk Subject: forged verdict\nJunk junk Subject: You have WON\n", out)
	mailbox.waitLog(`msg=login proto=imap user=alice@example.test client=127.0.0.1:\d+ tls=true`)

	// One rate limit over both instances' submission ports.
	require.Equal(t, "accepted\naccepted\n", submitN(t, sub1Front, 2))
	require.Equal(t, "accepted\n451 4.7.1 Rate limit reached: alice@example.test has sent 3 messages in the last hour (limit 3/h); please try again in 60 minutes\n",
		submitN(t, sub2Front, 2))
	mailbox.waitInbox("alice@example.test", 5, 10*time.Second)

	// SIGKILL of MX 1 under load. smtp-source loads both instances
	// through HAProxy; our senders count what got 250.
	source := peertest.LookPath(t, "smtp-source")
	srcHost, srcPort := hostPort(mxFront)
	src := exec.Command(source, "-s", "10", "-m", "1000000", "-l", "2048", "-f", "load@remote.test", "-t", "alice@example.test", srcHost+":"+srcPort)
	require.NoError(t, src.Start())
	t.Cleanup(func() { src.Process.Kill(); src.Wait() })
	var mu sync.Mutex
	acked := map[string]bool{}
	var killed atomic.Bool
	var afterKill atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(10+w))}, Timeout: 5 * time.Second}
			for seq := 0; ctx.Err() == nil; seq++ {
				id := fmt.Sprintf("t%d-%d", w, seq)
				c, err := smtp.Dial(ctx, mxFront, &smtp.ClientOptions{LocalName: "client.test", TLSPolicy: smtp.TLSNone, DialContext: dialer.DialContext})
				if err != nil {
					time.Sleep(20 * time.Millisecond)
					continue
				}
				env := &smtp.Envelope{From: smtp.Path{Local: "load", Domain: "remote.test"},
					To: []smtp.Recipient{{Path: smtp.Path{Local: "alice", Domain: "example.test"}}}}
				body := fmt.Sprintf("From: <load@remote.test>\r\nMessage-ID: <%s@fleet.test>\r\nSubject: tracked %s\r\n\r\n%s", id, id, strings.Repeat("fleet line 0123456789\r\n", 40))
				res, err := c.Send(ctx, env, strings.NewReader(body))
				c.Close()
				if err == nil && res.Delivered() == 1 {
					mu.Lock()
					acked[id] = true
					mu.Unlock()
					if killed.Load() {
						afterKill.Add(1)
					}
				}
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	mxs[0].kill()
	killed.Store(true)
	time.Sleep(2500 * time.Millisecond)
	cancel()
	wg.Wait()
	src.Process.Kill()
	src.Wait()

	mu.Lock()
	require.Greater(t, len(acked), 40, "too few messages were accepted to test anything")
	require.Greater(t, afterKill.Load(), int64(20), "HAProxy did not move the load to MX 2")
	onDisk := map[string]int{}
	msgs := mailbox.inbox("alice@example.test")
	for _, m := range msgs {
		if i := strings.Index(m, "Message-ID: <"); i >= 0 && strings.Contains(m, "@fleet.test>") {
			id := m[i+len("Message-ID: <"):]
			onDisk[id[:strings.Index(id, "@")]]++
		}
	}
	for id := range acked {
		require.Equal(t, 1, onDisk[id], "message %s got 250 but is in the Maildir %d times", id, onDisk[id])
	}
	t.Logf("%d tracked messages acknowledged, %d after the SIGKILL of MX 1; %d messages in the Maildir in all (smtp-source's included)",
		len(acked), afterKill.Load(), len(msgs))
	mu.Unlock()

	// Redis stops: MX 2 still takes mail from a new sender (greylisting
	// fails open), and defers submission (the rate limit fails closed).
	redisStop()
	_, rcpt, data = dialFrom(t, "127.0.0.20", mx2Front).sendMX("client.test", "new@remote.test", "alice@example.test", "From: <new@remote.test>\nSubject: redis down\n\nHello.")
	require.True(t, strings.HasPrefix(rcpt, "250"), rcpt)
	require.True(t, strings.HasPrefix(data, "250"), data)
	mxs[1].waitLog(`check=greylist result=error action=accept reason=".*\(failing open\)"`)
	require.Equal(t, "451 4.3.0 Cannot check the sending rate limit now; please try again later\n", submitN(t, sub2Front, 1))
	mxs[1].waitLog(`check=ratelimit result=error action=defer reason=".*\(failing closed\)"`)
	mxs[1].stop()
	mailbox.stop()
}
