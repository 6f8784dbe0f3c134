package smtp_test

import (
	"crypto/tls"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/heraldmail/herald/internal/haproxytest"
	"github.com/heraldmail/herald/smtp"
)

// serveOn runs s on l until the test ends.
func serveOn(t *testing.T, s *smtp.Server, l net.Listener) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); s.Serve(l) }()
	t.Cleanup(func() { s.Close(); <-done })
}

// sendOne runs one transaction and returns the EHLO reply.
func sendOne(t *testing.T, c *client) *smtp.Reply {
	t.Helper()
	c.expect(220)
	c.send("EHLO c.example")
	r := c.expect(250)
	c.send("MAIL FROM:<a@example.org>", "RCPT TO:<b@example.org>", "DATA")
	c.expect(250)
	c.expect(250)
	c.expect(354)
	c.send("x", ".")
	c.expect(250)
	c.send("QUIT")
	c.expect(221)
	return r
}

// TestServeTLSListener: Serve(tls.Listen(...)) is implicit TLS without
// ImplicitTLS: no STARTTLS offered, ConnInfo.TLS set.
func TestServeTLSListener(t *testing.T) {
	srvTLS, cliTLS := testTLS(t)
	be := &testBackend{}
	s := newServer(t, be, "", io.Discard)
	s.TLSConfig = srvTLS
	l, err := tls.Listen("tcp", "127.0.0.1:0", srvTLS)
	if err != nil {
		t.Fatal(err)
	}
	serveOn(t, s, l)
	tc, err := tls.Dial("tcp", l.Addr().String(), cliTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	r := sendOne(t, newClient(t, tc))
	if ext := strings.Join(r.Lines, "\n"); strings.Contains(ext, "STARTTLS") || !strings.Contains(ext, "REQUIRETLS") {
		t.Fatalf("EHLO on a TLS listener offers %q", ext)
	}
	if m := be.Messages(); len(m) != 1 || m[0].Info.TLS == nil {
		t.Fatalf("ConnInfo.TLS not set: %+v", m)
	}
}

// TestBehindHAProxy puts HAProxy with send-proxy-v2 in front of the server:
// the backend sees the client's own address, and the proxy's as ProxyAddr.
func TestBehindHAProxy(t *testing.T) {
	be := &testBackend{}
	s := newServer(t, be, "", io.Discard)
	s.ProxyProtocol = true
	s.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveOn(t, s, l)
	front := haproxytest.Start(t, l.Addr().String())
	nc, _ := haproxytest.Dial(t, front)
	sendOne(t, newClient(t, nc))
	m := be.Messages()
	if len(m) != 1 {
		t.Fatalf("%d messages", len(m))
	}
	want := nc.LocalAddr().(*net.TCPAddr).AddrPort()
	if got := m[0].Info.RemoteAddr; got != want {
		t.Fatalf("backend saw RemoteAddr %v, the client is %v", got, want)
	}
	if p := m[0].Info.ProxyAddr; !p.IsValid() || p == want {
		t.Fatalf("ProxyAddr %v", p)
	}
}
