package smtp_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/heraldmail/herald/smtp"
)

// testTLS returns a server config with the tests' self-signed certificate
// for "mx.test" and 127.0.0.1 (made once, see cliTestTLS), and a client
// config that trusts it.
func testTLS(t testing.TB) (server, client *tls.Config) {
	t.Helper()
	c := cliTestTLS(t)
	return c.server.Clone(), &tls.Config{RootCAs: c.pool, ServerName: "mx.test"}
}

// client is a minimal line-oriented client for tests.
type client struct {
	t    testing.TB
	conn net.Conn
	br   *bufio.Reader
}

func newClient(t testing.TB, conn net.Conn) *client {
	return &client{t: t, conn: conn, br: bufio.NewReader(conn)}
}

func (c *client) send(lines ...string) {
	c.t.Helper()
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l + "\r\n")
	}
	go c.conn.Write([]byte(b.String()))
}

// expect reads one complete reply and checks its code.
func (c *client) expect(code smtp.ReplyCode) *smtp.Reply {
	c.t.Helper()
	r, err := smtp.ReadReply(c.br)
	if err != nil {
		c.t.Fatalf("reading reply (want %d): %v", code, err)
	}
	if r.Code != code {
		c.t.Fatalf("got %d %v %q, want %d", r.Code, r.Enhanced, r.Lines, code)
	}
	return r
}

func (c *client) expectEOF() {
	c.t.Helper()
	if line, err := c.br.ReadString('\n'); err == nil {
		c.t.Fatalf("want EOF, got %q", line)
	}
}

func TestOptionsReachBackend(t *testing.T) {
	t.Parallel()
	be := &testBackend{}
	s := newServer(t, be, "", io.Discard)
	c := newClient(t, pipeConn(t, s))
	c.expect(220)
	c.send("EHLO c.example")
	c.expect(250)
	c.send("MAIL FROM:<a@example.org> RET=HDRS ENVID=Q+2B1 SIZE=42 BODY=8BITMIME")
	c.expect(250)
	c.send("RCPT TO:<b@example.org> NOTIFY=FAILURE,DELAY ORCPT=rfc822;b+2Bx@example.org")
	c.expect(250)
	c.send("DATA")
	c.expect(354)
	c.send("x", ".")
	c.expect(250)
	c.send("QUIT")
	c.expect(221)
	msgs := be.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	m := msgs[0]
	want := smtp.MailOptions{Size: 42, Body: smtp.Body8BitMIME, Return: smtp.ReturnHeaders, EnvelopeID: "Q+1"}
	if m.Mail != want {
		t.Errorf("MailOptions = %+v, want %+v", m.Mail, want)
	}
	r := m.Rcpts[0]
	if r.Notify != smtp.NotifyFailure|smtp.NotifyDelay || r.OriginalRecipientType != "rfc822" || r.OriginalRecipient != "b+x@example.org" {
		t.Errorf("RcptOptions = %+v", r)
	}
	if r.Notify.String() != "FAILURE,DELAY" {
		t.Errorf("Notify.String() = %q", r.Notify.String())
	}
	if m.Info.HeloName != "c.example" || !m.Info.ESMTP {
		t.Errorf("ConnInfo = %+v", m.Info)
	}
}

