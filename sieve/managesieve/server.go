package managesieve

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

// Defaults for the Server fields. Each applies when the field is zero.
const (
	// DefaultImplementation is the IMPLEMENTATION capability.
	DefaultImplementation = "Herald ManageSieve"
	// DefaultMaxLineLength bounds one line of a command without CRLF,
	// the literals it announces aside.
	DefaultMaxLineLength = 8192
	// DefaultMaxStringLength bounds a literal that is not a script: a
	// script name, a SASL response, a NOOP tag; 12288 octets, like a
	// SASL line of RFC 4954 section 4.
	DefaultMaxStringLength = 12288
	// DefaultMaxScriptSize bounds a script, and is the size HAVESPACE
	// and PUTSCRIPT answer NO (QUOTA/MAXSIZE) beyond: 1 MiB.
	DefaultMaxScriptSize = 1 << 20
	// DefaultMaxDiscard is the largest literal over its limit the server
	// reads and drops to answer NO; beyond it, it answers BYE and closes
	// the connection: 16 MiB.
	DefaultMaxDiscard = 16 << 20
	// DefaultMaxNameLength bounds a script name in octets, so that
	// "NAME.sieve" and a temporary name fit in a file name of 255.
	DefaultMaxNameLength = 200
	// DefaultMaxErrors is how many malformed or unknown commands a
	// connection may send before the server closes it with BYE.
	DefaultMaxErrors = 10
	// DefaultMaxLoginFailures is how many failed logins a connection may
	// make before the server closes it.
	DefaultMaxLoginFailures = 3
	// DefaultLoginFailureDelay is how long the server waits before
	// answering a failed login, to slow down password guessing.
	DefaultLoginFailureDelay = 2 * time.Second
	// DefaultTimeout is how long the server waits for the client before
	// it says BYE.
	DefaultTimeout = 10 * time.Minute
	// DefaultWriteTimeout bounds each write to the client.
	DefaultWriteTimeout = time.Minute
	// DefaultMaxConnections is serving.DefaultMaxConnections; the
	// connection over the limit is answered BYE (TRYLATER) and closed.
	DefaultMaxConnections = serving.DefaultMaxConnections
	// DefaultTLSHandshakeTimeout is serving.DefaultTLSHandshakeTimeout.
	DefaultTLSHandshakeTimeout = serving.DefaultTLSHandshakeTimeout
)

