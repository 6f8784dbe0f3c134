package lifecycle

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"io"
	"math/big"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/heraldmail/herald/serving"
)

var errTestClosed = errors.New("test: server closed")

// echoServer is a toy protocol on the lifecycle: it greets with "hi
// <remote>", answers each line with "ok <line>", holds a "slow" command until
// release is closed, and says "bye" when woken by Shutdown.
func echoServer(t *testing.T, st *serving.Lifecycle, release <-chan struct{}) *Server {
	t.Helper()
	s := &Server{Settings: st, Name: "test", ErrClosed: errTestClosed,
		Busy: []byte("busy\r\n"), Closing: []byte("closing\r\n")}
	s.Handle = func(ctx context.Context, c *Conn) {
		c.ReadTimeout = time.Minute
		br := bufio.NewReader(c)
		// Idle before the greeting goes out, so that a client that has
		// read it knows the connection counts as busy only once it
		// reads a command (the zero value, false, would look busy).
		c.Idle.Store(true)
		io.WriteString(c, "hi "+c.RemoteAddrPort().String()+"\r\n")
		for {
			c.Idle.Store(true)
			if c.ShuttingDown() {
				io.WriteString(c, "bye\r\n")
				return
			}
			line, err := br.ReadString('\n')
			c.Idle.Store(false)
			if err != nil {
				if c.ShuttingDown() {
					io.WriteString(c, "bye\r\n")
				}
				return
			}
			line = strings.TrimSpace(line)
			if line == "slow" {
				<-release
			}
			io.WriteString(c, "ok "+line+"\r\n")
		}
	}
	return s
}

// serveTCP runs s on a loopback port and returns its address.
func serveTCP(t *testing.T, s *Server) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; !errors.Is(err, errTestClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return l.Addr().String()
}

type client struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

func dial(t *testing.T, addr string, header string) *client {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	if header != "" {
		io.WriteString(nc, header)
	}
	return &client{t: t, nc: nc, br: bufio.NewReader(nc)}
}

func (c *client) expect(prefix string) string {
	c.t.Helper()
	line, err := c.br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, prefix) {
		c.t.Fatalf("got %q, %v; want %q...", line, err, prefix)
	}
	return strings.TrimSpace(line)
}

func (c *client) expectEOF() {
	c.t.Helper()
	if line, err := c.br.ReadString('\n'); err == nil {
		c.t.Fatalf("got %q, want EOF", line)
	}
}

func (c *client) send(line string) {
	c.t.Helper()
	if _, err := io.WriteString(c.nc, line+"\r\n"); err != nil {
		c.t.Fatal(err)
	}
}

func TestShutdownBusyAndIdle(t *testing.T) {
	release := make(chan struct{})
	s := echoServer(t, &serving.Lifecycle{}, release)
	addr := serveTCP(t, s)
	idle := dial(t, addr, "")
	idle.expect("hi ")
	busy := dial(t, addr, "")
	busy.expect("hi ")
	busy.send("slow")
	// Wait until the busy connection is inside its command.
	for deadline := time.Now().Add(5 * time.Second); ; {
		var n int
		s.mu.Lock()
		for c := range s.conns {
			if !c.Idle.Load() {
				n++
			}
		}
		s.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("busy connection never started its command")
		}
		time.Sleep(time.Millisecond)
	}
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	idle.expect("bye")
	idle.expectEOF()
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v with a command in flight", err)
	default:
	}
	close(release)
	busy.expect("ok slow")
	busy.expect("bye")
	busy.expectEOF()
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	if err := s.Serve(l); !errors.Is(err, errTestClosed) {
		t.Fatalf("Serve after Shutdown: %v", err)
	}
}

func TestShutdownDeadlineCloses(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	s := echoServer(t, &serving.Lifecycle{}, release)
	addr := serveTCP(t, s)
	busy := dial(t, addr, "")
	busy.expect("hi ")
	busy.send("slow")
	time.Sleep(10 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v", err)
	}
	busy.expectEOF()
}