func TestStartTLSDiscardsPipelinedCommands(t *testing.T) {
	t.Parallel()
	srvTLS, cliTLS := testTLS(t)
	be := &testBackend{}
	s := newServer(t, be, "", io.Discard)
	s.TLSConfig = srvTLS
	conn := pipeConn(t, s)
	c := newClient(t, conn)
	c.expect(220)
	c.send("EHLO c.example")
	r := c.expect(250)
	if !strings.Contains(strings.Join(r.Lines, "\n"), "STARTTLS") {
		t.Fatalf("STARTTLS not offered: %q", r.Lines)
	}
	// The injected commands ride in the same write as STARTTLS.
	c.send("STARTTLS", "MAIL FROM:<evil@example.org>", "RCPT TO:<victim@example.org>")
	c.expect(220)
	if c.br.Buffered() != 0 {
		t.Fatalf("server sent more than the 220: %d bytes", c.br.Buffered())
	}
	tc := tls.Client(conn, cliTLS)
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c = newClient(t, tc)
	// Knowledge from before TLS is gone: MAIL needs a new EHLO.
	c.send("MAIL FROM:<a@example.org>")
	c.expect(503)
	c.send("EHLO c.example")
	r = c.expect(250)
	text := strings.Join(r.Lines, "\n")
	if strings.Contains(text, "STARTTLS") || !strings.Contains(text, "REQUIRETLS") || !strings.Contains(text, "AUTH PLAIN LOGIN") {
		t.Fatalf("EHLO after TLS: %q", r.Lines)
	}
	// Not 503 "nested MAIL": the injected MAIL was never run.
	c.send("MAIL FROM:<a@example.org> REQUIRETLS")
	c.expect(250)
	c.send("RCPT TO:<b@example.org>")
	c.expect(250)
	c.send("STARTTLS")
	c.expect(503)
	c.send("AUTH PLAIN AHVzZXIAcGFzcw==")
	c.expect(503) // inside a transaction
	c.send("RSET", "AUTH PLAIN AHVzZXIAcGFzcw==")
	c.expect(250)
	c.expect(235)
	c.send("MAIL FROM:<a@example.org>", "RCPT TO:<b@example.org>", "DATA")
	c.expect(250)
	c.expect(250)
	c.expect(354)
	c.send("hi", ".")
	c.expect(250)
	c.send("QUIT")
	c.expect(221)
	m := be.Messages()[0]
	if m.Info.TLS == nil || m.Info.AuthIdentity != "user" || m.Info.AuthMechanism != "PLAIN" {
		t.Fatalf("ConnInfo after STARTTLS and AUTH: %+v", m.Info)
	}
	got := smtp.Received(&m.Info, smtp.ReceivedOptions{By: "mx.test", Time: time.Unix(0, 0).UTC()})
	if !strings.Contains(got, "with ESMTPSA") || !strings.Contains(got, "(TLS 1.3 TLS_") {
		t.Fatalf("Received: %q", got)
	}
}

func TestImplicitTLS(t *testing.T) {
	t.Parallel()
	srvTLS, cliTLS := testTLS(t)
	be := &testBackend{}
	s := newServer(t, be, "", io.Discard)
	s.TLSConfig = srvTLS
	s.ImplicitTLS = true
	tc := tls.Client(pipeConn(t, s), cliTLS)
	c := newClient(t, tc)
	c.expect(220)
	c.send("EHLO c.example")
	r := c.expect(250)
	if strings.Contains(strings.Join(r.Lines, "\n"), "STARTTLS") {
		t.Fatal("STARTTLS offered on a TLS connection")
	}
	c.send("QUIT")
	c.expect(221)
}

func TestImplicitTLSHandshakeFailure(t *testing.T) {
	t.Parallel()
	srvTLS, _ := testTLS(t)
	s := newServer(t, &testBackend{}, "", io.Discard)
	s.TLSConfig = srvTLS
	s.ImplicitTLS = true
	conn := pipeConn(t, s)
	go conn.Write([]byte("EHLO plaintext\r\n\r\n\r\n\r\n\r\n\r\n"))
	b, _ := io.ReadAll(conn)
	if strings.Contains(string(b), "220") {
		t.Fatalf("plaintext client got a greeting: %q", b)
	}
}

func proxyV2(src, dst netip.AddrPort) []byte {
	b := []byte("\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c")
	s4, d4 := src.Addr().As4(), dst.Addr().As4()
	b = append(b, s4[:]...)
	b = append(b, d4[:]...)
	b = binary.BigEndian.AppendUint16(b, src.Port())
	return binary.BigEndian.AppendUint16(b, dst.Port())
}

