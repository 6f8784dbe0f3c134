package imap

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldmail/herald/sasl"
)

// Defaults for the Server limits. Each applies when the matching field is
// zero.
const (
	// DefaultMaxLineLength bounds the text of a command between literals.
	// RFC 9051 section 4 recommends accepting lines of at least 8192
	// octets; 64 KiB leaves room for long sequence sets.
	DefaultMaxLineLength = 64 << 10
	// DefaultMaxLiteralSize bounds an APPEND message: 64 MiB.
	DefaultMaxLiteralSize = 64 << 20
	// DefaultMaxStringLiteral bounds every other literal (mailbox names,
	// passwords, search strings), which the server holds in memory.
	DefaultMaxStringLiteral = 64 << 10
	// DefaultMaxDepth bounds the nesting of parenthesised lists and search
	// keys, and of body section part numbers.
	DefaultMaxDepth = 32
	// DefaultMaxItems bounds the items of one command: list elements,
	// flags, fetch items, search keys.
	DefaultMaxItems = 1000
	// DefaultMaxSetRanges bounds the ranges of one sequence set.
	DefaultMaxSetRanges = 10000
	// DefaultMaxConnections bounds concurrent connections; the next one
	// is answered BYE and closed.
	DefaultMaxConnections = 1000
	// DefaultMaxAuthFailures is how many failed LOGIN or AUTHENTICATE
	// commands a connection may make before it is closed.
	DefaultMaxAuthFailures = 3
	// DefaultMaxErrors is how many BAD replies a connection may get
	// before it is closed.
	DefaultMaxErrors = 20
	// DefaultAutologout is the inactivity timer of RFC 9051 section 5.4:
	// at least 30 minutes, IDLE included.
	DefaultAutologout = 30 * time.Minute
	// DefaultPreAuthTimeout bounds the wait for a command before
	// authentication (RFC 9051 section 5.4 allows a shorter timer).
	DefaultPreAuthTimeout = time.Minute
	// DefaultWriteTimeout bounds each write to the client.
	DefaultWriteTimeout = time.Minute
	// DefaultTLSHandshakeTimeout bounds the TLS handshake.
	DefaultTLSHandshakeTimeout = 30 * time.Second
)

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = errors.New("imap: server closed")

// Server is an IMAP4rev2 server with IMAP4rev1 compatibility. Only Backend
// is required (and Auth, for anyone to log in); every other field's zero
// value means the documented default. A Server must not be changed after
// its first use; it is safe for concurrent use.
type Server struct {
	// Backend opens the store of each user that logs in. Required.
	Backend Backend
	// Auth checks credentials for LOGIN (through its Password func) and
	// AUTHENTICATE. Nil refuses every login. Its AllowInsecure field
	// also allows LOGIN without TLS; otherwise the server announces
	// LOGINDISABLED before TLS.
	Auth *sasl.Authenticator

	// Greeting is the text of the greeting. Default "Herald IMAP ready".
	Greeting string
	// TLSConfig enables STARTTLS, and implicit TLS with ImplicitTLS.
	TLSConfig *tls.Config
	// ImplicitTLS makes every connection start with a TLS handshake
	// (RFC 8314, port 993). It requires TLSConfig. A connection that is
	// already a *tls.Conn, as from a tls.Listen listener given to Serve,
	// is implicit TLS without it: the server runs its handshake and offers
	// no STARTTLS.
	ImplicitTLS bool
	// TLSHandshakeTimeout bounds the TLS handshake, implicit or after
	// STARTTLS. Default DefaultTLSHandshakeTimeout.
	TLSHandshakeTimeout time.Duration

	// MaxLineLength bounds command text between literals. Default
	// DefaultMaxLineLength.
	MaxLineLength int
	// MaxLiteralSize bounds an APPEND message. Default
	// DefaultMaxLiteralSize.
	MaxLiteralSize int64
	// MaxStringLiteral bounds other literals. Default
	// DefaultMaxStringLiteral.
	MaxStringLiteral int
	// MaxDepth bounds nesting. Default DefaultMaxDepth.
	MaxDepth int
	// MaxItems bounds the items of one command. Default DefaultMaxItems.
	MaxItems int
	// MaxSetRanges bounds the ranges of a sequence set. Default
	// DefaultMaxSetRanges.
	MaxSetRanges int
	// MaxConnections bounds concurrent connections. Default
	// DefaultMaxConnections; negative means no limit.
	MaxConnections int
	// MaxAuthFailures bounds failed logins per connection. Default
	// DefaultMaxAuthFailures.
	MaxAuthFailures int
	// MaxErrors bounds BAD replies per connection. Default
	// DefaultMaxErrors; negative means no limit.
	MaxErrors int

	// Autologout is the inactivity timeout once authenticated, IDLE
	// included. Default DefaultAutologout.
	Autologout time.Duration
	// PreAuthTimeout is the inactivity timeout before authentication.
	// Default DefaultPreAuthTimeout.
	PreAuthTimeout time.Duration
	// WriteTimeout bounds each write. Default DefaultWriteTimeout.
	WriteTimeout time.Duration

	// Logger receives connection errors, recovered panics and backend
	// errors. Nil discards.
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
}

