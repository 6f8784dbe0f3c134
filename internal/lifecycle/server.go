// Package lifecycle is the life of a server, written once for smtp, imap
// and pop3: listeners and connection tracking, the accept loop with its
// backoff, the connection limits, the PROXY protocol, the TLS handshake and
// graceful shutdown. A protocol supplies its dialogue as Server.Handle and
// the lines it sends when it refuses a connection.
package lifecycle

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldmail/herald/serving"
)

// Server runs the life of the connections of one protocol server. Its
// exported fields are set once, before the first use.
type Server struct {
	// Settings are the user's, embedded in the protocol's Server.
	Settings *serving.Lifecycle
	// TLSConfig is used for implicit TLS and StartTLS.
	TLSConfig *tls.Config
	// ImplicitTLS makes every connection start with a TLS handshake.
	ImplicitTLS bool
	// Logger receives lifecycle events. Nil discards.
	Logger *slog.Logger
	// Name prefixes log messages ("smtp").
	Name string
	// Busy is sent to a connection over a limit, Closing to one that
	// arrives during shutdown; both with their line ending.
	Busy, Closing []byte
	// ErrClosed is returned by Serve after Shutdown or Close.
	ErrClosed error
	// Handle runs the dialogue of one connection. The connection is
	// closed when it returns.
	Handle func(ctx context.Context, c *Conn)
	// Check, when set, is called by ListenAndServe, Serve and ServeConn
	// first, to panic on a protocol Server missing a required field.
	// ImplicitTLS without TLSConfig is checked here for every protocol.
	Check func()

	mu        sync.Mutex
	listeners map[*net.Listener]struct{}
	conns     map[*Conn]struct{}
	counted   int                // conns that count toward MaxConnections
	perIP     map[netip.Addr]int // counted conns per client address
	shutting  atomic.Bool
	shutOnce  sync.Once
	shutCh    chan struct{} // closed when shutdown starts
	drained   chan struct{} // closed when the last conn ends after shutdown
}

func (s *Server) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

func orDur(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func (s *Server) maxConns() int {
	if s.Settings.MaxConnections == 0 {
		return serving.DefaultMaxConnections
	}
	return s.Settings.MaxConnections
}

// check panics on a Server that cannot serve: programmer errors at
// construction, the only panics of the servers.
func (s *Server) check() {
	if s.Check != nil {
		s.Check()
	}
	if s.ImplicitTLS && s.TLSConfig == nil {
		panic(s.Name + ": Server.ImplicitTLS needs TLSConfig")
	}
}

// ListenAndServe listens on the TCP address addr and calls Serve.
func (s *Server) ListenAndServe(addr string) error {
	s.check()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(l)
}

// Serve accepts connections on l and serves each on its own goroutine
// until Shutdown or Close (ErrClosed) or a permanent Accept error. l is
// closed when Serve returns.
func (s *Server) Serve(l net.Listener) error {
	s.check()
	if !s.addListener(&l) {
		l.Close()
		return s.ErrClosed
	}
	defer s.removeListener(&l)
	defer l.Close()
	base := context.Background()
	if s.Settings.BaseContext != nil {
		base = s.Settings.BaseContext(l)
	}
	var backoff time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			if s.shutting.Load() {
				return s.ErrClosed
			}
			if !isTemporary(err) {
				return err
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.logger().Warn(s.Name+": accept error; retrying", "err", err, "delay", backoff)
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-s.shutDone():
				t.Stop()
			}
			continue
		}
		backoff = 0
		c, refuse := s.track(nc, true)
		if c == nil {
			go s.refuse(nc, refuse)
			continue
		}
		go s.serve(base, c)
	}
}

func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	var to interface{ Timeout() bool }
	return errors.As(err, &t) && t.Temporary() || errors.As(err, &to) && to.Timeout()
}

// ServeConn serves nc on the calling goroutine until its dialogue ends,
// then closes it. It does not count toward the limits; Shutdown and Close
// see it.
func (s *Server) ServeConn(ctx context.Context, nc net.Conn) {
	s.check()
	c, refuse := s.track(nc, false)
	if c == nil {
		s.refuse(nc, refuse)
		return
	}
	s.serve(ctx, c)
}

// refuse sends line, unless the connection is TLS, and closes nc.
func (s *Server) refuse(nc net.Conn, line []byte) {
	if _, isTLS := nc.(*tls.Conn); !isTLS && !s.ImplicitTLS && len(line) > 0 {
		nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
		nc.Write(line)
	}
	nc.Close()
}