func TestMaxConnections(t *testing.T) {
	s := echoServer(t, &serving.Lifecycle{MaxConnections: 2}, nil)
	addr := serveTCP(t, s)
	a := dial(t, addr, "")
	a.expect("hi ")
	b := dial(t, addr, "")
	b.expect("hi ")
	c := dial(t, addr, "")
	c.expect("busy")
	c.expectEOF()
	a.nc.Close()
	a.expectEOF()
	// The freed place is taken again.
	for i := 0; ; i++ {
		d := dial(t, addr, "")
		if line, _ := d.br.ReadString('\n'); strings.HasPrefix(line, "hi ") {
			break
		}
		if i > 100 {
			t.Fatal("the closed connection was never uncounted")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestMaxConnectionsPerIPBehindProxy(t *testing.T) {
	s := echoServer(t, &serving.Lifecycle{MaxConnectionsPerIP: 1, ProxyProtocol: true}, nil)
	addr := serveTCP(t, s)
	a := dial(t, addr, "PROXY TCP4 192.0.2.1 198.51.100.1 1000 25\r\n")
	if got := a.expect("hi "); got != "hi 192.0.2.1:1000" {
		t.Fatalf("greeting %q", got)
	}
	// Another client behind the same proxy is not the same address.
	b := dial(t, addr, "PROXY TCP4 192.0.2.2 198.51.100.1 1000 25\r\n")
	b.expect("hi 192.0.2.2:1000")
	c := dial(t, addr, "PROXY TCP4 192.0.2.1 198.51.100.1 1001 25\r\n")
	c.expect("busy")
	c.expectEOF()
	a.nc.Close()
	a.expectEOF()
	for i := 0; ; i++ {
		d := dial(t, addr, "PROXY TCP4 192.0.2.1 198.51.100.1 1002 25\r\n")
		if line, _ := d.br.ReadString('\n'); strings.HasPrefix(line, "hi ") {
			break
		}
		if i > 100 {
			t.Fatal("the closed connection was never uncounted for its address")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func proxyV2TCP4(src, dst netip.AddrPort, tlv []byte) string {
	b := []byte(proxyV2Sig + "\x21\x11")
	b = binary.BigEndian.AppendUint16(b, uint16(12+len(tlv)))
	s4, d4 := src.Addr().As4(), dst.Addr().As4()
	b = append(b, s4[:]...)
	b = append(b, d4[:]...)
	b = binary.BigEndian.AppendUint16(b, src.Port())
	b = binary.BigEndian.AppendUint16(b, dst.Port())
	return string(append(b, tlv...))
}

func TestProxyHeaders(t *testing.T) {
	src := netip.MustParseAddrPort("192.0.2.7:40000")
	dst := netip.MustParseAddrPort("198.51.100.1:143")
	v2 := proxyV2TCP4(src, dst, nil)
	tests := []struct {
		name, header, want string // want "" means refused
		trusted            string
	}{
		{name: "v1", header: "PROXY TCP4 192.0.2.7 198.51.100.1 40000 143\r\n", want: "hi 192.0.2.7:40000"},
		{name: "v1 ipv6", header: "PROXY TCP6 2001:db8::7 2001:db8::1 40000 143\r\n", want: "hi [2001:db8::7]:40000"},
		{name: "v1 unknown keeps the peer", header: "PROXY UNKNOWN\r\n", want: "hi 127.0.0.1:"},
		{name: "v1 with pipelined command", header: "PROXY TCP4 192.0.2.7 198.51.100.1 40000 143\r\nnoop\r\n", want: "hi 192.0.2.7:40000"},
		{name: "v2", header: v2, want: "hi 192.0.2.7:40000"},
		{name: "v2 with TLV", header: proxyV2TCP4(src, dst, []byte{0x01, 0x00, 0x02, 'h', '2'}), want: "hi 192.0.2.7:40000"},
		{name: "v2 local", header: proxyV2Sig + "\x20\x00\x00\x00", want: "hi 127.0.0.1:"},
		{name: "missing", header: "noop\r\n"},
		{name: "v1 bad address", header: "PROXY TCP4 300.0.2.7 198.51.100.1 40000 143\r\n"},
		{name: "v1 too long", header: "PROXY TCP4 " + strings.Repeat("1", 200) + "\r\n"},
		{name: "v1 bare LF", header: "PROXY TCP4 192.0.2.7 198.51.100.1 40000 143\n"},
		{name: "v1 truncated", header: "PROXY TCP4 192.0.2.7"},
		{name: "v2 truncated", header: v2[:20]},
		{name: "v2 too long", header: proxyV2Sig + "\x21\x11\xff\xff"},
		{name: "untrusted", header: "PROXY TCP4 192.0.2.7 198.51.100.1 40000 143\r\n", trusted: "10.0.0.0/8"},
		{name: "trusted", header: "PROXY TCP4 192.0.2.7 198.51.100.1 40000 143\r\n", trusted: "127.0.0.0/8", want: "hi 192.0.2.7:40000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &serving.Lifecycle{ProxyProtocol: true, ProxyHeaderTimeout: 200 * time.Millisecond}
			if tt.trusted != "" {
				st.TrustedProxies = []netip.Prefix{netip.MustParsePrefix(tt.trusted)}
			}
			s := echoServer(t, st, nil)
			c := dial(t, serveTCP(t, s), tt.header)
			if tt.want == "" {
				// Nothing is sent to a refused connection, not even the
				// greeting; a truncated header waits out the timeout.
				b, _ := io.ReadAll(c.br)
				if len(b) != 0 {
					t.Fatalf("refused connection got %q", b)
				}
				return
			}
			c.expect(tt.want)
			if strings.Contains(tt.header, "noop") {
				c.expect("ok noop")
			}
		})
	}
}

// flakyListener fails Accept with temporary errors before each connection
// and then for good.
type flakyListener struct {
	net.Listener
	temp  atomic.Int32
	fatal error
}

type tempErr struct{}

func (tempErr) Error() string   { return "temporary" }
func (tempErr) Temporary() bool { return true }
func (tempErr) Timeout() bool   { return false }

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.temp.Add(-1) >= 0 {
		return nil, tempErr{}
	}
	if l.fatal != nil {
		return nil, l.fatal
	}
	return l.Listener.Accept()
}

func TestAcceptErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := echoServer(t, &serving.Lifecycle{}, nil)
		fatal := errors.New("listener broken")
		l := &flakyListener{Listener: newPipeListener(), fatal: fatal}
		l.temp.Store(5)
		start := time.Now()
		if err := s.Serve(l); err != fatal {
			t.Fatalf("Serve: %v", err)
		}
		// 5, 10, 20, 40 and 80 ms of backoff.
		if d := time.Since(start); d != 155*time.Millisecond {
			t.Fatalf("Serve backed off %v", d)
		}
	})
}

// pipeListener hands out net.Pipe connections; Accept blocks until Close.
type pipeListener struct{ closed chan struct{} }

func newPipeListener() *pipeListener { return &pipeListener{closed: make(chan struct{})} }
func (l *pipeListener) Accept() (net.Conn, error) {
	<-l.closed
	return nil, net.ErrClosed
}
func (l *pipeListener) Close() error   { close(l.closed); return nil }
func (l *pipeListener) Addr() net.Addr { return &net.TCPAddr{} }

func TestHandshakeTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := echoServer(t, &serving.Lifecycle{TLSHandshakeTimeout: 3 * time.Second}, nil)
		s.TLSConfig = testTLSConfig(t)
		s.ImplicitTLS = true
		cli, srv := net.Pipe()
		defer cli.Close()
		start := time.Now()
		s.ServeConn(context.Background(), srv) // the client never says hello
		if d := time.Since(start); d != 3*time.Second {
			t.Fatalf("handshake gave up after %v", d)
		}
	})
}

