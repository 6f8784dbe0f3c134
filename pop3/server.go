package pop3

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/heraldmail/herald/internal/lifecycle"
	"github.com/heraldmail/herald/sasl"
	"github.com/heraldmail/herald/serving"
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
	// DefaultMaxConnections is serving.DefaultMaxConnections; the
	// connection over the limit is answered "-ERR [SYS/TEMP]" and closed.
	DefaultMaxConnections = serving.DefaultMaxConnections
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
	// DefaultTLSHandshakeTimeout is serving.DefaultTLSHandshakeTimeout.
	DefaultTLSHandshakeTimeout = serving.DefaultTLSHandshakeTimeout
)

// Server is a POP3 server. Only Backend is required; every other field's
// zero value means the documented default. A Server must not be copied or
// changed after its first use; it is safe for concurrent use.
type Server struct {
	// Backend opens maildrops. Required. If it is an APOPBackend, APOP
	// is offered.
	Backend Backend

	// Hostname goes into the APOP timestamp. Default DefaultHostname.
	Hostname string

	// TLSConfig enables STLS (RFC 2595), and implicit TLS (port 995)
	// with ImplicitTLS. Nil means no TLS.
	TLSConfig *tls.Config
	// ImplicitTLS makes every connection start with a TLS handshake. It
	// requires TLSConfig. A connection that arrives as a *tls.Conn
	// (Serve(tls.Listen(...))) is implicit TLS without it.
	ImplicitTLS bool

	// Auth checks credentials: USER/PASS through its Password func, and
	// the AUTH mechanisms (RFC 5034) it offers, the same
	// sasl.Authenticator as imap.Server.Auth and smtp.Server.Auth. Its
	// AllowInsecure field is the one switch for logins without TLS:
	// unset, USER/PASS and the mechanisms that send a reusable secret
	// are refused with "-ERR [SYS/PERM]" before TLS and not advertised
	// in CAPA. Refused credentials get "-ERR [AUTH]". Nil refuses every
	// login but APOP with "-ERR [AUTH]".
	Auth *sasl.Authenticator

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

	// Lifecycle holds the connection limits (MaxConnections,
	// MaxConnectionsPerIP), the PROXY protocol (ProxyProtocol,
	// TrustedProxies), the TLS handshake timeout and the context hooks,
	// the same fields as on smtp.Server and imap.Server; see package
	// serving. Over a limit a connection is answered "-ERR [SYS/TEMP]".
	// The PROXY addresses become ConnInfo.RemoteAddr and LocalAddr.
	serving.Lifecycle

	lifeOnce  sync.Once
	life      lifecycle.Server
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

// check is the lifecycle's Check: ImplicitTLS without TLSConfig is
// refused there for every protocol.
func (s *Server) check() {
	if s.Backend == nil {
		panic("pop3: Server.Backend is nil")
	}
}

// lc returns the lifecycle, set up on first use.
func (s *Server) lc() *lifecycle.Server {
	s.lifeOnce.Do(func() {
		s.life = lifecycle.Server{
			Settings: &s.Lifecycle, TLSConfig: s.TLSConfig, ImplicitTLS: s.ImplicitTLS, Logger: s.Logger,
			Name: "pop3", ErrClosed: ErrServerClosed, Handle: func(ctx context.Context, lc *lifecycle.Conn) { newConn(s, lc).serve(ctx) }, Check: s.check,
			Busy:    []byte(Response{Code: CodeSysTemp, Text: "Too many connections, try again later"}.String() + "\r\n"),
			Closing: []byte(Response{Code: CodeSysTemp, Text: "Server shutting down"}.String() + "\r\n"),
		}
	})
	return &s.life
}

// ListenAndServe listens on the TCP address addr and calls Serve.
func (s *Server) ListenAndServe(addr string) error { return s.lc().ListenAndServe(addr) }

// Serve accepts connections on l and serves each on its own goroutine. It
// returns ErrServerClosed after Shutdown or Close, or the error that made
// Accept fail for good. l is closed when Serve returns. It panics when
// Backend is nil, or ImplicitTLS is set without TLSConfig.
func (s *Server) Serve(l net.Listener) error { return s.lc().Serve(l) }

// ServeConn serves one connection on the calling goroutine until it ends,
// then closes it. It does not count toward the connection limits. ctx is
// the base of the connection's context.
func (s *Server) ServeConn(ctx context.Context, nc net.Conn) { s.lc().ServeConn(ctx, nc) }

// Close closes all listeners and connections at once, without responses.
// Sessions end without the UPDATE state, so no deletion is committed.
func (s *Server) Close() error { return s.lc().Close() }

// Shutdown stops the server gracefully: it closes the listeners, answers
// "-ERR [SYS/TEMP]" to connections waiting for a command and closes them
// (without committing deletions, as the client did not QUIT), and lets
// connections in the middle of a command finish it first. It returns when
// every connection is closed, or with ctx.Err() when ctx ends first, after
// closing the remaining connections.
func (s *Server) Shutdown(ctx context.Context) error { return s.lc().Shutdown(ctx) }
