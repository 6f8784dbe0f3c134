// Package smtp implements SMTP (RFC 5321) and LMTP (RFC 2033): reply codes
// and RFC 3463 enhanced status codes, the typed [Error], reply parsing and
// formatting, pure parsers for commands, paths and MAIL/RCPT parameters, an
// embeddable server with a Backend/Session interface, and a client.
//
// # Replies and errors
//
// [ReplyCode] and [EnhancedCode] are typed constants ([CodeMailboxUnavailable],
// [EnhancedBadDestMailbox]). [Error] is the one error type of the protocol:
// a Session returns it to choose the reply, and a client gets it back when
// the server refuses. [ReadReply] reads a multi-line reply, [AppendReply]
// formats one. Category sentinels ([ErrMessageTooLarge],
// [ErrBareLineEnding], [ErrLineTooLong], [ErrTooManyRecipients]) are checked
// with errors.Is.
//
// # Server
//
// A [Server] needs only a [Backend]; every other field's zero value is a
// documented default. The backend gets a [Session] per connection with a
// [ConnInfo] (remote address, TLS state, HELO name, authenticated identity)
// and decides at each step of the dialogue, so that unwanted mail is refused
// during the dialogue instead of bounced later:
//
//   - at connect: Backend.NewSession returns an error ([Error] 554 5.7.1
//     for a blocklisted client);
//   - at HELO/EHLO: [SessionHello];
//   - at MAIL and at each RCPT (one recipient at a time);
//   - at the end of data: Session.Data, or [SessionLMTP] for one result per
//     recipient in LMTP mode.
//
// A Session method refuses by returning an error. The server maps errors to
// replies in one place: an [*Error] found with errors.As is sent as given,
// the category sentinels have fixed replies, and anything else is logged and
// answered 451 4.3.0, so internal error text never reaches the client. A
// panic in a Session is recovered, logged with its stack, answered 421 and
// the connection closed.
//
//	s := &smtp.Server{
//		Hostname:  "mx.example.org",
//		TLSConfig: tlsConfig, // enables STARTTLS
//		Backend:   smtp.BackendFunc(newSession),
//	}
//	go s.ListenAndServe(":25")
//	...
//	s.Shutdown(ctx)
//
// # Extensions
//
// PIPELINING (RFC 2920), SIZE (RFC 1870), 8BITMIME (RFC 6152), SMTPUTF8
// (RFC 6531), ENHANCEDSTATUSCODES (RFC 2034, RFC 3463), STARTTLS (RFC 3207)
// and implicit TLS (RFC 8314), AUTH (RFC 4954) through package sasl, DSN
// (RFC 3461: RET, ENVID, NOTIFY and ORCPT, xtext-decoded and handed to the
// backend), CHUNKING and BINARYMIME (RFC 3030), REQUIRETLS (RFC 8689),
// LIMITS RCPTMAX (RFC 9422), LMTP (RFC 2033). All are on by default and can
// be turned off with Server.Disable. The PROXY protocol (versions 1 and 2)
// and Postfix's XCLIENT let the server sit behind a load balancer or a
// trusted front end.
//
// AUTH is run by the server with [Server.Auth], the [sasl.Authenticator]
// that imap.Server and pop3.Server take too, or by a Session that
// implements [SessionAuth]. It is offered only on TLS connections, except
// for mechanisms that send no reusable secret (SCRAM), unless
// Server.Auth.AllowInsecure is set; PLAIN before TLS gets 538 5.7.11.
//
// # SMTP smuggling and bare line endings
//
// Message data sent with DATA ends only at CRLF "." CRLF, and only CRLF ends
// a line. A CR not followed by LF, or an LF not preceded by CR, anywhere in
// the data makes the read fail with [ErrBareLineEnding]; the server then
// answers 521 5.5.2 and closes the connection. It does not try to find
// another end of data: where a sender that produced a bare line ending
// believes its message ends is unknowable, and closing guarantees that no
// byte after it is ever run as a command. So no variant (LF "." LF,
// CR "." CR, LF "." CRLF, CRLF "." LF, CR "." CRLF, ...) can end a message
// early and smuggle a second transaction, whatever an outbound relay in
// front of the server did. Chunks sent with BDAT are counted in octets and
// taken as they are.
//
// After STARTTLS, whatever the client sent after the command before the TLS
// handshake is discarded (RFC 3207 section 4.2 injection).
//
// # Limits
//
// Every input is bounded by a named default that a Server field overrides:
// command lines ([DefaultMaxLineLength]; RFC 5321 section 4.5.3.1), AUTH
// lines ([MaxAuthLineLength], RFC 4954), message size
// ([DefaultMaxMessageBytes]), recipients per transaction
// ([DefaultMaxRecipients]), error replies before disconnect
// ([DefaultMaxErrors]), concurrent connections ([DefaultMaxConnections]),
// and the timeouts of RFC 5321 section 4.5.3.2 ([DefaultCommandTimeout],
// [DefaultDataTimeout]). An idle connection holds a 1 KiB read buffer; a
// 32 KiB buffer is borrowed from a pool only while a message or a long line
// is being read.
//
// # Client
//
// [Dial], [DialTLS] and [NewClient] open a [Client]; [ClientOptions] holds
// the EHLO name, LMTP mode, the TLS configuration and [TLSPolicy]
// (opportunistic by default, RFC 7435; or required, or none), the handling of bare
// CR and LF in message data (refused by default), and the RFC 5321 section
// 4.5.3.2 timeouts. Every method takes a context first. Client.Hello sends
// EHLO (HELO for servers that refuse it) and STARTTLS as the policy says.
//
// Client.Send runs one transaction for an [Envelope]: with PIPELINING, MAIL,
// every RCPT and DATA go in one write; with CHUNKING the message goes as
// BDAT chunks (always for BINARYMIME). ESMTP parameters (SIZE, BODY,
// SMTPUTF8, REQUIRETLS, RET, ENVID, NOTIFY, ORCPT) are sent only when the
// server offers them, and a message that needs an extension the server
// lacks fails with an [*ExtensionError] before anything is sent. Refused
// recipients do not stop the transaction: the [SendResult] gives each
// recipient its reply, and in LMTP mode its own reply after the data.
// Failures are [*CommandError] values naming the command, with Temporary
// telling a 4yz from a 5yz; CR and LF in arguments are refused before they
// reach the wire. [SendMail] covers submission: STARTTLS on port 587 or
// implicit TLS on 465, a verified certificate, and AUTH through package
// sasl.
//
// # Trace fields
//
// The server prepends a Received: header field to every message it hands
// to the backend (RFC 5321 section 4.4, with the RFC 3848 protocol names),
// built by [Received] with ConnInfo.TransactionID as its id, unless
// Server.DisableReceived is set.
//
// # Connections
//
// The connection limits (MaxConnections, MaxConnectionsPerIP), the PROXY
// protocol (ProxyProtocol, TrustedProxies), TLSHandshakeTimeout and the
// context hooks are the fields of the embedded [serving.Lifecycle], the same
// on the smtp, imap and pop3 servers. A connection that arrives as a
// *tls.Conn (Serve on a tls.Listen listener) is implicit TLS: STARTTLS is
// not offered and ConnInfo.TLS is set.
package smtp
