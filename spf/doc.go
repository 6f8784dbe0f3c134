// Package spf implements the Sender Policy Framework: the check_host()
// function of RFC 7208 that tells a receiving MTA whether the SMTP client's
// IP address may send mail for the MAIL FROM domain or the HELO name.
//
// # Checking
//
// [Check] takes a [dnsmx.Resolver] and the [Args] of one check (client IP,
// MAIL FROM, HELO, the identity to check, the receiver's name and the
// current time) and returns a [Result]:
//
//	res, err := spf.Check(ctx, resolver, spf.Args{
//		IP:       clientIP,
//		Sender:   "alice@example.com",
//		HELO:     "mail.example.com",
//		Receiver: "mx.example.org",
//	})
//	if err != nil {
//		// only a nil resolver, an invalid IP or ctx ending
//	}
//	switch res.Status {
//	case spf.Fail:
//		// 550 5.7.23 with res.Explanation, which is safe for the reply
//	case spf.TempError:
//		// 451 4.7.24; res.Problem says why
//	}
//
// Every outcome of the evaluation, DNS failures and broken records
// included, is a [Status]; the error result never carries one. Result also
// names the matching mechanism and, for Fail, the explanation.
//
// # What is implemented
//
//   - RFC 7208 section 4: check_host() with initial processing (malformed
//     or single-label domains and domain literals give none), record lookup
//     over TXT only, record selection (several records are a permerror)
//     and evaluation in order.
//   - Section 5: all mechanisms (all, include, a, mx, ptr, ip4, ip6,
//     exists) with qualifiers and dual CIDR lengths; IPv4-mapped IPv6
//     clients are checked as IPv4.
//   - Section 6: redirect= and exp=, each at most once; unknown modifiers
//     are checked for syntax and otherwise ignored.
//   - Section 7: macros, every letter (s l o d i p h c r t v) and
//     transformer (digits, reversal, delimiters), upper-case letters
//     URL-escaped, the escapes %%, %_ and %-; c, r and t only in
//     explanations; %{p} from validated PTR names; expanded names longer
//     than 253 octets are cut from the left.
//   - Section 4.6.4: the limits of 10 DNS-querying terms, 2 void lookups
//     and 10 names per mx or ptr, overridable in [Limits].
//   - Section 2.3 and 2.4: the HELO identity ([IdentityHELO]) and the null
//     reverse-path, checked as postmaster@ the HELO name.
//   - Section 6.2 and 8.4: explanations, expanded and made safe for an SMTP
//     reply (printable ASCII, at most Limits.Explanation octets).
//   - Section 9.1: the Received-SPF header field ([ReceivedSPF]), and RFC
//     8601 section 2.7.2: the spf method of Authentication-Results
//     ([AuthenticationResults]).
//
// The package passes every case of the openspf test suites for RFC 7208
// and RFC 4408; where RFC 7208 changed a rule, it follows RFC 7208. Over
// DNS, one case (a macro that expands to a name with spaces) also needs a
// resolver that can ask such names, which [dnsmx.Client] does not yet.
//
// # Limits and hostile records
//
// Records come from DNS and are untrusted. Parsing is linear in the record,
// macro expansion is bounded to 8 KiB per string, every DNS-querying term
// counts against Limits.DNSTerms across include and redirect, and lookups
// that find nothing count against Limits.VoidLookups, so one check costs
// at most a few dozen DNS queries whatever the records say. Text from DNS
// and from the SMTP client is never put into an explanation or header
// field without being made safe first.
//
// # Concurrency
//
// Check keeps all its state in the call; it is safe for concurrent use as
// long as the Resolver is. A caching resolver such as [dnsmx.Client] makes
// repeated checks cheap.
package spf
