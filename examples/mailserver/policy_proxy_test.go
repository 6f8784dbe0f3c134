package main

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heraldmail/herald/dnsmx/dnstest"
	"github.com/heraldmail/herald/internal/haproxytest"
)

// TestPolicyBehindHAProxy: with -proxy-from, a real HAProxy in front of the
// MX and IMAPS ports passes on the client's address with PROXY v2, so the
// policy judges the real client (a listed 127.0.0.2 is refused by name)
// while a direct connection from outside -proxy-from is closed unanswered,
// and implicit TLS works after the PROXY header.
func TestPolicyBehindHAProxy(t *testing.T) {
	zone := dnstest.NewZone().
		AddA("2.0.0.127.zen.example", "127.0.0.2").AddTXT("2.0.0.127.zen.example", "listed for the test")
	in := newInstance(t, zone, "-proxy-from", "127.0.0.1", "-dnsbl", "zen.example")
	in.start()
	in.addUser("alice@example.test", alicePW)
	front := haproxytest.Start(t, in.addr["smtp"])

	mail, _, _ := dialFrom(t, "127.0.0.2", front).sendMX("client.test", "someone@remote.test", "alice@example.test", "")
	require.Equal(t, "554 5.7.1 Client 127.0.0.2 is listed in zen.example: listed for the test\r\n", mail)
	mail, _, data := dialFrom(t, "127.0.0.3", front).sendMX("client.test", "someone@remote.test", "alice@example.test", "Subject: proxied\n\nHello.")
	require.True(t, strings.HasPrefix(mail, "250"), mail)
	require.True(t, strings.HasPrefix(data, "250"), data)
	stored := unfold(in.waitInbox("alice@example.test", 1, 10*time.Second)[0])
	require.Contains(t, stored, "client-ip=127.0.0.3;")
	in.waitLog(`msg=connect proto=mx client=127.0.0.3:`)

	// Straight to the port, from an address that is not a proxy: closed
	// without a greeting.
	dl := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.3")}, Timeout: 5 * time.Second}
	c, err := dl.Dial("tcp", in.addr["smtp"])
	require.NoError(t, err)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	_, err = bufio.NewReader(c).ReadString('\n')
	require.Error(t, err, "a direct connection must get no greeting")

	// IMAPS through HAProxy: PROXY header, then the TLS handshake.
	imapsFront := haproxytest.Start(t, in.addr["imaps"])
	host, port := hostPort(imapsFront)
	out := python(t, `
import imaplib, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
m = imaplib.IMAP4_SSL(sys.argv[1], int(sys.argv[2]), ssl_context=ctx)
m.login(sys.argv[3], sys.argv[4])
typ, data = m.select('INBOX')
print(typ, data[0].decode())
m.logout()
`, host, port, "alice@example.test", alicePW)
	require.Equal(t, "OK 1\n", out)
	in.stop()
}
