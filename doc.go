// Package herald is the root of a Go module of mail primitives. It holds no
// code: each concern is a package of its own that can be imported alone.
//
// # Packages
//
// Messages:
//
//   - [github.com/heraldmail/herald/message]: the RFC 5322 header (ordered
//     fields, raw bytes kept, folding and unfolding), addresses and groups,
//     dates, Message-IDs and RFC 2047 encoded words; the body is streamed.
//   - [github.com/heraldmail/herald/mime]: media types, RFC 2231 parameters,
//     a streamed multipart reader and writer, transfer encodings, charsets to
//     UTF-8, and a composer for messages with alternatives and attachments.
//   - [github.com/heraldmail/herald/dsn]: delivery status notifications,
//     generated and parsed.
//
// DNS and policy:
//
//   - [github.com/heraldmail/herald/dnsmx]: the one Resolver interface that
//     every DNS-using package shares, a real resolver on github.com/miekg/dns,
//     MX resolution (RFC 5321 section 5, RFC 7505), reverse DNS and DNSBL
//     queries; dnsmx/dnstest serves zones on loopback for tests.
//   - [github.com/heraldmail/herald/spf]: RFC 7208 check_host() with
//     explanations, Received-SPF and Authentication-Results text.
//   - [github.com/heraldmail/herald/greylist]: triplet greylisting with an
//     in-memory store and a Redis store for a fleet.
//   - [github.com/heraldmail/herald/dkim]: DKIM signing and verification
//     (RFC 6376, RFC 8463), streamed, with Authentication-Results text.
//   - [github.com/heraldmail/herald/dmarc]: DMARC (RFC 7489) policy
//     discovery, alignment, the disposition and aggregate reports.
//
// Protocols, each a server and a client, none of which knows how mail is
// stored:
//
//   - [github.com/heraldmail/herald/sasl]: SASL mechanisms, server and client.
//   - [github.com/heraldmail/herald/serving]: the connection settings the
//     smtp, imap and pop3 servers share (limits, PROXY protocol, TLS
//     handshake timeout), embedded in each Server.
//   - [github.com/heraldmail/herald/smtp]: reply codes, enhanced status codes,
//     the server state machine with a Backend/Session interface, the client,
//     and LMTP.
//   - [github.com/heraldmail/herald/imap]: IMAP4rev2 with IMAP4rev1
//     compatibility, a server over a Backend and a client; imap/imapmem is an
//     in-memory Backend and imap/imapmaildir serves a maildir.Store beside
//     Dovecot.
//   - [github.com/heraldmail/herald/pop3]: POP3 with its extensions, a server
//     over a Backend and a client; pop3/pop3mem is an in-memory Backend and
//     pop3/pop3maildir serves the INBOX of a maildir.Store beside Dovecot.
//
// Sending and storing:
//
//   - [github.com/heraldmail/herald/delivery]: outbound mail, one envelope to
//     the MX hosts of each domain with a result per recipient, STARTTLS,
//     MTA-STS and TLS-RPT; a persistent queue with retries, expiry and DSNs.
//   - [github.com/heraldmail/herald/maildir]: Maildir++ storage that Dovecot
//     and mutt share: durable delivery, folders, flags and keywords, UIDs and
//     UIDVALIDITY in dovecot-uidlist, quota.
//   - [github.com/heraldmail/herald/sieve]: the Sieve filter language (RFC
//     5228 and its extensions), a parser and an interpreter that returns
//     actions for the caller to perform; sieve/managesieve is the RFC 5804
//     server and client, sieve/managesieve/managesievedir its script store in
//     Pigeonhole's layout.
//
// # How they compose
//
// Each package imports only those beside it here (and internal/ helpers);
// nothing imports examples/, a protocol package never imports a store, and a
// store never imports a protocol:
//
//	message      -
//	mime         message
//	dsn          message, mime, smtp
//	dnsmx        -
//	spf          dnsmx
//	greylist     - (greylist/redisstore: github.com/redis/go-redis/v9)
//	sasl         -
//	serving      -
//	smtp         sasl, serving
//	imap         sasl, serving, message, mime
//	pop3         sasl, serving
//	pop3maildir  pop3, maildir
//	imapmaildir  imap, maildir
//	delivery     smtp, dnsmx, dsn, message, mime
//	maildir      message
//	dkim         dnsmx, message
//	dmarc        dnsmx, message, spf
//	sieve        message, mime
//	managesieve  sasl, serving (managesievedir: managesieve)
//
// A mail server is made of them like this:
//
//	MX ──► smtp.Server ──► dnsmx (PTR, DNSBL), spf, greylist ──► local recipient?
//	                                                  yes │            │ no, and authenticated
//	                                                      ▼            ▼
//	MUA ◄── imap.Server, pop3.Server ◄── adapter ◄── maildir    delivery.Queue ──► remote MX
//	                                                      ▲            │ failure or expiry
//	                                                      └─── dsn ◄───┘
//
// A receiving server is an smtp.Server whose Backend asks dnsmx for the
// client's reverse DNS, spf for the sender's authorisation and greylist for a
// first-time triplet before it answers RCPT, then stores the message with
// maildir.Maildir.Deliver, durable before the 250 reply. Mail for other
// domains goes to a delivery.Queue, which resolves MX hosts with dnsmx, sends
// with the smtp client and returns failures to the sender as dsn bounces.
// Mail clients read the same Maildirs through an imap.Server or a
// pop3.Server, whose Backend is an adapter between the protocol's
// interfaces and maildir.Store: imap/imapmaildir and pop3/pop3maildir. The
// runnable programs under examples/ show the steps one at a time;
// examples/mailserver composes them into one server.
package herald
