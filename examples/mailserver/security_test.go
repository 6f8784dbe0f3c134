package main

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestNoOpenRelay tries the classic relay tricks on the MX port from a
// client that may not relay: each must be refused at RCPT, and nothing may
// reach the queue.
func TestNoOpenRelay(t *testing.T) {
	in := newInstance(t, remoteZone())
	in.start()
	in.addUser("alice@example.test", alicePW)
	d := dial(t, in.addr["smtp"])
	require.True(t, strings.HasPrefix(d.reply(), "220 "))
	require.True(t, strings.HasPrefix(d.cmd("EHLO client.remote.test"), "250"))
	require.True(t, strings.HasPrefix(d.cmd("MAIL FROM:<x@remote.test>"), "250"))
	for _, rcpt := range []string{
		"<carol@remote.test>",
		"<carol@REMOTE.test>",
		"<@example.test:carol@remote.test>",
		"<@example.test,@mx.example.test:carol@remote.test>",
		"<carol%remote.test@example.test>",
		"<remote.test!carol@example.test>",
		"<\"carol@remote.test\"@example.test>",
		"<\"carol%remote.test\"@example.test>",
		"<carol@[127.0.0.1]>",
		"<carol@[IPv6:::1]>",
		"<carol@example.test@remote.test>",
		"<carol@remote.test.>",
		"<nobody@example.test>",
	} {
		r := d.cmd("RCPT TO:" + rcpt)
		require.True(t, strings.HasPrefix(r, "5"), "RCPT TO:%s got %q", rcpt, r)
	}
	require.True(t, strings.HasPrefix(d.cmd("RCPT TO:<alice@example.test>"), "250"))
	require.True(t, strings.HasPrefix(d.cmd("RSET"), "250"))
	d.cmd("QUIT")
	out, err := in.cli("", "queue")
	require.NoError(t, err, out)
	require.Equal(t, "The queue is empty.\n", out)
}

// TestSMTPSmuggling sends every bare-CR and bare-LF end-of-data variant
// followed by a second, smuggled transaction: the smuggled message must
// never be delivered as a message of its own.
func TestSMTPSmuggling(t *testing.T) {
	in := newInstance(t, nil)
	in.start()
	in.addUser("alice@example.test", alicePW)
	variants := []string{"\n.\n", "\r.\r", "\n.\r\n", "\r\n.\n", "\r.\n", "\n.\r", "\r\n.\r", "\r.\r\n"}
	for _, v := range variants {
		d := dial(t, in.addr["smtp"])
		d.reply()
		d.cmd("EHLO client.remote.test")
		require.True(t, strings.HasPrefix(d.cmd("MAIL FROM:<x@remote.test>"), "250"))
		require.True(t, strings.HasPrefix(d.cmd("RCPT TO:<alice@example.test>"), "250"))
		require.True(t, strings.HasPrefix(d.cmd("DATA"), "354"))
		d.send("Subject: outer\r\n\r\nouter body" + v +
			"MAIL FROM:<admin@example.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nsmuggled body\r\n.\r\n")
		// Either refused (bare line ending, and the connection may be
		// closed) or one message whose body holds everything; never a
		// reply to a smuggled MAIL.
		line, err := d.r.ReadString('\n')
		if err != nil {
			continue
		}
		require.True(t, strings.HasPrefix(line, "250") || strings.HasPrefix(line, "5") || strings.HasPrefix(line, "4"), "%q: %q", v, line)
		d.c.Write([]byte("QUIT\r\n"))
		if q, err := d.r.ReadString('\n'); err == nil {
			require.True(t, strings.HasPrefix(q, "221") || strings.HasPrefix(q, "5") || strings.HasPrefix(q, "4"), "%q: after the data %q", v, q)
		}
	}
	time.Sleep(200 * time.Millisecond)
	for _, m := range in.inbox("alice@example.test") {
		require.Contains(t, m, "Subject: outer", "a smuggled message was delivered:\n%s", m)
	}
}