func TestProxyProtocol(t *testing.T) {
	t.Parallel()
	src := netip.MustParseAddrPort("192.0.2.7:40000")
	dst := netip.MustParseAddrPort("198.51.100.1:25")
	tests := []struct {
		name   string
		header []byte
		want   netip.AddrPort
		ok     bool
	}{
		{name: "v1", header: []byte("PROXY TCP4 192.0.2.7 198.51.100.1 40000 25\r\n"), want: src, ok: true},
		{name: "v1 ipv6", header: []byte("PROXY TCP6 2001:db8::7 2001:db8::1 40000 25\r\n"), want: netip.MustParseAddrPort("[2001:db8::7]:40000"), ok: true},
		{name: "v2", header: proxyV2(src, dst), want: src, ok: true},
		{name: "missing", header: []byte("EHLO c.example\r\n"), ok: false},
		{name: "v1 garbage", header: []byte("PROXY TCP4 300.0.2.7 198.51.100.1 40000 25\r\n"), ok: false},
		{name: "v1 mixed families", header: []byte("PROXY TCP4 2001:db8::7 198.51.100.1 40000 25\r\n"), ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			be := &testBackend{}
			s := newServer(t, be, "", io.Discard)
			s.ProxyProtocol = true
			s.XClientTrusted = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
			conn := pipeConn(t, s)
			go conn.Write(tt.header)
			c := newClient(t, conn)
			if !tt.ok {
				c.expectEOF()
				return
			}
			c.expect(220)
			c.send("EHLO c.example", "MAIL FROM:<a@example.org>", "RCPT TO:<b@example.org>", "DATA")
			r := c.expect(250)
			xclient := strings.Contains(strings.Join(r.Lines, "\n"), "XCLIENT")
			c.expect(250)
			c.expect(250)
			c.expect(354)
			c.send(".")
			c.expect(250)
			m := be.Messages()[0]
			if m.Info.RemoteAddr != tt.want || m.Info.ProxyAddr.IsValid() {
				t.Fatalf("RemoteAddr %v ProxyAddr %v, want %v", m.Info.RemoteAddr, m.Info.ProxyAddr, tt.want)
			}
			if xclient != tt.want.Addr().Is4() {
				t.Fatalf("XCLIENT offered = %v", xclient)
			}
		})
	}
}

func TestProxyUntrusted(t *testing.T) {
	t.Parallel()
	s := newServer(t, &testBackend{}, "", io.Discard)
	s.ProxyProtocol = true
	s.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	conn := pipeConn(t, s)
	go conn.Write([]byte("PROXY TCP4 192.0.2.7 198.51.100.1 40000 25\r\n"))
	newClient(t, conn).expectEOF()
}

func TestXClient(t *testing.T) {
	t.Parallel()
	be := &testBackend{}
	s := newServer(t, be, "", io.Discard)
	s.ProxyProtocol = true
	s.XClientTrusted = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
	conn := pipeConn(t, s)
	go conn.Write([]byte("PROXY TCP4 192.0.2.7 198.51.100.1 40000 25\r\n"))
	c := newClient(t, conn)
	c.expect(220)
	c.send("EHLO front.example")
	c.expect(250)
	c.send("XCLIENT ADDR=IPV6:2001:db8::99 PORT=1234 NAME=client.example.net HELO=real+20helo")
	c.expect(501) // space in HELO is fine in xtext but not as HELO: refused below
	c.send("XCLIENT ADDR=IPV6:2001:db8::99 PORT=1234 NAME=client.example.net HELO=real.helo PROTO=ESMTP LOGIN=bob")
	c.expect(220) // a new greeting
	c.send("MAIL FROM:<a@example.org>", "RCPT TO:<b@example.org>", "DATA")
	c.expect(250)
	c.expect(250)
	c.expect(354)
	c.send(".")
	c.expect(250)
	// The trust decision stays with the front end's address.
	c.send("XCLIENT NAME=[UNAVAILABLE]")
	c.expect(220)
	c.send("XCLIENT FOO=bar")
	c.expect(501)
	m := be.Messages()[0]
	i := m.Info
	if i.RemoteAddr != netip.MustParseAddrPort("[2001:db8::99]:1234") || i.RemoteName != "client.example.net" ||
		i.HeloName != "real.helo" || !i.ESMTP || i.AuthIdentity != "bob" || i.ProxyAddr.Addr() != netip.MustParseAddr("192.0.2.7") {
		t.Fatalf("ConnInfo after XCLIENT: %+v", i)
	}
	if be.closed < 1 {
		t.Fatal("the session replaced by XCLIENT was not closed")
	}
}

// pipeListener hands out the server ends of net.Pipe connections.
type pipeListener struct {
	ch     chan net.Conn
	once   sync.Once
	closed chan struct{}
}

func newPipeListener() *pipeListener {
	return &pipeListener{ch: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 25} }

func (l *pipeListener) dial() net.Conn {
	cli, srv := net.Pipe()
	l.ch <- srv
	return cli
}

