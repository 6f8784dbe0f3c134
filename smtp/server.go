package smtp

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for the Server limits. Each applies when the matching field is
// zero.
const (
	// DefaultHostname is announced when Server.Hostname is empty.
	DefaultHostname = "localhost"
	// DefaultMaxLineLength bounds a command line without CRLF. RFC 5321
	// section 4.5.3.1.4 sets 512 octets and lets extensions raise it
	// (SIZE, DSN and AUTH parameters, SMTPUTF8 addresses); 2048 leaves
	// room for all of them.
	DefaultMaxLineLength = 2048
	// MaxAuthLineLength bounds an AUTH command line or SASL response
	// line: 12288 octets per RFC 4954 section 4.
	MaxAuthLineLength = 12288
	// DefaultMaxMessageBytes bounds a message (after dot-unstuffing, or
	// the sum of BDAT chunks): 32 MiB. It is announced with SIZE.
	DefaultMaxMessageBytes = 32 << 20
	// DefaultMaxRecipients bounds the recipients of one transaction: the
	// 100 that RFC 5321 section 4.5.3.1.8 requires a server to accept.
	// It is announced with LIMITS RCPTMAX (RFC 9422).
	DefaultMaxRecipients = 100
	// DefaultMaxErrors is how many error replies a connection may get
	// before the server closes it with 421.
	DefaultMaxErrors = 20
	// DefaultMaxConnections bounds concurrent connections; the next
	// one is answered 421 4.4.5 and closed.
	DefaultMaxConnections = 1000
	// DefaultCommandTimeout is how long the server waits for a command:
	// the 5 minutes of RFC 5321 section 4.5.3.2.7.
	DefaultCommandTimeout = 5 * time.Minute
	// DefaultDataTimeout is how long the server waits for each read of
	// message data. RFC 5321 gives servers one timeout, the 5 minutes of
	// section 4.5.3.2.7; the 3 minutes of section 4.5.3.2.5 are the
	// client's wait for its own sends.
	DefaultDataTimeout = 5 * time.Minute
	// DefaultWriteTimeout bounds writing one batch of replies.
	DefaultWriteTimeout = time.Minute
	// DefaultTLSHandshakeTimeout bounds the TLS handshake, implicit or
	// after STARTTLS.
	DefaultTLSHandshakeTimeout = 30 * time.Second
)

// Extension names one optional part of the protocol that can be turned off
// with Server.Disable.
type Extension uint32

// Extensions that can be disabled. All are on by default; STARTTLS needs
// Server.TLSConfig, AUTH needs a SessionAuth, REQUIRETLS is only offered
// over TLS and XCLIENT only to Server.XClientTrusted.
const (
	ExtPipelining          Extension = 1 << iota // RFC 2920
	Ext8BitMIME                                  // RFC 6152
	ExtSMTPUTF8                                  // RFC 6531
	ExtEnhancedStatusCodes                       // RFC 2034
	ExtDSN                                       // RFC 3461
	ExtChunking                                  // RFC 3030 CHUNKING (BDAT)
	ExtBinaryMIME                                // RFC 3030 BINARYMIME
	ExtRequireTLS                                // RFC 8689
	ExtLimits                                    // RFC 9422
	ExtStartTLS                                  // RFC 3207
	ExtAuth                                      // RFC 4954
)