// Server is a ManageSieve server (RFC 5804). Only Backend is required;
// every other field's zero value means the documented default. A Server
// must not be copied or changed after its first use; it is safe for
// concurrent use.
type Server struct {
	// Backend opens the script store of a user after login. Required.
	Backend Backend

	// Check validates a script for PUTSCRIPT and CHECKSCRIPT. An error
	// refuses the script with NO and the error's text, which should say
	// where the problem is as the checker formats it ("line 3: unknown
	// command"); a *Warning accepts it with OK (WARNINGS) and its text.
	// The mail server passes the parser of package sieve. Nil accepts
	// every script.
	Check func(script []byte) error
	// Extensions are the Sieve extensions the checker supports, for the
	// SIEVE capability ("fileinto", "vacation", ...).
	Extensions []string
	// NotifyMethods are the URI schemes of the enotify extension
	// ("mailto"), for the NOTIFY capability; nil leaves it out.
	NotifyMethods []string
	// MaxRedirects is the MAXREDIRECTS capability: the redirect actions
	// a script may take. Zero leaves it out.
	MaxRedirects int
	// Implementation is the IMPLEMENTATION capability. Default
	// DefaultImplementation.
	Implementation string

	// TLSConfig enables STARTTLS (RFC 5804 section 2.2), and implicit
	// TLS with ImplicitTLS. Nil means no TLS.
	TLSConfig *tls.Config
	// ImplicitTLS makes every connection start with a TLS handshake. It
	// requires TLSConfig. A connection that arrives as a *tls.Conn
	// (Serve(tls.Listen(...))) is implicit TLS without it.
	ImplicitTLS bool

	// Auth checks credentials for AUTHENTICATE, the same
	// sasl.Authenticator as smtp.Server.Auth, imap.Server.Auth and
	// pop3.Server.Auth. Its AllowInsecure field is the one switch for
	// logins without TLS: unset, the mechanisms that send a reusable
	// secret are neither advertised in the SASL capability nor accepted
	// (NO (ENCRYPT-NEEDED)) before TLS. Nil refuses every login.
	Auth *sasl.Authenticator

	// MaxLineLength bounds one command line without CRLF. Default
	// DefaultMaxLineLength.
	MaxLineLength int
	// MaxStringLength bounds a literal that is not a script. Default
	// DefaultMaxStringLength.
	MaxStringLength int
	// MaxScriptSize bounds a script in octets. Default
	// DefaultMaxScriptSize.
	MaxScriptSize int
	// MaxDiscard is the largest literal over its limit that is dropped
	// with a NO rather than a BYE. Default DefaultMaxDiscard.
	MaxDiscard int64
	// MaxNameLength bounds a script name in octets. Default
	// DefaultMaxNameLength.
	MaxNameLength int
	// MaxErrors is the number of malformed or unknown commands after
	// which the connection is closed. Default DefaultMaxErrors; negative means no
	// limit.
	MaxErrors int
	// MaxLoginFailures is the number of failed logins after which the
	// connection is closed. Default DefaultMaxLoginFailures; negative
	// means no limit.
	MaxLoginFailures int
	// LoginFailureDelay is the wait before answering a failed login.
	// Default DefaultLoginFailureDelay; negative means none.
	LoginFailureDelay time.Duration

	// Timeout is the inactivity timer. Default DefaultTimeout.
	Timeout time.Duration
	// WriteTimeout bounds each write. Default DefaultWriteTimeout.
	WriteTimeout time.Duration

	// Logger receives connection events, recovered panics and internal
	// errors of the Backend and Store, never passwords or scripts. Nil
	// discards.
	Logger *slog.Logger

	// Lifecycle holds the connection limits (MaxConnections,
	// MaxConnectionsPerIP), the PROXY protocol (ProxyProtocol,
	// TrustedProxies), the TLS handshake timeout and the context hooks,
	// the same fields as on pop3.Server and imap.Server; see package
	// serving. Over a limit a connection is answered BYE (TRYLATER).
	serving.Lifecycle

	lifeOnce sync.Once
	life     lifecycle.Server
	bufPool  sync.Pool // *[]byte of wire.LargeSize
}

func orInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func orDur(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func (s *Server) limits() limits {
	scriptMax := int64(orInt(s.MaxScriptSize, DefaultMaxScriptSize))
	discard := s.MaxDiscard
	if discard <= 0 {
		discard = DefaultMaxDiscard
	}
	return limits{
		line:    orInt(s.MaxLineLength, DefaultMaxLineLength),
		str:     int64(orInt(s.MaxStringLength, DefaultMaxStringLength)),
		script:  scriptMax,
		discard: max(discard, scriptMax),
		args:    4,
	}
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

// check is the lifecycle's Check.
func (s *Server) check() {
	if s.Backend == nil {
		panic("managesieve: Server.Backend is nil")
	}
}

// lc returns the lifecycle, set up on first use.
func (s *Server) lc() *lifecycle.Server {
	s.lifeOnce.Do(func() {
		s.life = lifecycle.Server{
			Settings: &s.Lifecycle, TLSConfig: s.TLSConfig, ImplicitTLS: s.ImplicitTLS, Logger: s.Logger,
			Name: "managesieve", ErrClosed: ErrServerClosed, Handle: s.handle, Check: s.check,
			Busy:    Response{Status: "BYE", Code: CodeTryLater, Text: "Too many connections, try again later"}.appendTo(nil),
			Closing: Response{Status: "BYE", Code: CodeTryLater, Text: "Server shutting down"}.appendTo(nil),
		}
	})
	return &s.life
}

// ListenAndServe listens on the TCP address addr (":4190" is the port of
// RFC 5804 section 1.8) and calls Serve.
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
func (s *Server) Close() error { return s.lc().Close() }

// Shutdown stops the server gracefully: it closes the listeners, answers
// BYE (TRYLATER) to connections waiting for a command and closes them, and
// lets connections in the middle of a command finish it first. It returns
// when every connection is closed, or with ctx.Err() when ctx ends first,
// after closing the remaining connections.
func (s *Server) Shutdown(ctx context.Context) error { return s.lc().Shutdown(ctx) }
