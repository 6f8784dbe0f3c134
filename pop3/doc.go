// Package pop3 implements the Post Office Protocol version 3: a server
// driven by a [Backend] that opens maildrops, and a [Client].
//
// # Server
//
// A [Server] needs a Backend, and [Server.Auth] for anyone to log in: the
// [sasl.Authenticator] that smtp and imap servers take too checks USER/PASS
// with its Password func and runs the AUTH mechanisms it offers.
// [Backend.Open] returns the user's [Mailbox], locked for exclusive access,
// or &Error{Code: CodeInUse}. A Backend that also implements [APOPBackend]
// gets APOP and a timestamp in the greeting. The package
// [github.com/heraldmail/herald/pop3/pop3mem] is an in-memory Backend.
//
// The server follows the states of RFC 1939: AUTHORIZATION, TRANSACTION
// once a login opened the maildrop, and UPDATE after QUIT, where
// [Mailbox.Commit] removes the deleted messages all at once or not at all.
// A session that ends without QUIT (a dropped connection, the 10-minute
// autologout, Shutdown) deletes nothing. Message numbers come from one
// [Mailbox.List] at login and stay stable; deleted messages disappear from
// STAT, LIST and UIDL. RETR and TOP stream each message from
// [Mailbox.Message] through dot-stuffing, turning bare LF or CR into CRLF,
// without holding it whole.
//
// Without TLS, USER/PASS and the SASL mechanisms that send a reusable
// secret are refused with "-ERR [SYS/PERM]" and not advertised, unless
// Server.Auth.AllowInsecure is set; STLS and implicit TLS (port 995) need
// [Server.TLSConfig]. Anything a client pipelines after STLS is discarded
// before the handshake (RFC 2595 section 4). Responses to pipelined
// commands are batched and written when the input is drained.
//
// Every input is bounded by a named default that a Server field overrides:
// [DefaultMaxLineLength] (255 octets with CRLF, RFC 2449 section 4),
// [MaxAuthLineLength] for AUTH, [DefaultMaxErrors], [DefaultMaxConnections],
// [DefaultMaxLoginFailures] with [DefaultLoginFailureDelay], and
// [DefaultTimeout], RFC 1939's 10-minute autologout. Backend errors are
// answered "-ERR [SYS/TEMP]" and logged, never sent; an [*Error] is sent as
// given; a panic in the Backend is logged and ends the connection.
// [Server.Shutdown] closes idle sessions with "-ERR [SYS/TEMP]" and waits
// for busy ones.
//
// The connection limits (MaxConnections, MaxConnectionsPerIP), the PROXY
// protocol (ProxyProtocol, TrustedProxies) and TLSHandshakeTimeout are the
// fields of the embedded [serving.Lifecycle], the same as on the smtp and
// imap servers. A connection that arrives as a *tls.Conn (Serve on a
// tls.Listen listener) is implicit TLS: STLS is not offered and ConnInfo.TLS
// is set.
//
// # Client
//
// [Dial], [DialTLS] and [NewClient] connect and read the greeting. Each
// command is a method taking a context ([Client.Capa], [Client.STLS],
// [Client.User], [Client.Pass], [Client.APOP], [Client.Auth] with a
// [github.com/heraldmail/herald/sasl.Client], [Client.Stat], [Client.List],
// [Client.Uidl], [Client.Retr], [Client.Top], [Client.Dele], [Client.Rset],
// [Client.Noop], [Client.Quit]). Retr and Top return an [io.Reader] that
// removes the dot-stuffing and ends at the terminating line. A negative
// response is an [*Error] carrying its RFC 2449 response code; a response
// that breaks the protocol matches [ErrProtocol]. Lines, listings and
// messages are bounded by [ClientOptions].
//
// # Standards
//
//   - RFC 1939, Post Office Protocol - Version 3 (USER, PASS, APOP, STAT,
//     LIST, RETR, DELE, NOOP, RSET, QUIT, TOP, UIDL)
//   - RFC 2449, POP3 Extension Mechanism (CAPA, RESP-CODES, PIPELINING,
//     TOP, UIDL, USER, SASL, EXPIRE, LOGIN-DELAY, IMPLEMENTATION, the
//     IN-USE and LOGIN-DELAY response codes, line lengths)
//   - RFC 2595, Using TLS with IMAP, POP3 and ACAP (STLS)
//   - RFC 3206, The SYS and AUTH POP Response Codes
//   - RFC 5034, The POP3 SASL Authentication Mechanism (AUTH, initial
//     response, "*" cancel, AUTH-RESP-CODE)
//   - RFC 8314, Cleartext Considered Obsolete (implicit TLS on port 995)
//
// RFC 6856 (UTF8 and LANG) is not implemented.
package pop3