func (s *Server) serve(ctx context.Context, c *Conn) {
	defer s.untrack(c)
	defer func() { c.nc.Close() }() // the transport in the end, TLS or not
	log := s.logger()
	if s.Settings.ProxyProtocol {
		if err := c.readProxy(); err != nil {
			log.Info(s.Name+": refused PROXY header", "remote", c.raw.RemoteAddr().String(), "err", err)
			return
		}
	}
	if !s.countIP(c) {
		s.refuse(c.nc, s.Busy)
		return
	}
	if tc, ok := c.raw.(*tls.Conn); ok {
		if err := c.handshake(ctx, tc); err != nil {
			log.Info(s.Name+": TLS handshake failed", "remote", c.RemoteAddrPort().String(), "err", err)
			return
		}
	} else if s.ImplicitTLS {
		if err := c.StartTLS(ctx, s.TLSConfig); err != nil {
			log.Info(s.Name+": TLS handshake failed", "remote", c.RemoteAddrPort().String(), "err", err)
			return
		}
	}
	if s.Settings.ConnContext != nil {
		ctx = s.Settings.ConnContext(ctx, c.raw)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.Handle(ctx, c)
}

func (s *Server) addListener(l *net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutting.Load() {
		return false
	}
	if s.listeners == nil {
		s.listeners = map[*net.Listener]struct{}{}
	}
	s.listeners[l] = struct{}{}
	return true
}

func (s *Server) removeListener(l *net.Listener) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.listeners, l)
}

// track adds a connection; it returns nil and the line to refuse it with
// when the server is shutting down or, for a counted one, full.
func (s *Server) track(nc net.Conn, counted bool) (*Conn, []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutting.Load() {
		return nil, s.Closing
	}
	if counted {
		if lim := s.maxConns(); lim > 0 && s.counted >= lim {
			return nil, s.Busy
		}
		s.counted++
	}
	c := newConn(s, nc, counted)
	if s.conns == nil {
		s.conns = map[*Conn]struct{}{}
	}
	s.conns[c] = struct{}{}
	return c, nil
}

// countIP counts a counted connection toward its client address; false
// means the address is over MaxConnectionsPerIP.
func (s *Server) countIP(c *Conn) bool {
	lim := s.Settings.MaxConnectionsPerIP
	if !c.counted || lim <= 0 {
		return true
	}
	ip := c.RemoteAddrPort().Addr().Unmap()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.perIP[ip] >= lim {
		return false
	}
	if s.perIP == nil {
		s.perIP = map[netip.Addr]int{}
	}
	s.perIP[ip]++
	c.ip = ip
	return true
}

func (s *Server) untrack(c *Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	if c.counted {
		s.counted--
	}
	if c.ip.IsValid() {
		if s.perIP[c.ip]--; s.perIP[c.ip] <= 0 {
			delete(s.perIP, c.ip)
		}
	}
	if len(s.conns) == 0 && s.drained != nil {
		close(s.drained)
		s.drained = nil
	}
}

// shutDone returns a channel closed when shutdown starts.
func (s *Server) shutDone() chan struct{} {
	s.shutOnce.Do(func() { s.shutCh = make(chan struct{}) })
	return s.shutCh
}

// startShutdown marks the server as shutting down and closes the listeners;
// the caller holds s.mu.
func (s *Server) startShutdown() {
	ch := s.shutDone()
	if !s.shutting.Swap(true) {
		close(ch)
	}
	for l := range s.listeners {
		(*l).Close()
	}
}

// Close closes all listeners and connections at once.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.startShutdown()
	for c := range s.conns {
		c.raw.Close()
	}
	return nil
}

// Shutdown closes the listeners, wakes the connections waiting for a
// command so that they say goodbye, and waits for every connection to end,
// or for ctx, after which it closes the rest and returns ctx.Err().
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.startShutdown()
	if len(s.conns) == 0 {
		s.mu.Unlock()
		return nil
	}
	if s.drained == nil {
		s.drained = make(chan struct{})
	}
	drained := s.drained
	for c := range s.conns {
		c.wake()
	}
	s.mu.Unlock()
	select {
	case <-drained:
		return nil
	case <-ctx.Done():
		s.Close()
		return ctx.Err()
	}
}

// proxyBufSize is the read buffer for the PROXY header; the v2 address
// block beyond it is read separately.
const proxyBufSize = 256

// readProxy reads the PROXY header from a trusted peer within the timeout.
func (c *Conn) readProxy() error {
	st := c.srv.Settings
	if _, ok := c.raw.(*tls.Conn); ok {
		// The header comes before TLS: a tls.Listen listener would take
		// it for a ClientHello.
		return errors.New("PROXY protocol on a TLS listener; use ImplicitTLS on a plain one")
	}
	peer := addrPortOf(c.raw.RemoteAddr())
	if len(st.TrustedProxies) > 0 && !Allowed(st.TrustedProxies, peer.Addr()) {
		return errors.New("PROXY header from untrusted peer " + peer.String())
	}
	c.raw.SetReadDeadline(time.Now().Add(orDur(st.ProxyHeaderTimeout, serving.DefaultProxyHeaderTimeout)))
	br := bufio.NewReaderSize(c.raw, proxyBufSize)
	h, err := readProxyHeader(br)
	c.raw.SetReadDeadline(time.Time{})
	if err != nil {
		return err
	}
	if n := br.Buffered(); n > 0 {
		rest, _ := br.Peek(n)
		c.nc = &prefixConn{Conn: c.raw, pre: append([]byte(nil), rest...)}
	}
	if !h.local {
		c.proxy = peer
		c.remote, c.local = h.src, h.dst
	}
	return nil
}

// Allowed reports whether addr is inside one of the prefixes.
func Allowed(prefixes []netip.Prefix, addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, p := range prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
