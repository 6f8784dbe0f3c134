package main

import (
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heraldmail/herald/internal/peertest"
)

// startRedis runs a private redis-server on a free loopback port, without
// persistence, and returns its redis:// URL.
func startRedis(t *testing.T) string {
	t.Helper()
	url, _ := startRedisStoppable(t)
	return url
}

// startRedisStoppable is startRedis that also returns a function that
// kills the server before the test ends.
func startRedisStoppable(t *testing.T) (string, func()) {
	t.Helper()
	bin := peertest.LookPath(t, "redis-server")
	addr := freeAddr(t, "127.0.0.1")
	host, port := hostPort(addr)
	cmd := exec.Command(bin, "--bind", host, "--port", port, "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	stop := func() { cmd.Process.Kill(); <-done }
	t.Cleanup(stop)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return "redis://" + addr + "/0", stop
		}
		select {
		case <-done:
			t.Fatalf("redis-server exited: %s", out.String())
		default:
		}
		require.True(t, time.Now().Before(deadline), "redis-server not listening: %s", out.String())
	}
}

// TestPolicyRedisFleet: two servers sharing one Redis with -redis share the
// greylist (a triplet deferred by one passes its retry at the other) and the
// rate limit (messages sent through either count against one limit).
func TestPolicyRedisFleet(t *testing.T) {
	url := startRedis(t)
	flags := []string{"-redis", url, "-greylist", "-greylist-delay", "2s", "-rate-limit", "3/h"}
	a := newInstance(t, nil, flags...)
	a.start()
	a.addUser("alice@example.test", alicePW)
	b := newInstance(t, nil, flags...)
	b.start()
	b.addUser("alice@example.test", alicePW)

	msg := "Subject: fleet\n\nHello."
	_, rcpt, _ := dialFrom(t, "127.0.0.1", a.addr["smtp"]).sendMX("client.test", "someone@remote.test", "alice@example.test", msg)
	require.Regexp(t, `^451 4.7.1 Greylisted, please retry in 2 seconds`, rcpt)
	_, rcpt, _ = dialFrom(t, "127.0.0.1", b.addr["smtp"]).sendMX("client.test", "someone@remote.test", "alice@example.test", msg)
	require.Regexp(t, `^451 4.7.1 Greylisted, please retry in [12] seconds`, rcpt, "B knows the triplet A saw: early, not new")
	b.waitLog(`check=greylist result=defer action=defer reason="early: `)
	time.Sleep(2100 * time.Millisecond)
	_, rcpt, data := dialFrom(t, "127.0.0.1", b.addr["smtp"]).sendMX("client.test", "someone@remote.test", "alice@example.test", msg)
	require.True(t, strings.HasPrefix(rcpt, "250"), rcpt)
	require.True(t, strings.HasPrefix(data, "250"), data)
	require.Contains(t, b.waitInbox("alice@example.test", 1, 10*time.Second)[0], "X-Greylist: delayed ")

	require.Equal(t, "accepted\naccepted\n", submitN(t, a.addr["submission"], 2))
	out := submitN(t, b.addr["submission"], 2)
	require.Equal(t, "accepted\n451 4.7.1 Rate limit reached: alice@example.test has sent 3 messages in the last hour (limit 3/h); please try again in 60 minutes\n", out)
	a.stop()
	b.stop()
}

// submitN sends n messages as alice@example.test over the submission port
// addr with Python's smtplib (STARTTLS, AUTH) and returns a line per
// message: "accepted" or the reply to MAIL.
func submitN(t *testing.T, addr string, n int) string {
	t.Helper()
	host, port := hostPort(addr)
	return python(t, `
import smtplib, ssl, sys
host, port, user, pw, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP(host, port); s.starttls(context=ctx); s.login(user, pw)
for i in range(n):
    try:
        s.sendmail(user, ['alice@example.test'], b'Subject: counted\r\n\r\nHello.\r\n')
        print('accepted')
    except smtplib.SMTPSenderRefused as e:
        print(e.smtp_code, e.smtp_error.decode())
s.quit()
`, host, port, "alice@example.test", alicePW, strconv.Itoa(n))
}