// TestSTARTTLSInjection pipelines a command after STARTTLS in the same
// packet: it must not be run inside the TLS session.
func TestSTARTTLSInjection(t *testing.T) {
	in := newInstance(t, nil)
	in.start()
	for _, port := range []string{"smtp", "submission"} {
		d := dial(t, in.addr[port])
		d.reply()
		d.cmd("EHLO client.remote.test")
		d.send("STARTTLS\r\nRSET\r\n")
		r := d.reply()
		if !strings.HasPrefix(r, "220") {
			// Refusing the pipelined STARTTLS is fine too.
			require.True(t, strings.HasPrefix(r, "5"), "%s: %q", port, r)
			continue
		}
		d.c.SetDeadline(time.Now().Add(10 * time.Second))
		tc := tlsClient(t, d)
		require.True(t, strings.HasPrefix(tc.cmd("NOOP"), "250 "), "%s: the injected RSET was answered inside TLS", port)
		require.True(t, strings.HasPrefix(tc.cmd("EHLO client.remote.test"), "250"))
	}
}

// TestAuthOnlyOverTLS: submission offers no AUTH before STARTTLS and
// refuses it, and refuses MAIL without AUTH.
func TestAuthOnlyOverTLS(t *testing.T) {
	in := newInstance(t, nil)
	in.start()
	in.addUser("alice@example.test", alicePW)
	d := dial(t, in.addr["submission"])
	d.reply()
	ehlo := d.cmd("EHLO client.example.test")
	require.NotContains(t, ehlo, "AUTH")
	require.Contains(t, ehlo, "STARTTLS")
	r := d.cmd("AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABhbGljZS1wYXNzd29yZC0x")
	require.True(t, strings.HasPrefix(r, "5"), r)
	r = d.cmd("MAIL FROM:<alice@example.test>")
	require.True(t, strings.HasPrefix(r, "530"), r)
	d.startTLS()
	ehlo = d.cmd("EHLO client.example.test")
	require.Contains(t, ehlo, "AUTH")
	require.Contains(t, ehlo, "PLAIN")
	require.Contains(t, ehlo, "SCRAM-SHA-256")
	r = d.cmd("AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABhbGljZS1wYXNzd29yZC0x")
	require.True(t, strings.HasPrefix(r, "235"), r)
	// The MX port never offers AUTH: it is no way in for users.
	m := dial(t, in.addr["smtp"])
	m.reply()
	m.startTLSAfterEHLO()
	require.NotContains(t, m.cmd("EHLO client.example.test"), "AUTH")
}

// TestTenThousandIdleConnections holds 10,000 idle connections on the MX
// port: the server keeps them all with bounded memory and still takes mail.
func TestTenThousandIdleConnections(t *testing.T) {
	in := newInstance(t, nil)
	in.start()
	in.addUser("alice@example.test", alicePW)
	rss := func() int {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", in.cmd.Process.Pid))
		require.NoError(t, err)
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "VmRSS:") {
				n, _ := strconv.Atoi(strings.Fields(line)[1])
				return n
			}
		}
		t.Fatal("no VmRSS")
		return 0
	}
	before := rss()
	const n = 10000
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	buf := make([]byte, 512)
	for range n {
		c, err := net.DialTimeout("tcp", in.addr["smtp"], 10*time.Second)
		require.NoError(t, err)
		conns = append(conns, c)
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		k, err := c.Read(buf)
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(string(buf[:k]), "220 "), "connection %d: %q", len(conns), buf[:k])
	}
	after := rss()
	perConn := float64(after-before) * 1024 / n
	t.Logf("RSS %d KiB before, %d KiB with %d idle connections: %.1f KiB each", before, after, n, perConn/1024)
	require.Less(t, perConn, 40.0*1024, "more than 40 KiB per idle connection")
	// One more is refused with 421, not left hanging.
	c, err := net.DialTimeout("tcp", in.addr["smtp"], 10*time.Second)
	require.NoError(t, err)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	k, _ := c.Read(buf)
	c.Close()
	require.True(t, strings.HasPrefix(string(buf[:k]), "421"), "%q", buf[:k])
	// With some closed, mail flows again.
	for _, c := range conns[:10] {
		c.Close()
	}
	conns = conns[10:]
	time.Sleep(100 * time.Millisecond)
	d := dial(t, in.addr["smtp"])
	require.True(t, strings.HasPrefix(d.reply(), "220 "))
	d.cmd("EHLO client.remote.test")
	require.True(t, strings.HasPrefix(d.cmd("MAIL FROM:<x@remote.test>"), "250"))
	require.True(t, strings.HasPrefix(d.cmd("RCPT TO:<alice@example.test>"), "250"))
	require.True(t, strings.HasPrefix(d.cmd("DATA"), "354"))
	require.True(t, strings.HasPrefix(d.cmd("Subject: still here\r\n\r\nok\r\n."), "250"))
	in.waitInbox("alice@example.test", 1, 5*time.Second)
}