func TestShutdown(t *testing.T) {
	t.Parallel()
	be := &testBackend{}
	s := newServer(t, be, "", io.Discard)
	l := newPipeListener()
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()

	idle := newClient(t, l.dial())
	idle.expect(220)
	busy := newClient(t, l.dial())
	busy.expect(220)
	busy.send("EHLO c.example", "MAIL FROM:<a@example.org>", "RCPT TO:<b@example.org>", "DATA")
	busy.expect(250)
	busy.expect(250)
	busy.expect(250)
	busy.expect(354)
	busy.send("first line")

	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	r := idle.expect(421)
	if r.Lines[0] != "mx.test Service shutting down, closing connection" {
		t.Fatalf("idle connection got %q", r.Lines)
	}
	idle.expectEOF()
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v while a message was in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	busy.send(".")
	busy.expect(250)
	busy.expect(421)
	busy.expectEOF()
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-served; !errors.Is(err, smtp.ErrServerClosed) {
		t.Fatalf("Serve: %v", err)
	}
	if len(be.Messages()) != 1 {
		t.Fatal("the message in flight was lost")
	}
	if err := s.Serve(newPipeListener()); !errors.Is(err, smtp.ErrServerClosed) {
		t.Fatalf("Serve after Shutdown: %v", err)
	}
}

func TestShutdownDeadline(t *testing.T) {
	t.Parallel()
	s := newServer(t, &testBackend{}, "", io.Discard)
	l := newPipeListener()
	go s.Serve(l)
	c := newClient(t, l.dial())
	c.expect(220)
	c.send("EHLO c.example", "MAIL FROM:<a@example.org>", "RCPT TO:<b@example.org>", "DATA")
	for range 3 {
		c.expect(250)
	}
	c.expect(354)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v", err)
	}
	c.expectEOF()
}

func TestMaxConnections(t *testing.T) {
	t.Parallel()
	s := newServer(t, &testBackend{}, "", io.Discard)
	s.MaxConnections = 1
	l := newPipeListener()
	go s.Serve(l)
	defer s.Close()
	first := newClient(t, l.dial())
	first.expect(220)
	second := newClient(t, l.dial())
	r := second.expect(421)
	if r.Enhanced != smtp.EnhancedCongestion {
		t.Fatalf("got %v", r.Enhanced)
	}
	second.expectEOF()
}

func TestCommandTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newServer(t, &testBackend{}, "", io.Discard)
		cli, srv := net.Pipe()
		done := make(chan struct{})
		go func() {
			s.ServeConn(context.Background(), srv)
			close(done)
		}()
		c := newClient(t, cli)
		c.expect(220)
		time.Sleep(smtp.DefaultCommandTimeout - time.Second)
		c.send("EHLO c.example")
		c.expect(250)
		time.Sleep(smtp.DefaultCommandTimeout + time.Second)
		r := c.expect(421)
		if r.Lines[0] != "mx.test Timeout, closing connection" {
			t.Fatalf("got %q", r.Lines)
		}
		c.expectEOF()
		<-done
		cli.Close()
	})
}

func TestDataTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		be := &testBackend{}
		s := newServer(t, be, "", io.Discard)
		s.DataTimeout = time.Minute
		cli, srv := net.Pipe()
		done := make(chan struct{})
		go func() {
			s.ServeConn(context.Background(), srv)
			close(done)
		}()
		c := newClient(t, cli)
		c.expect(220)
		c.send("EHLO c.example", "MAIL FROM:<a@example.org>", "RCPT TO:<b@example.org>", "DATA")
		for range 3 {
			c.expect(250)
		}
		c.expect(354)
		c.send("partial")
		// Past DataTimeout, but not past the write timeout of the 421.
		time.Sleep(90 * time.Second)
		c.expect(421)
		c.expectEOF()
		<-done
		cli.Close()
		if len(be.Messages()) != 0 {
			t.Fatal("a timed-out message was stored")
		}
	})
}