func orInt(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

func orDur(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}

func (s *Server) limits() limits {
	lit := s.MaxLiteralSize
	if lit <= 0 {
		lit = DefaultMaxLiteralSize
	}
	return limits{
		line:      orInt(s.MaxLineLength, DefaultMaxLineLength),
		literal:   lit,
		strLit:    orInt(s.MaxStringLiteral, DefaultMaxStringLiteral),
		depth:     orInt(s.MaxDepth, DefaultMaxDepth),
		items:     orInt(s.MaxItems, DefaultMaxItems),
		setRanges: orInt(s.MaxSetRanges, DefaultMaxSetRanges),
	}
}

func (s *Server) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

func (s *Server) maxConns() int64 {
	if s.MaxConnections == 0 {
		return DefaultMaxConnections
	}
	return int64(s.MaxConnections)
}

func (s *Server) maxErrors() int {
	if s.MaxErrors == 0 {
		return DefaultMaxErrors
	}
	return s.MaxErrors
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
	s.check()
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
			if errors.As(err, &ne) && ne.Timeout() {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.logger().Warn("imap: accept error; retrying", "err", err, "delay", backoff)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		if lim := s.maxConns(); lim > 0 && s.nconns.Load() >= lim {
			go func() {
				nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
				nc.Write([]byte("* BYE [UNAVAILABLE] Too many connections, try again later\r\n"))
				nc.Close()
			}()
			continue
		}
		s.nconns.Add(1)
		go func() {
			defer s.nconns.Add(-1)
			s.serve(base, nc)
		}()
	}
}

func (s *Server) check() {
	if s.Backend == nil {
		panic("imap: Server.Backend is nil")
	}
	if s.ImplicitTLS && s.TLSConfig == nil {
		panic("imap: Server.ImplicitTLS needs TLSConfig")
	}
}

// ServeConn serves one connection on the calling goroutine until it ends,
// then closes it. It does not count toward MaxConnections. ctx is the base
// of the connection's context.
func (s *Server) ServeConn(ctx context.Context, nc net.Conn) {
	s.check()
	s.serve(ctx, nc)
}

func (s *Server) serve(ctx context.Context, nc net.Conn) {
	if s.ConnContext != nil {
		ctx = s.ConnContext(ctx, nc)
	}
	c := newConn(s, nc)
	if !s.trackConn(c, true) {
		nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
		nc.Write([]byte("* BYE Server shutting down\r\n"))
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

// Close closes all listeners and connections at once, without BYE.
func (s *Server) Close() error {
	s.inShut.Store(true)
	s.mu.Lock()
	defer s.mu.Unlock()
	for l := range s.listeners {
		(*l).Close()
	}
	for c := range s.conns {
		c.raw.Close()
	}
	return nil
}

// shutdownPollInterval is how often Shutdown checks for idle connections.
const shutdownPollInterval = 20 * time.Millisecond

// Shutdown stops the server gracefully: it closes the listeners, sends
// "* BYE" to connections waiting for a command (or in IDLE) and closes them,
// and lets connections in the middle of a command finish it first. It
// returns when every connection is closed, or with ctx.Err() when ctx ends
// first, after closing the remaining connections.
func (s *Server) Shutdown(ctx context.Context) error {
	s.inShut.Store(true)
	s.mu.Lock()
	for l := range s.listeners {
		(*l).Close()
	}
	s.mu.Unlock()
	t := time.NewTicker(shutdownPollInterval)
	defer t.Stop()
	for {
		s.mu.Lock()
		n := len(s.conns)
		for c := range s.conns {
			c.wake()
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
