package pop3

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
	// DefaultHostname is used in the APOP timestamp when Server.Hostname
	// is empty.
	DefaultHostname = "localhost"
	// DefaultMaxLineLength bounds a command line without CRLF: the 255
	// octets of RFC 2449 section 4 less the CRLF.
	DefaultMaxLineLength = MaxCommandLength - 2
	// MaxAuthLineLength bounds an AUTH command line and each SASL response
	// line, which carry base64 data longer than a command: 12288 octets,
	// as RFC 4954 section 4 sets for SMTP.
	MaxAuthLineLength = 12288
	// DefaultMaxErrors is how many negative responses to bad commands a
	// connection may get before the server closes it.
	DefaultMaxErrors = 10
	// DefaultMaxConnections bounds concurrent connections; the next one
	// is answered "-ERR [SYS/TEMP]" and closed.
	DefaultMaxConnections = 1000
	// DefaultMaxLoginFailures is how many failed logins a connection may
	// make before the server closes it.
	DefaultMaxLoginFailures = 3
	// DefaultLoginFailureDelay is how long the server waits before
	// answering a failed login, to slow down password guessing.
	DefaultLoginFailureDelay = 2 * time.Second
	// DefaultTimeout is the inactivity autologout timer of RFC 1939
	// section 3: 10 minutes.
	DefaultTimeout = 10 * time.Minute
	// DefaultWriteTimeout bounds each write to the client.
	DefaultWriteTimeout = time.Minute
	// DefaultTLSHandshakeTimeout bounds the TLS handshake, implicit or
	// after STLS.
	DefaultTLSHandshakeTimeout = 30 * time.Second
)

// Server is a POP3 server. Only Backend is required; every other field's
// zero value means the documented default. A Server must not be copied or
// changed after its first use; it is safe for concurrent use.
type Server struct {
	// Backend checks credentials and opens maildrops. Required. If it is
	// an APOPBackend, APOP is offered.
	Backend Backend

	// Hostname goes into the APOP timestamp. Default DefaultHostname.
	Hostname string

	// TLSConfig enables STLS (RFC 2595), and implicit TLS (port 995)
	// with ImplicitTLS. Nil means no TLS.
	TLSConfig *tls.Config
	// ImplicitTLS makes every connection start with a TLS handshake
	// (RFC 8314, port 995). It requires TLSConfig. A connection that is
	// already a *tls.Conn, as from a tls.Listen listener given to Serve,
	// is implicit TLS without it: the server runs its handshake and offers
	// no STLS.
	ImplicitTLS bool
	// TLSHandshakeTimeout bounds the TLS handshake, implicit or after
	// STLS. Default DefaultTLSHandshakeTimeout.
	TLSHandshakeTimeout time.Duration
	// AllowInsecureAuth accepts USER/PASS and the SASL mechanisms that
	// send a reusable secret on connections without TLS. Off by default:
	// they are refused with "-ERR [SYS/PERM]" before TLS and not
	// advertised in CAPA.
	AllowInsecureAuth bool

	// SASL decides the AUTH mechanisms (RFC 5034). Nil means PLAIN and
	// LOGIN checked by Backend.CheckPassword. Its AllowInsecure field is
	// overridden by AllowInsecureAuth.
	SASL *sasl.Authenticator

	// LoginDelay is advertised as LOGIN-DELAY in CAPA (RFC 2449 section
	// 6.8) when positive; the Backend enforces it by returning
	// &Error{Code: CodeLoginDelay}.
	LoginDelay time.Duration
	// Expire is advertised as "EXPIRE <Expire>" in CAPA (RFC 2449
	// section 6.7) when not empty, such as "NEVER" or "30". The Backend
	// does the expiring.
	Expire string
	// Implementation is advertised as IMPLEMENTATION in CAPA when not
	// empty. Off by default, so as not to tell attackers the software.
	Implementation string

	// MaxLineLength bounds command lines (without CRLF). Default
	// DefaultMaxLineLength.
	MaxLineLength int
	// MaxErrors is the number of negative responses after which the
	// connection is closed. Default DefaultMaxErrors; negative means no
	// limit.
	MaxErrors int
	// MaxConnections bounds concurrent connections. Default
	// DefaultMaxConnections; negative means no limit.
	MaxConnections int
	// MaxLoginFailures is the number of failed logins after which the
	// connection is closed. Default DefaultMaxLoginFailures; negative
	// means no limit.
	MaxLoginFailures int
	// LoginFailureDelay is the wait before answering a failed login.
	// Default DefaultLoginFailureDelay; negative means none.
	LoginFailureDelay time.Duration

	// Timeout is the inactivity autologout timer. Default DefaultTimeout.
	Timeout time.Duration
	// WriteTimeout bounds each write. Default DefaultWriteTimeout.
	WriteTimeout time.Duration

	// Logger receives connection errors, recovered panics and internal
	// errors that Backend and Mailbox methods returned. Nil discards.
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
	writePool sync.Pool // *bufio.Writer for message data
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

func limit(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func (s *Server) loginDelay() time.Duration {
	switch {
	case s.LoginFailureDelay < 0:
		return 0
	case s.LoginFailureDelay == 0:
		return DefaultLoginFailureDelay
	}
	return s.LoginFailureDelay
}

func (s *Server) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

func (s *Server) check() {
	if s.Backend == nil {
		panic("pop3: Server.Backend is nil")
	}
	if s.ImplicitTLS && s.TLSConfig == nil {
		panic("pop3: Server.ImplicitTLS needs TLSConfig")
	}
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
	if !s.track(&l, nil, true) {
		l.Close()
		return ErrServerClosed
	}
	defer s.track(&l, nil, false)
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
				s.logger().Warn("pop3: accept error; retrying", "err", err, "delay", backoff)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		if lim := limit(s.MaxConnections, DefaultMaxConnections); lim > 0 && s.nconns.Load() >= int64(lim) {
			go s.refuse(nc, Response{Code: CodeSysTemp, Text: "Too many connections, try again later"})
			continue
		}
		s.nconns.Add(1)
		go func() {
			defer s.nconns.Add(-1)
			s.serve(base, nc)
		}()
	}
}

// refuse answers a connection that will not be served and closes it.
func (s *Server) refuse(nc net.Conn, r Response) {
	nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	nc.Write([]byte(r.String() + "\r\n"))
	nc.Close()
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
	if !s.track(nil, c, true) {
		s.refuse(nc, Response{Code: CodeSysTemp, Text: "Server shutting down"})
		return
	}
	defer s.track(nil, c, false)
	c.serve(ctx)
}

// track adds or removes a listener or a connection; adding fails once the
// server is shutting down.
func (s *Server) track(l *net.Listener, c *conn, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add && s.inShut.Load() {
		return false
	}
	if s.listeners == nil {
		s.listeners = map[*net.Listener]struct{}{}
		s.conns = map[*conn]struct{}{}
	}
	switch {
	case l != nil && add:
		s.listeners[l] = struct{}{}
	case l != nil:
		delete(s.listeners, l)
	case add:
		s.conns[c] = struct{}{}
	default:
		delete(s.conns, c)
	}
	return true
}

// Close closes all listeners and connections at once, without responses.
// Sessions end without the UPDATE state, so no deletion is committed.
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

// Shutdown stops the server gracefully: it closes the listeners, answers
// "-ERR [SYS/TEMP]" to connections waiting for a command and closes them
// (without committing deletions, as the client did not QUIT), and lets
// connections in the middle of a command finish it first. It returns when
// every connection is closed, or with ctx.Err() when ctx ends first, after
// closing the remaining connections.
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
