// Package herald is the root of a Go module of mail primitives. It holds no
// code: each concern is a package of its own that can be imported alone.
//
// # Packages
//
//   - [github.com/heraldmail/herald/message]: the RFC 5322 header (ordered
//     fields, raw bytes kept, folding and unfolding), addresses and groups,
//     dates, Message-IDs and RFC 2047 encoded words; the body is streamed.
//   - [github.com/heraldmail/herald/mime]: media types, RFC 2231 parameters,
//     a streamed multipart reader and writer, transfer encodings, charsets to
//     UTF-8, and a composer for messages with alternatives and attachments.
//   - [github.com/heraldmail/herald/dnsmx]: the one Resolver interface that
//     every DNS-using package shares, a real resolver on github.com/miekg/dns,
//     MX resolution (RFC 5321 section 5, RFC 7505), reverse DNS and DNSBL
//     queries; dnsmx/dnstest serves zones on loopback for tests.
//   - [github.com/heraldmail/herald/spf]: RFC 7208 check_host() with
//     explanations, Received-SPF and Authentication-Results text.
//   - [github.com/heraldmail/herald/sasl]: SASL mechanisms, server and client.
//   - [github.com/heraldmail/herald/smtp]: reply codes, enhanced status codes,
//     the server state machine with a Backend/Session interface, the client,
//     and LMTP.
//   - [github.com/heraldmail/herald/dsn]: delivery status notifications,
//     generated and parsed.
//   - [github.com/heraldmail/herald/greylist]: triplet greylisting with an
//     in-memory store and a Redis store for a fleet.
//
// # How they compose
//
// A receiving server is an smtp.Server whose Backend asks dnsmx for the
// client's reverse DNS, spf for the sender's authorisation and greylist for a
// first-time triplet before it answers RCPT, then parses the message with
// message and mime and stores it. Outbound mail resolves MX hosts with dnsmx,
// sends with the smtp client and reports failures with dsn. The runnable
// programs under examples/ show each step.
package herald
