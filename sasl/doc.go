// Package sasl implements Simple Authentication and Security Layer mechanisms
// (RFC 4422), server and client side, for the smtp, imap and pop3 packages and
// for anyone who speaks a SASL profile of their own.
//
// # Mechanisms
//
//   - PLAIN, RFC 4616: [NewPlainServer], [NewPlainClient].
//   - LOGIN, draft-murchison-sasl-login-00: [NewLoginServer], [NewLoginClient].
//   - SCRAM-SHA-256, RFC 5802 and RFC 7677: [NewScramSHA256Server],
//     [NewScramSHA256Client]; stored credentials instead of passwords with
//     [NewScramCredentials], kept as text with [ScramCredentials.String]
//     and [ParseScramCredentials].
//   - SCRAM-SHA-256-PLUS with tls-exporter channel binding, RFC 9266:
//     [NewScramSHA256PlusServer], [NewScramSHA256PlusClient], [TLSExporter].
//
// [Mechanisms] lists them with whether each may be offered without TLS;
// PLAIN and LOGIN send the password in the clear and may not.
//
// # Driving an exchange
//
// A protocol layer creates one [Server] per AUTHENTICATE/AUTH command and
// feeds it the base64-decoded client responses. The first call to Next
// carries the initial response: nil when the client sent none, and an empty,
// non-nil slice when it sent an empty one ("=" in SMTP, RFC 4954 section 4).
// Each challenge goes to the client base64-encoded until Next returns done
// or an error. When done comes with a non-nil challenge, that is additional
// data with success (RFC 4422 section 3.6); a protocol that cannot carry it
// in its success reply (SMTP, POP3) sends it as one more challenge, expects
// an empty response and then replies success. After done, the server's
// Identity method ([IdentityServer]) says whom the session acts as.
//
// Errors match [ErrAuthFailed], [ErrMalformed] or [ErrUnexpected] with
// errors.Is and are usually an [*Error]; any other error came from the
// caller's credential check (a store that is down, say) and is returned
// wrapped. The error text is for logs: the wire reply is the protocol
// layer's fixed text, so nothing internal leaks to the client. Each client
// response is bounded by [DefaultMaxResponseLength] unless the options say
// otherwise.
//
// A [Client] works the other way round: Start gives the mechanism name and
// initial response, and Next answers each challenge.
//
// # Standards
//
//   - RFC 4422, Simple Authentication and Security Layer (SASL)
//   - RFC 4616, The PLAIN SASL Mechanism
//   - RFC 5802, Salted Challenge Response Authentication Mechanism (SCRAM)
//   - RFC 7677, SCRAM-SHA-256 and SCRAM-SHA-256-PLUS
//   - RFC 9266, Channel Bindings for TLS 1.3 (tls-exporter)
//   - RFC 8265, PRECIS profiles for usernames and passwords (OpaqueString,
//     the successor of SASLprep, RFC 4013, for SCRAM passwords)
//   - draft-murchison-sasl-login-00, The LOGIN SASL Mechanism
//   - RFC 4954, SMTP Service Extension for Authentication (how responses and
//     additional data travel in SMTP)
package sasl