func TestTLSListenerIsImplicitTLS(t *testing.T) {
	s := echoServer(t, &serving.Lifecycle{}, nil)
	var state *tls.ConnectionState
	h := s.Handle
	s.Handle = func(ctx context.Context, c *Conn) { state = c.TLS(); h(ctx, c) }
	cfg := testTLSConfig(t)
	l, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l)
	defer s.Close()
	pool := x509.NewCertPool()
	pool.AddCert(cfg.Certificates[0].Leaf)
	nc, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "test.example"})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	c := &client{t: t, nc: nc, br: bufio.NewReader(nc)}
	c.expect("hi ")
	if state == nil || !state.HandshakeComplete {
		t.Fatalf("TLS state %v", state)
	}
}

func testTLSConfig(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), DNSNames: []string{"test.example"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}}}
}

func FuzzReadProxyHeader(f *testing.F) {
	src := netip.MustParseAddrPort("192.0.2.7:40000")
	f.Add([]byte("PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r\nEHLO x\r\n"))
	f.Add([]byte("PROXY UNKNOWN\r\n"))
	f.Add([]byte(proxyV2TCP4(src, src, []byte{1, 0, 1, 'x'})))
	f.Add([]byte(proxyV2Sig + "\x21\x21\x00\x24" + strings.Repeat("\x01", 36)))
	f.Fuzz(func(t *testing.T, b []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(b), proxyBufSize)
		h, err := readProxyHeader(br)
		if err != nil {
			if !errors.Is(err, errProxy) {
				t.Fatalf("error %v does not match errProxy", err)
			}
			return
		}
		if !h.local && (!h.src.IsValid() || !h.dst.IsValid()) {
			t.Fatalf("%q gave invalid addresses %+v", b, h)
		}
	})
}

func TestStartTLSWithoutConfig(t *testing.T) {
	// A protocol whose TLSConfig is nil at the time of STARTTLS gets an
	// error from StartTLS, not a nil pointer dereference in crypto/tls.
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	c := &Conn{srv: &Server{Settings: &serving.Lifecycle{}}, nc: a}
	if err := c.StartTLS(context.Background(), nil); !errors.Is(err, errNoTLSConfig) {
		t.Fatalf("StartTLS(nil) = %v, want errNoTLSConfig", err)
	}
}
