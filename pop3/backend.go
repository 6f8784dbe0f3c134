package pop3

import (
	"context"
	"crypto/tls"
	"io"
	"net/netip"
)

// ConnInfo describes a connection. The server fills it in; Backend methods
// must not change it.
type ConnInfo struct {
	// RemoteAddr and LocalAddr are the two ends of the connection, or
	// the addresses of a trusted PROXY header (Server.ProxyProtocol).
	RemoteAddr, LocalAddr netip.AddrPort
	// ProxyAddr is the proxy that sent the PROXY header, or the zero
	// value when the client connected directly.
	ProxyAddr netip.AddrPort
	// TLS is the TLS state after STLS or on an implicit-TLS port; nil
	// without TLS.
	TLS *tls.ConnectionState
	// Identity is the authenticated user once a login succeeded.
	Identity string
	// Mechanism is how the user logged in: "USER", "APOP" or the SASL
	// mechanism name.
	Mechanism string
}

// Backend opens maildrops; credentials are checked by Server.Auth (and
// APOP by an APOPBackend). Its methods may be called from many connections
// at once.
type Backend interface {
	// Open returns the maildrop of identity, locked for exclusive access
	// until Mailbox.Close. A maildrop already locked returns
	// &Error{Code: CodeInUse}. The server calls it once per successful
	// login.
	Open(ctx context.Context, info *ConnInfo, identity string) (Mailbox, error)
}

// APOPBackend is a Backend that offers APOP (RFC 1939 section 7). Only then
// does the greeting carry a timestamp and the server accept APOP.
type APOPBackend interface {
	Backend
	// SharedSecret returns the secret shared with username, from which
	// the server checks the client's digest. An unknown user returns an
	// error matching ErrAuthFailed.
	SharedSecret(ctx context.Context, info *ConnInfo, username string) (secret string, identity string, err error)
}

// MessageInfo describes one message of a maildrop.
type MessageInfo struct {
	// Size is the exact size in octets as sent by RETR: with CRLF line
	// endings and before dot-stuffing (RFC 1939 section 11).
	Size int64
	// UID is the unique-id of RFC 1939 section 7: 1 to 70 characters in
	// 0x21-0x7E, the same for the same message across sessions. The
	// server refuses a maildrop whose list breaks this rule.
	UID string
}

// Mailbox is a maildrop opened and locked for one session. The server
// calls its methods from the session's goroutine only.
type Mailbox interface {
	// List returns the messages as of the login; message number n is
	// List()[n-1]. The server calls it once, right after Open, so
	// message numbers stay stable for the session.
	List(ctx context.Context) ([]MessageInfo, error)
	// Message opens message number n (1-based) for reading. The server
	// streams it to the client and closes it; it never reads more than
	// it sends, so TOP reads only the lines it needs. The content should
	// use CRLF line endings; a bare LF or CR is sent as CRLF.
	Message(ctx context.Context, n int) (io.ReadCloser, error)
	// Commit removes the messages numbered in deleted (ascending) in the
	// UPDATE state. It must remove all of them or none: on error the
	// server answers "-ERR" and the maildrop keeps every message
	// (RFC 1939 section 6).
	Commit(ctx context.Context, deleted []int) error
	// Close releases the lock. The server calls it exactly once, whether
	// the session ended with QUIT or not.
	Close() error
}
