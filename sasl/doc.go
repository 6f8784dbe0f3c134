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
//   - OAUTHBEARER, RFC 7628, with its JSON error step:
//     [NewOAuthBearerServer], [NewOAuthBearerClient], [OAuthError].
//   - XOAUTH2, Google's format: [NewXOAuth2Server], [NewXOAuth2Client].
//   - EXTERNAL, RFC 4422 appendix A: [NewExternalServer],
//     [NewExternalClient].
//
// [Mechanisms] lists them with whether each may be offered without TLS:
// only SCRAM-SHA-256 may. PLAIN, LOGIN, OAUTHBEARER and XOAUTH2 send a
// password or bearer token in the clear, and SCRAM-SHA-256-PLUS and
// EXTERNAL need the TLS connection itself.
//
// # Credentials
//
// Servers never see a credential store: each takes a small func from the
// caller, called with the exchange's ctx, that checks what the client sent
// ([PasswordFunc], [ScramLookupFunc], [TokenFunc], [ExternalFunc]) and
// returns the identity the session acts as. The package grants a requested
// authorization identity only when the func returns it, so a func that
// ignores authzid cannot be tricked into granting it. SCRAM servers keep
// no password: [ScramCredentials] holds the salt, iteration count, StoredKey
// and ServerKey, and every secret comparison is constant-time.
//
// # Protocol layers
//
// [Authenticator] gathers the funcs of a server and, for a connection's TLS
// state, lists what to advertise and creates the [Server] for a mechanism.
// It refuses PLAIN, LOGIN, OAUTHBEARER and XOAUTH2 without TLS unless
// AllowInsecure is set, offers SCRAM-SHA-256-PLUS on TLS 1.3 connections and
// EXTERNAL when the client presented a certificate, and hands the
// SCRAM-SHA-256 server the channel binding data so that a client whose -PLUS
// offer was stripped by a man in the middle is caught (RFC 5802 section 6).
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
// errors.Is and are usually an [*Error]. Any other error is a failure on
// the server's side, to be answered as a temporary one: the caller's check
// failed (a store that is down, say; returned wrapped) or the server is
// misconfigured (unreadable stored credentials). The error text is for logs: the wire reply is the protocol
// layer's fixed text, so nothing internal leaks to the client. Each client
// response is bounded by [DefaultMaxResponseLength] unless the options say
// otherwise.
//
// A [Client] works the other way round: Start gives the mechanism name and
// initial response, and Next answers each challenge. A protocol that cannot
// send an initial response with its command sends it in answer to the
// server's first, empty challenge.
//
// # Standards
//
//   - RFC 4422, Simple Authentication and Security Layer (SASL)
//   - RFC 4422 appendix A, The SASL EXTERNAL Mechanism
//   - RFC 4616, The PLAIN SASL Mechanism
//   - RFC 5802, Salted Challenge Response Authentication Mechanism (SCRAM)
//   - RFC 7677, SCRAM-SHA-256 and SCRAM-SHA-256-PLUS
//   - RFC 9266, Channel Bindings for TLS 1.3 (tls-exporter)
//   - RFC 7628, A Set of SASL Mechanisms for OAuth (OAUTHBEARER)
//   - RFC 6750, OAuth 2.0 Bearer Token Usage (the b64token syntax)
//   - Google's XOAUTH2 protocol,
//     https://developers.google.com/workspace/gmail/imap/xoauth2-protocol
//   - RFC 4013, SASLprep, for SCRAM passwords; built on a PRECIS
//     FreeformClass profile (RFC 8264) from golang.org/x/text/secure/precis
//     and checked against GNU SASL's derivation
//   - draft-murchison-sasl-login-00, The LOGIN SASL Mechanism
//   - RFC 4954, SMTP Service Extension for Authentication (how responses and
//     additional data travel in SMTP)
package sasl
