package smtp

import (
	"context"
	"crypto/tls"
	"io"
	"net/netip"

	"github.com/heraldmail/herald/sasl"
)

// ConnInfo describes one client connection. The server creates it at
// connect and updates it as the dialogue goes on (HELO name, TLS, AUTH);
// a Session may keep the pointer and read it during its own calls, which
// all run on the connection's goroutine. It must not be read from other
// goroutines.
type ConnInfo struct {
	// RemoteAddr is the client's address: the peer of the TCP
	// connection, or the address given by a trusted PROXY header or
	// XCLIENT command.
	RemoteAddr netip.AddrPort
	// LocalAddr is the server's address the client connected to (the
	// destination of a PROXY header when there is one).
	LocalAddr netip.AddrPort
	// ProxyAddr is the address of the proxy that sent a PROXY header or
	// XCLIENT, or the zero value when the client connected directly.
	ProxyAddr netip.AddrPort
	// RemoteName is the client's host name as given by XCLIENT NAME; the
	// server does no DNS itself.
	RemoteName string
	// TLS is the state of the TLS layer, nil on a plain connection.
	TLS *tls.ConnectionState
	// HeloName is the argument of the last HELO, EHLO or LHLO, "" before.
	HeloName string
	// ESMTP is true after EHLO or LHLO.
	ESMTP bool
	// LMTP is true when the server speaks LMTP (RFC 2033).
	LMTP bool
	// AuthIdentity is the identity established by AUTH, "" when the
	// client has not authenticated.
	AuthIdentity string
	// AuthMechanism is the SASL mechanism AUTH used.
	AuthMechanism string
	// TransactionID names the current mail transaction: a short unique
	// lower-case base32 string, new at each MAIL command, "" before the
	// first. The server puts it in its Received: field (the "id"
	// clause), so a backend that logs it lets the two be matched.
	TransactionID string
}

// Backend creates a Session for each connection.
type Backend interface {
	// NewSession is called once per connection before the greeting. An
	// error refuses the connection: an *Error is sent as the greeting
	// (for example 554 5.7.1 for a blocklisted client, RFC 5321 section
	// 3.1), any other error becomes 421 4.3.0. ctx is cancelled when the
	// connection ends.
	NewSession(ctx context.Context, c *ConnInfo) (Session, error)
}

// BackendFunc adapts a function to the Backend interface.
type BackendFunc func(ctx context.Context, c *ConnInfo) (Session, error)

// NewSession calls f.
func (f BackendFunc) NewSession(ctx context.Context, c *ConnInfo) (Session, error) {
	return f(ctx, c)
}

// Session is the backend's view of one connection: one method per step
// of a mail transaction. Methods are called one at a time, on the
// connection's goroutine, with a context that is cancelled when the
// connection ends. A method refuses by returning an error: an *Error
// (found with errors.As) is sent as given; anything else is logged and
// answered with 451 4.3.0 so that internal text never reaches the client.
// A panic is recovered, logged and answered with 421, and the connection is
// closed.
type Session interface {
	// Mail starts a transaction with the reverse-path (null for bounces).
	Mail(ctx context.Context, from Path, opts *MailOptions) error
	// Rcpt adds a recipient; an error refuses this recipient only.
	Rcpt(ctx context.Context, to Path, opts *RcptOptions) error
	// Data receives the message, after DATA or over BDAT chunks, with
	// dot-stuffing removed. r must be read to io.EOF before Data
	// returns nil: a read error (ErrBareLineEnding, ErrMessageTooLarge,
	// a broken connection) must make Data fail, and the server sends the
	// reply for the read error, not for what Data returned. Returning nil
	// means the message is accepted: the client gets 250 and the backend
	// owns the message.
	Data(ctx context.Context, r io.Reader) error
	// Reset aborts the current transaction (RSET, a new EHLO, the end of
	// a transaction, STARTTLS, AUTH).
	Reset(ctx context.Context)
	// Close is called once when the connection ends.
	Close() error
}

// SessionHello is implemented by sessions that check the HELO, EHLO or
// LHLO name. An error refuses the greeting command; the client may try
// again.
type SessionHello interface {
	Session
	Hello(ctx context.Context, name string) error
}

// SessionAuth is implemented by sessions that run AUTH (RFC 4954)
// themselves. It overrides Server.Auth; Server.Auth.AllowInsecure still
// decides whether mechanisms that send a reusable secret are offered
// before TLS.
type SessionAuth interface {
	Session
	// AuthMechanisms lists the SASL mechanisms to advertise, such as
	// sasl.Plain. It is called for each EHLO, so it can depend on the
	// ConnInfo (TLS state).
	AuthMechanisms(ctx context.Context) []string
	// Auth returns the server side of mechanism mech, which is one of
	// AuthMechanisms in upper case. When the exchange succeeds, the
	// identity is taken from Identity() if the sasl.Server has it (see
	// sasl.IdentityServer).
	Auth(ctx context.Context, mech string) (sasl.Server, error)
}

// SessionLMTP is implemented by sessions that give one result per
// recipient after DATA in LMTP mode (RFC 2033 section 4.2). Without it, the
// result of Session.Data is repeated for every recipient.
type SessionLMTP interface {
	Session
	// LMTPData receives the message like Session.Data and returns one
	// error (nil for success) per recipient accepted by Rcpt, in the same
	// order. A non-nil err applies to every recipient; otherwise the
	// slice must have exactly len(rcpts) entries.
	LMTPData(ctx context.Context, r io.Reader, rcpts []Path) (perRcpt []error, err error)
}

// SessionVerify is implemented by sessions that answer VRFY. Without it,
// the server answers 252 and discloses nothing (RFC 5321 section 3.5.3).
type SessionVerify interface {
	Session
	// Verify returns the mailbox that arg names, or an error.
	Verify(ctx context.Context, arg string) (Path, error)
}
