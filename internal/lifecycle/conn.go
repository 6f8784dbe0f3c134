package lifecycle

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/heraldmail/herald/serving"
)

// ErrShuttingDown is returned by ReadCommand once the server shuts down.
var ErrShuttingDown = errors.New("server shutting down")

// Input is the buffered reader of a connection as ReadCommand sees it.
type Input interface {
	// Buffered returns how many bytes can be read without blocking.
	Buffered() int
	// Shrink gives back the reader's large buffer while it waits.
	Shrink()
}

// ReadCommand reads the next command with read, the way the smtp and pop3
// servers wait for one. While the client has pipelined more input, the
// replies stay queued (pending bytes of them), unless they reach
// maxPending. When the input is drained, ReadCommand flushes, lets in give
// back its large buffer and marks the connection Idle during read, so that
// Shutdown wakes it; if shutdown has already begun it returns
// ErrShuttingDown without reading. An error of flush is returned as is.
func (c *Conn) ReadCommand(in Input, pending, maxPending int, flush func() error, read func() ([]byte, error)) ([]byte, error) {
	if pending >= maxPending {
		// A client that streams commands without pause never empties
		// the input buffer; keep the replies bounded all the same.
		if err := flush(); err != nil {
			return nil, err
		}
	}
	if in.Buffered() == 0 {
		if err := flush(); err != nil {
			return nil, err
		}
		in.Shrink()
		c.Idle.Store(true)
		defer c.Idle.Store(false)
		if c.ShuttingDown() {
			return nil, ErrShuttingDown
		}
	}
	return read()
}

// Conn is one connection in its life: the transport (TLS once it is on),
// the addresses after any PROXY header, and the idle flag through which
// Shutdown wakes it. Read and Write move the deadlines by ReadTimeout and
// WriteTimeout. Everything but Idle is used only by the connection's
// goroutine.
type Conn struct {
	srv     *Server
	raw     net.Conn // the accepted connection
	nc      net.Conn // the current transport
	counted bool
	ip      netip.Addr // counted toward perIP under this address

	remote, local, proxy netip.AddrPort
	tls                  *tls.ConnectionState
	log                  *slog.Logger

	// ReadTimeout and WriteTimeout bound each read and write; zero
	// means no deadline.
	ReadTimeout, WriteTimeout time.Duration
	rd, wd                    deadline

	// Idle is set by the protocol while it waits for a command with
	// nothing buffered; Shutdown wakes an idle connection at once.
	Idle atomic.Bool
}

func newConn(s *Server, nc net.Conn, counted bool) *Conn {
	c := &Conn{srv: s, raw: nc, nc: nc, counted: counted}
	c.remote = addrPortOf(nc.RemoteAddr())
	c.local = addrPortOf(nc.LocalAddr())
	return c
}

func addrPortOf(a net.Addr) netip.AddrPort {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.AddrPort()
	case interface{ AddrPort() netip.AddrPort }:
		return a.AddrPort()
	}
	if a == nil {
		return netip.AddrPort{}
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}

// RemoteAddrPort is the client's address: the peer, or the source of the
// PROXY header.
func (c *Conn) RemoteAddrPort() netip.AddrPort { return c.remote }

// LocalAddrPort is the server's address the client connected to.
func (c *Conn) LocalAddrPort() netip.AddrPort { return c.local }

// ProxyAddr is the peer that sent the PROXY header, or the zero value.
func (c *Conn) ProxyAddr() netip.AddrPort { return c.proxy }

// RemoteAddr is RemoteAddrPort as a net.Addr; without a PROXY header it is
// the transport's own.
func (c *Conn) RemoteAddr() net.Addr {
	if c.proxy.IsValid() {
		return net.TCPAddrFromAddrPort(c.remote)
	}
	return c.raw.RemoteAddr()
}

// LocalAddr is LocalAddrPort as a net.Addr, like RemoteAddr.
func (c *Conn) LocalAddr() net.Addr {
	if c.proxy.IsValid() {
		return net.TCPAddrFromAddrPort(c.local)
	}
	return c.raw.LocalAddr()
}

// TLS is the state of the TLS layer, nil before TLS.
func (c *Conn) TLS() *tls.ConnectionState { return c.tls }

// Peer returns what a protocol's ConnInfo shows of the connection: the
// client's and the server's addresses, the proxy's, and the TLS state.
func (c *Conn) Peer() (remote, local, proxy netip.AddrPort, tls *tls.ConnectionState) {
	return c.remote, c.local, c.proxy, c.tls
}

