// Package serving holds the settings that the smtp, imap and pop3 servers
// share for the life of their connections: how many connections they take,
// in all and from one client address, the PROXY protocol in front of them,
// and how long the PROXY header and the TLS handshake may take. Each of
// [github.com/heraldmail/herald/smtp.Server],
// [github.com/heraldmail/herald/imap.Server] and
// [github.com/heraldmail/herald/pop3.Server] embeds a [Lifecycle], so the
// fields read the same on the three (srv.MaxConnectionsPerIP = 20) and mean
// the same there.
//
// # What every server does with a connection
//
// Serve accepts connections, retrying with a growing delay (up to one
// second) when Accept fails with a temporary error. A connection over
// MaxConnections, or over MaxConnectionsPerIP for its client address, gets
// the protocol's "busy" line and is closed; on a TLS connection nothing is
// sent. With ProxyProtocol, the server then reads the PROXY header (version
// 1 or 2) from a peer in TrustedProxies, within ProxyHeaderTimeout, and the
// address it carries becomes the client's address: for the per-address
// limit, in the ConnInfo the backend sees and in the logs. A missing,
// malformed, truncated or untrusted header closes the connection without a
// byte sent. A server with ImplicitTLS, or a connection that arrives already
// as a *tls.Conn (a listener from tls.Listen or tls.NewListener), gets the
// TLS handshake next, within TLSHandshakeTimeout; such a connection is
// treated as implicit TLS: no STARTTLS or STLS is offered, authentication is
// allowed as on any TLS connection, and ConnInfo.TLS is set.
//
// Shutdown closes the listeners and wakes the connections that wait for a
// command, which send their protocol's goodbye line and close; connections
// in the middle of a command finish it first. Close closes everything at
// once.
package serving

import (
	"context"
	"net"
	"net/netip"
	"time"
)

// Defaults for the Lifecycle fields. Each applies when the matching field
// is zero.
const (
	// DefaultMaxConnections bounds concurrent connections.
	DefaultMaxConnections = 1000
	// DefaultTLSHandshakeTimeout bounds the TLS handshake, implicit or
	// after STARTTLS/STLS.
	DefaultTLSHandshakeTimeout = 30 * time.Second
	// DefaultProxyHeaderTimeout bounds the wait for the PROXY header.
	DefaultProxyHeaderTimeout = 10 * time.Second
)

// Lifecycle is the part of a server's settings that covers the life of its
// connections, the same in smtp, imap and pop3. Its zero value means the
// documented defaults. It must not be changed after the server's first use.
type Lifecycle struct {
	// MaxConnections bounds concurrent connections. Default
	// DefaultMaxConnections; negative means no limit.
	MaxConnections int
	// MaxConnectionsPerIP bounds concurrent connections from one client
	// address (the address of the PROXY header when there is one).
	// Zero or negative means no limit.
	MaxConnectionsPerIP int

	// ProxyProtocol requires every connection to start with a PROXY
	// protocol header, version 1 or 2; the addresses it carries become
	// the connection's remote and local addresses. Off by default.
	ProxyProtocol bool
	// TrustedProxies lists the networks allowed to send PROXY headers;
	// a connection from elsewhere is closed. Empty means any peer (only
	// safe when the port is not reachable except through the proxy).
	TrustedProxies []netip.Prefix
	// ProxyHeaderTimeout bounds the wait for the PROXY header. Default
	// DefaultProxyHeaderTimeout.
	ProxyHeaderTimeout time.Duration

	// TLSHandshakeTimeout bounds the TLS handshake, implicit or after
	// STARTTLS/STLS. Default DefaultTLSHandshakeTimeout.
	TLSHandshakeTimeout time.Duration

	// BaseContext returns the base context for connections accepted on
	// l. Nil means context.Background().
	BaseContext func(l net.Listener) context.Context
	// ConnContext derives the context of one connection from ctx. Nil
	// keeps ctx.
	ConnContext func(ctx context.Context, c net.Conn) context.Context
}