// Server is an SMTP or LMTP server. Only Backend is required; every other
// field's zero value means the documented default. A Server must not be
// copied or changed after its first use; it is safe for concurrent use.
type Server struct {
	// Backend creates a session per connection. Required.
	Backend Backend

	// Hostname is the name announced in the greeting and EHLO reply.
	// Default DefaultHostname.
	Hostname string

	// TLSConfig enables STARTTLS (RFC 3207), and implicit TLS with
	// ImplicitTLS. Nil means no TLS.
	TLSConfig *tls.Config
	// ImplicitTLS makes every connection start with a TLS handshake
	// (RFC 8314, port 465). It requires TLSConfig. A connection that is
	// already a *tls.Conn, as from a tls.Listen listener given to Serve,
	// is implicit TLS without it: the server runs its handshake and offers
	// no STARTTLS.
	ImplicitTLS bool
	// TLSHandshakeTimeout bounds the TLS handshake, implicit or after
	// STARTTLS. Default DefaultTLSHandshakeTimeout.
	TLSHandshakeTimeout time.Duration
	// AllowInsecureAuth offers and accepts AUTH on connections without
	// TLS. Off by default: AUTH is refused with 538 5.7.11 before TLS.
	AllowInsecureAuth bool

	// LMTP makes the server speak LMTP (RFC 2033): LHLO instead of
	// HELO/EHLO and one reply per recipient after the data.
	LMTP bool

	// Disable turns off the listed extensions.
	Disable Extension

	// MaxLineLength bounds command lines (without CRLF). Default
	// DefaultMaxLineLength.
	MaxLineLength int
	// MaxMessageBytes bounds a message. Default DefaultMaxMessageBytes;
	// negative means no limit.
	MaxMessageBytes int64
	// MaxRecipients bounds recipients per transaction. Default
	// DefaultMaxRecipients.
	MaxRecipients int
	// MaxErrors is the number of error replies after which the
	// connection is closed. Default DefaultMaxErrors; negative means no
	// limit.
	MaxErrors int
	// MaxConnections bounds concurrent connections. Default
	// DefaultMaxConnections; negative means no limit.
	MaxConnections int

	// CommandTimeout bounds the wait for each command. Default
	// DefaultCommandTimeout.
	CommandTimeout time.Duration
	// DataTimeout bounds each read of message data. Default
	// DefaultDataTimeout.
	DataTimeout time.Duration
	// WriteTimeout bounds each write of replies. Default
	// DefaultWriteTimeout.
	WriteTimeout time.Duration

	// ProxyProtocol requires every connection to start with a PROXY
	// protocol header, version 1 or 2; the addresses it carries become
	// ConnInfo.RemoteAddr and LocalAddr. Connections from outside
	// TrustedProxies are refused. Off by default.
	ProxyProtocol bool
	// TrustedProxies lists the networks allowed to send PROXY headers.
	// Empty means any peer (only safe when the port is not reachable
	// except through the proxy).
	TrustedProxies []netip.Prefix
	// XClientTrusted lists the networks allowed to use XCLIENT (the
	// Postfix extension that lets a trusted front end pass on the real
	// client's address and HELO name). Empty disables XCLIENT.
	XClientTrusted []netip.Prefix

	// Logger receives connection errors, recovered panics and errors
	// that Session methods returned. Nil discards.
	Logger *slog.Logger

	// BaseContext returns the base context for connections accepted on
	// l. Nil means context.Background().
	BaseContext func(l net.Listener) context.Context
	// ConnContext derives the context of one connection. Nil keeps ctx.
	ConnContext func(ctx context.Context, c net.Conn) context.Context

	mu        sync.Mutex
	listeners map[*net.Listener]struct{}
	conns     map[*conn]struct{}
	inShut    atomic.Bool
	nconns    atomic.Int64
	bufPool   sync.Pool // *[]byte of wire.LargeSize
}

func (s *Server) hostname() string {
	if s.Hostname == "" {
		return DefaultHostname
	}
	return s.Hostname
}

func (s *Server) maxLine() int {
	if s.MaxLineLength <= 0 {
		return DefaultMaxLineLength
	}
	return s.MaxLineLength
}

func (s *Server) maxMessage() int64 {
	switch {
	case s.MaxMessageBytes == 0:
		return DefaultMaxMessageBytes
	case s.MaxMessageBytes < 0:
		return -1
	}
	return s.MaxMessageBytes
}

func (s *Server) maxRcpts() int {
	if s.MaxRecipients <= 0 {
		return DefaultMaxRecipients
	}
	return s.MaxRecipients
}

func (s *Server) maxErrors() int {
	if s.MaxErrors == 0 {
		return DefaultMaxErrors
	}
	return s.MaxErrors
}