// Flush writes out, a protocol's pending responses, and returns the
// buffer emptied for reuse: a fresh small one after a large response, so
// that an idle connection does not keep a big buffer.
func (c *Conn) Flush(out []byte) ([]byte, error) {
	if len(out) == 0 {
		return out, nil
	}
	_, err := c.Write(out)
	if cap(out) > 4096 {
		return make([]byte, 0, 256), err
	}
	return out[:0], err
}

// SetTimeouts sets ReadTimeout and WriteTimeout.
func (c *Conn) SetTimeouts(read, write time.Duration) {
	c.ReadTimeout, c.WriteTimeout = read, write
}

// Logger is the server's logger with the client's address as "remote",
// for the protocol's lines about this connection.
func (c *Conn) Logger() *slog.Logger {
	if c.log == nil {
		c.log = c.srv.logger().With("remote", c.remote.String())
	}
	return c.log
}

// NetConn is the current transport.
func (c *Conn) NetConn() net.Conn { return c.nc }

// ShuttingDown reports whether the server is shutting down.
func (c *Conn) ShuttingDown() bool { return c.srv.shutting.Load() }

// Done is closed when the server starts shutting down.
func (c *Conn) Done() <-chan struct{} { return c.srv.shutDone() }

// past is a deadline that has passed: it wakes a blocked read.
var past = time.Unix(1, 0)

// wake makes an idle connection's read fail at once; called with srv.mu
// held, after shutting is set.
func (c *Conn) wake() {
	if c.Idle.Load() {
		c.raw.SetReadDeadline(past)
	}
}

// Read reads from the transport with a fresh deadline.
func (c *Conn) Read(p []byte) (int, error) {
	if c.ReadTimeout > 0 {
		c.rd.refresh(c.nc.SetReadDeadline, c.ReadTimeout)
		// Shutdown may have woken the connection just before the
		// refresh moved the deadline away again.
		if c.Idle.Load() && c.srv.shutting.Load() {
			c.nc.SetReadDeadline(past)
		}
	}
	return c.nc.Read(p)
}

// Write writes to the transport with a fresh deadline.
func (c *Conn) Write(p []byte) (int, error) {
	if c.WriteTimeout > 0 {
		c.wd.refresh(c.nc.SetWriteDeadline, c.WriteTimeout)
	}
	return c.nc.Write(p)
}

// StartTLS runs the server side of TLS with cfg on the current transport,
// within TLSHandshakeTimeout. Bytes the protocol buffered are its own to
// drop. The protocol passes its Server's TLSConfig as it is at the time of
// the command, which may differ from the one Serve started with.
func (c *Conn) StartTLS(ctx context.Context, cfg *tls.Config) error {
	if cfg == nil {
		return errNoTLSConfig
	}
	return c.handshake(ctx, tls.Server(c.nc, cfg))
}

// errNoTLSConfig refuses a handshake without a configuration, which
// crypto/tls would answer with a nil pointer dereference.
var errNoTLSConfig = errors.New("lifecycle: TLS handshake without a TLS configuration")

func (c *Conn) handshake(ctx context.Context, tc *tls.Conn) error {
	d := orDur(c.srv.Settings.TLSHandshakeTimeout, serving.DefaultTLSHandshakeTimeout)
	c.nc.SetDeadline(time.Now().Add(d))
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		return err
	}
	tc.SetDeadline(time.Time{})
	st := tc.ConnectionState()
	c.nc, c.tls = tc, &st
	// A new transport: set its deadlines afresh.
	c.rd, c.wd = deadline{}, deadline{}
	return nil
}

// deadline moves a connection deadline forward lazily: a deadline set less
// than 1/64 of its timeout ago is kept, which spares a timer update on every
// read and write of a busy connection while keeping the timeout within 2%.
type deadline struct {
	set     time.Time
	timeout time.Duration
}

func (d *deadline) refresh(setDeadline func(time.Time) error, timeout time.Duration) {
	now := time.Now()
	if timeout == d.timeout && now.Sub(d.set) < timeout/64 {
		return
	}
	setDeadline(now.Add(timeout))
	d.set, d.timeout = now, timeout
}

// prefixConn serves the bytes read past the PROXY header before the rest.
type prefixConn struct {
	net.Conn
	pre []byte
}

func (p *prefixConn) Read(b []byte) (int, error) {
	if len(p.pre) > 0 {
		n := copy(b, p.pre)
		p.pre = p.pre[n:]
		return n, nil
	}
	return p.Conn.Read(b)
}
