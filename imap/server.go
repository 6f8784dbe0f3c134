package imap

import (
	"context"
	"crypto/tls"
	"errors"
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
	// DefaultMaxConnections is serving.DefaultMaxConnections; the
	// connection over the limit is answered BYE and closed.
	DefaultMaxConnections = serving.DefaultMaxConnections
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
	// DefaultTLSHandshakeTimeout is serving.DefaultTLSHandshakeTimeout.
	DefaultTLSHandshakeTimeout = serving.DefaultTLSHandshakeTimeout
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
	// AUTHENTICATE, the same sasl.Authenticator as smtp.Server.Auth and
	// pop3.Server.Auth. Nil refuses every login. Its AllowInsecure
	// field, the one switch for logins without TLS, also allows LOGIN
	// then; otherwise the server announces LOGINDISABLED before TLS.
	Auth *sasl.Authenticator

	// LiteralMinus makes the server offer LITERAL- instead of LITERAL+
	// (RFC 7888): non-synchronizing literals of at most 4096 bytes, a
	// longer one answered BAD [TOOBIG] (or ending the connection when it
	// is beyond MaxLiteralSize), so that a client cannot make the server
	// read a large literal it would refuse.
	LiteralMinus bool
	// ID is what the server says of itself in answer to ID (RFC 2971),
	// field names to values; nil sends ("name" "Herald"), an empty map
	// NIL. The client's own ID is read and not kept.
	ID map[string]string
	// Greeting is the text of the greeting. Default "Herald IMAP ready".
	Greeting string
	// TLSConfig enables STARTTLS, and implicit TLS with ImplicitTLS.
	TLSConfig *tls.Config
	// ImplicitTLS makes every connection start with a TLS handshake
	// (RFC 8314, port 993). It requires TLSConfig. A connection that
	// arrives as a *tls.Conn (Serve(tls.Listen(...))) is implicit TLS
	// without it.
	ImplicitTLS bool

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
	// MaxSearchUpdates bounds the UPDATE contexts of SEARCH and SORT a
	// session keeps in the selected mailbox (RFC 5267); one more is
	// answered NO [NOUPDATE]. Default DefaultMaxSearchUpdates.
	MaxSearchUpdates int
	// MaxAuthFailures bounds failed logins per connection. Default
	// DefaultMaxAuthFailures.
	MaxAuthFailures int
	// MaxErrors bounds BAD replies per connection. Default
	// DefaultMaxErrors; negative means no limit.
	MaxErrors int
	// MaxNotifyMailboxes bounds the mailboxes one connection watches
	// with NOTIFY and the changes it holds for the client. Default
	// DefaultMaxNotifyMailboxes.
	MaxNotifyMailboxes int

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

	// Lifecycle holds the connection limits (MaxConnections,
	// MaxConnectionsPerIP), the PROXY protocol (ProxyProtocol,
	// TrustedProxies), the TLS handshake timeout and the context hooks,
	// the same fields as on smtp.Server and pop3.Server; see package
	// serving. Over a limit a connection is answered
	// "* BYE [UNAVAILABLE]". The PROXY addresses become
	// ConnInfo.RemoteAddr and LocalAddr.
	serving.Lifecycle

	lifeOnce sync.Once
	life     lifecycle.Server
	// deflaters are shared by the connections with COMPRESS=DEFLATE.
	deflaters deflaters
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
		nonSync:   s.nonSyncLimit(),
	}
}

// nonSyncLimit is the bound of non-synchronizing literals: literalMinusMax
// with LiteralMinus, else none beyond the others.
func (s *Server) nonSyncLimit() int64 {
	if s.LiteralMinus {
		return literalMinusMax
	}
	return 0
}

func (s *Server) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

func (s *Server) maxErrors() int {
	if s.MaxErrors == 0 {
		return DefaultMaxErrors
	}
	return s.MaxErrors
}

// lc returns the lifecycle, set up on first use.
func (s *Server) lc() *lifecycle.Server {
	s.lifeOnce.Do(func() {
		s.life = lifecycle.Server{
			Settings: &s.Lifecycle, TLSConfig: s.TLSConfig, ImplicitTLS: s.ImplicitTLS, Logger: s.Logger,
			Name: "imap", ErrClosed: ErrServerClosed, Handle: s.handle, Check: s.check,
			Busy:    []byte("* BYE [UNAVAILABLE] Too many connections, try again later\r\n"),
			Closing: []byte("* BYE Server shutting down\r\n"),
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

// check is the lifecycle's Check: ImplicitTLS without TLSConfig is
// refused there for every protocol.
func (s *Server) check() {
	if s.Backend == nil {
		panic("imap: Server.Backend is nil")
	}
}

// ServeConn serves one connection on the calling goroutine until it ends,
// then closes it. It does not count toward the connection limits. ctx is
// the base of the connection's context.
func (s *Server) ServeConn(ctx context.Context, nc net.Conn) { s.lc().ServeConn(ctx, nc) }

// Close closes all listeners and connections at once, without BYE.
func (s *Server) Close() error { return s.lc().Close() }

// Shutdown stops the server gracefully: it closes the listeners, sends
// "* BYE" to connections waiting for a command (or in IDLE) and closes them,
// and lets connections in the middle of a command finish it first. It
// returns when every connection is closed, or with ctx.Err() when ctx ends
// first, after closing the remaining connections.
func (s *Server) Shutdown(ctx context.Context) error { return s.lc().Shutdown(ctx) }
