package smtp

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/heraldmail/herald/internal/lifecycle"
	"github.com/heraldmail/herald/sasl"
	"github.com/heraldmail/herald/serving"
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
	// DefaultMaxConnections is serving.DefaultMaxConnections; the
	// connection over the limit is answered 421 4.4.5 and closed.
	DefaultMaxConnections = serving.DefaultMaxConnections
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
	// DefaultTLSHandshakeTimeout is serving.DefaultTLSHandshakeTimeout.
	DefaultTLSHandshakeTimeout = serving.DefaultTLSHandshakeTimeout
)

// Extension names one optional part of the protocol that can be turned off
// with Server.Disable.
type Extension uint32

// Extensions that can be disabled. All are on by default; STARTTLS needs
// Server.TLSConfig, AUTH needs Server.Auth or a SessionAuth, REQUIRETLS is only offered
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
	// (RFC 8314, port 465). It requires TLSConfig. A connection that
	// arrives as a *tls.Conn (Serve(tls.Listen(...))) is implicit TLS
	// without it.
	ImplicitTLS bool

	// Auth checks credentials for AUTH (RFC 4954): when it is set and the
	// Session does not implement SessionAuth, the server advertises
	// Auth.Mechanisms for the connection's TLS state and runs the
	// exchange itself with Auth.NewServer; on success ConnInfo.AuthIdentity
	// and AuthMechanism are set. Refused credentials get 535 5.7.8, a
	// mechanism not offered 504 5.5.4, and one that needs TLS 538 5.7.11
	// before STARTTLS, all under the rule of sasl.Authenticator's
	// AllowInsecure field, the one switch for AUTH without TLS (a Session
	// implementing SessionAuth is held to the same field). Failed
	// attempts are logged on Logger at Info with the identity tried and
	// the mechanism, never the secret. Nil means no AUTH unless the
	// Session implements SessionAuth.
	Auth *sasl.Authenticator

	// DisableReceived stops the server from prepending its Received:
	// trace field to every message. By default the reader given to
	// Session.Data and SessionLMTP.LMTPData starts with
	// Received(info, ReceivedOptions{By: Hostname, ID: info.TransactionID,
	// For: the recipient when there is exactly one, UTF8: SMTPUTF8 was
	// used}), so a backend stores it without doing anything (RFC 5321
	// section 4.4 requires it of every SMTP server).
	DisableReceived bool

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

	// CommandTimeout bounds the wait for each command. Default
	// DefaultCommandTimeout.
	CommandTimeout time.Duration
	// DataTimeout bounds each read of message data. Default
	// DefaultDataTimeout.
	DataTimeout time.Duration
	// WriteTimeout bounds each write of replies. Default
	// DefaultWriteTimeout.
	WriteTimeout time.Duration

	// XClientTrusted lists the networks allowed to use XCLIENT (the
	// Postfix extension that lets a trusted front end pass on the real
	// client's address and HELO name). Empty disables XCLIENT.
	XClientTrusted []netip.Prefix

	// Logger receives connection errors, recovered panics and errors
	// that Session methods returned. Nil discards.
	Logger *slog.Logger

	// Lifecycle holds the connection limits (MaxConnections,
	// MaxConnectionsPerIP), the PROXY protocol (ProxyProtocol,
	// TrustedProxies), the TLS handshake timeout and the context hooks,
	// the same fields as on imap.Server and pop3.Server; see package
	// serving. Over a limit a connection is answered 421 4.4.5. The PROXY
	// addresses become ConnInfo.RemoteAddr, LocalAddr and ProxyAddr.
	serving.Lifecycle

	lifeOnce sync.Once
	life     lifecycle.Server
	bufPool  sync.Pool // *[]byte of wire.LargeSize
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

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func (s *Server) enabled(e Extension) bool { return s.Disable&e == 0 }

// allowInsecureAuth is the one rule for AUTH without TLS:
// Auth.AllowInsecure.
func (s *Server) allowInsecureAuth() bool { return s.Auth != nil && s.Auth.AllowInsecure }

func (s *Server) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// lc returns the lifecycle, set up on first use.
func (s *Server) lc() *lifecycle.Server {
	s.lifeOnce.Do(func() {
		s.life = lifecycle.Server{
			Settings: &s.Lifecycle, TLSConfig: s.TLSConfig, ImplicitTLS: s.ImplicitTLS, Logger: s.Logger,
			Name: "smtp", ErrClosed: ErrServerClosed, Handle: func(ctx context.Context, lc *lifecycle.Conn) { newConn(s, lc).serve(ctx) }, Check: s.check,
			Busy:    AppendReply(nil, CodeServiceUnavailable, EnhancedCongestion, s.hostname()+" Too many connections, try again later"),
			Closing: AppendReply(nil, CodeServiceUnavailable, EnhancedNotAccepting, s.hostname()+" Service shutting down"),
		}
	})
	return &s.life
}

// check is the lifecycle's Check: ImplicitTLS without TLSConfig is
// refused there for every protocol.
func (s *Server) check() {
	if s.Backend == nil {
		panic("smtp: Server.Backend is nil")
	}
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

// Close closes all listeners and connections at once, without replies.
func (s *Server) Close() error { return s.lc().Close() }

// Shutdown stops the server gracefully: it closes the listeners, answers
// 421 4.3.2 to connections waiting for a command and closes them, and lets
// connections in the middle of a command finish it first. It returns when
// every connection is closed, or with ctx.Err() when ctx ends first, after
// closing the remaining connections.
func (s *Server) Shutdown(ctx context.Context) error { return s.lc().Shutdown(ctx) }