func (s *Server) maxConns() int64 {
	if s.MaxConnections == 0 {
		return DefaultMaxConnections
	}
	return int64(s.MaxConnections)
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func (s *Server) enabled(e Extension) bool { return s.Disable&e == 0 }

func (s *Server) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// ListenAndServe listens on the TCP address addr and calls Serve.
func (s *Server) ListenAndServe(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(l)
}

// Serve accepts connections on l and serves each on its own goroutine. It
// returns ErrServerClosed after Shutdown or Close, or the error that made
// Accept fail for good. l is closed when Serve returns. It panics when
// Backend is nil, or ImplicitTLS is set without TLSConfig.
func (s *Server) Serve(l net.Listener) error {
	if s.Backend == nil {
		panic("smtp: Server.Backend is nil")
	}
	if s.ImplicitTLS && s.TLSConfig == nil {
		panic("smtp: Server.ImplicitTLS needs TLSConfig")
	}
	if !s.trackListener(&l, true) {
		l.Close()
		return ErrServerClosed
	}
	defer s.trackListener(&l, false)
	defer l.Close()

	base := context.Background()
	if s.BaseContext != nil {
		base = s.BaseContext(l)
	}
	var backoff time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			if s.inShut.Load() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.logger().Warn("smtp: accept error; retrying", "err", err, "delay", backoff)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		if lim := s.maxConns(); lim > 0 && s.nconns.Load() >= lim {
			go s.refuseBusy(nc)
			continue
		}
		s.nconns.Add(1)
		go func() {
			defer s.nconns.Add(-1)
			s.serve(base, nc)
		}()
	}
}

func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// refuseBusy answers a connection over MaxConnections and closes it.
func (s *Server) refuseBusy(nc net.Conn) {
	nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	nc.Write(AppendReply(nil, CodeServiceUnavailable, EnhancedCongestion, s.hostname()+" Too many connections, try again later"))
	nc.Close()
}

// ServeConn serves one connection on the calling goroutine until it ends,
// then closes it. It does not count toward MaxConnections. ctx is the base
// of the connection's context.
func (s *Server) ServeConn(ctx context.Context, nc net.Conn) {
	if s.Backend == nil {
		panic("smtp: Server.Backend is nil")
	}
	s.serve(ctx, nc)
}

func (s *Server) serve(ctx context.Context, nc net.Conn) {
	if s.ConnContext != nil {
		ctx = s.ConnContext(ctx, nc)
	}
	c := newConn(s, nc)
	if !s.trackConn(c, true) {
		c.replyNow(CodeServiceUnavailable, EnhancedNotAccepting, s.hostname()+" Service shutting down")
		nc.Close()
		return
	}
	defer s.trackConn(c, false)
	c.serve(ctx)
}

func (s *Server) trackListener(l *net.Listener, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		if s.inShut.Load() {
			return false
		}
		if s.listeners == nil {
			s.listeners = map[*net.Listener]struct{}{}
		}
		s.listeners[l] = struct{}{}
		return true
	}
	delete(s.listeners, l)
	return true
}

func (s *Server) trackConn(c *conn, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		if s.inShut.Load() {
			return false
		}
		if s.conns == nil {
			s.conns = map[*conn]struct{}{}
		}
		s.conns[c] = struct{}{}
		return true
	}
	delete(s.conns, c)
	return true
}

func (s *Server) closeListeners() {
	for l := range s.listeners {
		(*l).Close()
	}
}

// Close closes all listeners and connections at once, without replies.
func (s *Server) Close() error {
	s.inShut.Store(true)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closeListeners()
	for c := range s.conns {
		c.raw.Close()
	}
	return nil
}

// shutdownPollInterval is how often Shutdown checks for idle connections.
const shutdownPollInterval = 20 * time.Millisecond

// Shutdown stops the server gracefully: it closes the listeners, answers
// 421 4.3.2 to connections waiting for a command and closes them, and lets
// connections in the middle of a command finish it first. It returns when
// every connection is closed, or with ctx.Err() when ctx ends first, after
// closing the remaining connections.
func (s *Server) Shutdown(ctx context.Context) error {
	s.inShut.Store(true)
	s.mu.Lock()
	s.closeListeners()
	s.mu.Unlock()
	t := time.NewTicker(shutdownPollInterval)
	defer t.Stop()
	for {
		s.mu.Lock()
		n := len(s.conns)
		for c := range s.conns {
			if c.idle.Load() {
				// Wake the reader; it sees inShut and says goodbye.
				c.raw.SetReadDeadline(time.Unix(1, 0))
			}
		}
		s.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			s.Close()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// allowed reports whether addr is inside one of the prefixes.
func allowed(prefixes []netip.Prefix, addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, p := range prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