func TestReceived(t *testing.T) {
	t.Parallel()
	when := time.Date(2026, 11, 23, 17, 4, 5, 0, time.FixedZone("", -7*3600))
	tests := []struct {
		name string
		info smtp.ConnInfo
		opts smtp.ReceivedOptions
		want string
	}{
		{
			name: "esmtp",
			info: smtp.ConnInfo{RemoteAddr: netip.MustParseAddrPort("192.0.2.1:4000"), HeloName: "client.example", ESMTP: true},
			opts: smtp.ReceivedOptions{By: "mx.example.org", ID: "abc123", For: smtp.Path{Local: "bob", Domain: "example.org"}, Time: when},
			want: "Received: from client.example ([192.0.2.1])\r\n\tby mx.example.org with ESMTP id abc123\r\n\tfor <bob@example.org>; Mon, 23 Nov 2026 17:04:05 -0700\r\n",
		},
		{
			name: "helo ipv6 hostile",
			info: smtp.ConnInfo{RemoteAddr: netip.MustParseAddrPort("[2001:db8::1]:25"), HeloName: "evil)\r\nX-Injected: yes", RemoteName: "host.example"},
			opts: smtp.ReceivedOptions{Time: when},
			want: "Received: from evilX-Injected:yes (host.example [IPv6:2001:db8::1])\r\n\tby localhost with SMTP; Mon, 23 Nov 2026 17:04:05 -0700\r\n",
		},
		{
			name: "lmtp utf8 authenticated",
			info: smtp.ConnInfo{HeloName: "c", LMTP: true, AuthIdentity: "u"},
			opts: smtp.ReceivedOptions{By: "lmtp.example", UTF8: true, Time: when},
			want: "Received: from c ([unknown])\r\n\tby lmtp.example with UTF8LMTPA; Mon, 23 Nov 2026 17:04:05 -0700\r\n",
		},
	}
	for _, tt := range tests {
		if got := smtp.Received(&tt.info, tt.opts); got != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
		}
	}
}

func TestInternalErrorTextStaysOffTheWire(t *testing.T) {
	t.Parallel()
	logs := &logBuffer{}
	be := &testBackend{}
	s := newServer(t, be, "", logs)
	conn := pipeConn(t, s)
	c := newClient(t, conn)
	c.expect(220)
	c.send("EHLO c", "MAIL FROM:<tempfail@example.org>", "QUIT")
	c.expect(250)
	r := c.expect(451)
	c.expect(221)
	if strings.Contains(strings.Join(r.Lines, " "), "fire") {
		t.Fatalf("internal text leaked: %q", r.Lines)
	}
	if !strings.Contains(logs.String(), "database on fire") {
		t.Fatalf("error not logged: %s", logs)
	}
}

func TestTimeoutAfterStartTLS(t *testing.T) {
	srvTLS, _ := testTLS(t)
	synctest.Test(t, func(t *testing.T) {
		s := newServer(t, &testBackend{}, "", io.Discard)
		s.TLSConfig = srvTLS
		cli, srv := net.Pipe()
		done := make(chan struct{})
		go func() {
			s.ServeConn(context.Background(), srv)
			close(done)
		}()
		c := newClient(t, cli)
		c.expect(220)
		c.send("EHLO c.example")
		c.expect(250)
		c.send("STARTTLS")
		c.expect(220)
		// The bubble's clock is not the certificate's: skip verification.
		tc := tls.Client(cli, &tls.Config{InsecureSkipVerify: true})
		if err := tc.Handshake(); err != nil {
			t.Fatal(err)
		}
		c = newClient(t, tc)
		time.Sleep(smtp.DefaultCommandTimeout + time.Second)
		c.expect(421)
		<-done
		cli.Close()
	})
}

func TestAuthLineLimits(t *testing.T) {
	t.Parallel()
	be := &testBackend{}
	s := newServer(t, be, "insecureauth", io.Discard)
	c := newClient(t, pipeConn(t, s))
	c.expect(220)
	c.send("EHLO c.example")
	c.expect(250)
	// An AUTH command line may be longer than MaxLineLength (RFC 4954
	// section 4: 12288 octets) ...
	long := strings.Repeat("A", smtp.DefaultMaxLineLength+100)
	c.send("AUTH PLAIN " + long)
	r := c.expect(501) // ... it is just not valid PLAIN data.
	if r.Enhanced != smtp.EnhancedSyntaxError {
		t.Fatalf("got %v", r.Enhanced)
	}
	// A response line over MaxAuthLineLength is refused with 5.5.6.
	c.send("AUTH LOGIN")
	c.expect(334)
	c.send(strings.Repeat("A", smtp.MaxAuthLineLength+1))
	r = c.expect(500)
	if r.Enhanced != smtp.EnhancedAuthLineTooLong {
		t.Fatalf("got %v", r.Enhanced)
	}
	// LOGIN with the user name as initial response.
	c.send("AUTH LOGIN dXNlcg==")
	c.expect(334)
	c.send("cGFzcw==")
	c.expect(235)
	c.send("QUIT")
	c.expect(221)
}
