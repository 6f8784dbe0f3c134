// Package dnsmx is Herald's DNS layer: the one [Resolver] interface that
// every DNS-using package shares, a real stub resolver ([Client]) on
// github.com/miekg/dns, MX resolution for delivery, reverse DNS checks and
// DNSBL queries for receiving servers.
//
// # Resolver and errors
//
// [Resolver] has four methods with the signatures of [*net.Resolver]'s
// (LookupTXT, LookupNetIP, LookupMX, LookupAddr), so fakes are short. Its
// contract is about errors: every failure is an [*Error] that unwraps to a
// category sentinel, tested with errors.Is:
//
//   - [ErrNotFound]: NXDOMAIN, the name does not exist;
//   - [ErrNoData]: the name exists without records of that type;
//   - [ErrTemporary]: SERVFAIL and other RCODEs, timeouts, network errors,
//     the caller's context ending; retry later (SPF temperror);
//   - [ErrInvalidName], [ErrCNAMELoop]: permanent problems with the name.
//
// [NetResolver] adapts a *net.Resolver to this contract. [Querier] is an
// add-on interface for TTLs, the canonical name and the AD bit.
//
// # Client
//
// [Client] asks the servers of /etc/resolv.conf, or those given in
// [ClientOptions], over UDP with EDNS0 (RFC 6891), and again over TCP when
// an answer is truncated (RFC 7766). Each attempt has a timeout under the
// caller's context; SERVFAIL and timeouts move on to the next server.
// CNAME chains are followed up to a limit. Answers are cached for their
// TTL, negative answers for the SOA minimum (RFC 2308), in a bounded cache
// safe for concurrent use whose hits take a read lock and allocate only the
// caller's copy of the result. Names go through IDNA (RFC 5890, UTS #46
// lookup profile), so Unicode domains work.
//
// # Mail
//
// [LookupMX] returns the mail exchangers of a domain as RFC 5321 section
// 5.1 orders them: by preference, equal preferences shuffled, capped in
// number, the implicit MX when there is none, and [ErrNullMX] for a null
// MX (RFC 7505). [LookupTargets] turns a domain into the ordered IP
// addresses to connect to, each tagged with its MX host name for TLS
// checks.
//
// [LookupPTR], [VerifyFCrDNS] and [CheckHELO] check a connecting client's
// reverse DNS, forward-confirmed (FCrDNS), and its EHLO name.
// [LookupDNSBL] asks DNS block and allow lists (RFC 5782) for an IPv4 or
// IPv6 address.
//
// # Testing
//
// Package [github.com/heraldmail/herald/dnsmx/dnstest] serves a zone on
// 127.0.0.1 over UDP and TCP with injectable timeouts, SERVFAIL and
// truncation, and hands back a Client pointed at it.
//
// # Standards
//
//   - RFC 1035: domain names, messages, zone files
//   - RFC 2181 section 10.3, RFC 5321 section 5.1: MX targets and CNAMEs
//   - RFC 2308: negative caching
//   - RFC 3596: IPv6 reverse names
//   - RFC 5452: answer matching against spoofing
//   - RFC 5782: DNS blocklists and allowlists
//   - RFC 5890, UTS #46: internationalized domain names
//   - RFC 6840 section 5.7: the AD bit
//   - RFC 6891: EDNS0
//   - RFC 7505: null MX
//   - RFC 7766: DNS over TCP
//   - RFC 8020: NXDOMAIN and empty non-terminals
package dnsmx
