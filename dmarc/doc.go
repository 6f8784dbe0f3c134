// Package dmarc implements Domain-based Message Authentication, Reporting,
// and Conformance (RFC 7489): the DMARC record, policy discovery through the
// organizational domain, SPF and DKIM identifier alignment, the result and
// the disposition of a message, its Authentication-Results text, and
// aggregate reports. Where DMARCbis (RFC 9989) settles a question RFC 7489
// leaves open, it follows DMARCbis: tags in any order after v=, the np= tag
// for non-existent subdomains and the t= testing tag.
//
// # Evaluating a message
//
// The caller runs SPF (package spf) and its DKIM verifier first and passes
// their results as plain data in [Args], with the RFC5322.From domain that
// [FromDomain] extracts from the header:
//
//	from, err := dmarc.FromDomain(header)
//	if err != nil {
//		// no single From domain (RFC 7489 section 6.6.1): reject or skip
//	}
//	res, err := dmarc.Evaluate(ctx, resolver, dmarc.Args{
//		From: from,
//		SPF:  spfResult, // from spf.Check for MAIL FROM
//		DKIM: []dmarc.DKIMResult{{Domain: "example.com", Selector: "s1", Status: dmarc.DKIMPass}},
//	})
//	switch {
//	case res.Status == dmarc.TempError:
//		// 451 4.7.1, try again later
//	case res.Disposition == dmarc.Reject:
//		// 550 5.7.1 rejected by the domain's DMARC policy
//	case res.Disposition == dmarc.Quarantine:
//		// deliver to the spam folder
//	}
//	hdr := "Authentication-Results: mx.example.org; " + dmarc.AuthenticationResults(res)
//
// Every outcome is a [Status] in [Result]; DNS failures and broken records
// included; the error result only reports a nil resolver or an ended
// context. [EvaluatePolicy] does the same without DNS for a [Policy] found
// earlier with [LookupPolicy].
//
// # What is implemented
//
//   - RFC 7489 section 6.3 and 6.4: [ParseRecord] reads every tag (v, p,
//     sp, np, pct, t, adkim, aspf, rua, ruf with the !size suffix, fo, rf,
//     ri). Unknown tags are ignored; an invalid value falls back to the
//     default and is listed in Record.Ignored with the tag and the reason;
//     a repeated tag keeps its first value.
//   - Section 6.6.3: policy discovery at _dmarc.<From domain>, then at
//     _dmarc.<organizational domain>; TXT records not starting with
//     v=DMARC1 are ignored; several v=DMARC1 records make none apply
//     (permerror); a record without a valid p= (or with an invalid sp=) is
//     unusable (permerror) unless its rua= has a valid URI, in which case
//     it reads as p=none; a DNS failure is temperror, with no fallback to
//     the organizational domain.
//   - Section 3.2: the organizational domain from the public suffix list
//     of golang.org/x/net/publicsuffix ([OrganizationalDomain]), not the
//     DNS tree walk of DMARCbis.
//   - Section 3.1: relaxed and strict alignment of the SPF domain and of
//     each DKIM signing domain ([Aligned]).
//   - Section 6.6.2 and 6.6.4: pass, fail, and the policy that applies: p=
//     at the record's own domain, sp= for its subdomains, np= for
//     subdomains that do not exist (DMARCbis, from RFC 9091: no A, AAAA or
//     MX record; Args.FromExists may say so, otherwise [Evaluate] looks it
//     up only when it matters). pct= sampling uses an injectable [Rand];
//     messages sampled out get the next less strict policy (RFC 7489
//     section 6.6.4). Under t=y (DMARCbis) the policy is not applied at
//     all: the disposition is none, and the message is reported as
//     sampled_out.
//   - A record without a valid p= follows RFC 7489 (unusable unless rua=
//     is valid), not DMARCbis, which reads a missing p= as p=none even
//     without rua=; the disposition is none either way.
//   - Temperror also when an aligned SPF or DKIM check failed temporarily
//     and nothing aligned passed, so the receiver retries instead of
//     rejecting on a transient failure.
//   - Section 11.2 and RFC 8601: [AuthenticationResults].
//   - Section 6.6.1: [FromDomain], with DMARCbis's rule for a From field
//     of several mailboxes: usable when they all have the same domain.
//   - Section 7.2 and appendix C: [Aggregator] collects a period's results
//     per policy domain into [Report] values, which write the appendix C
//     XML ([Report.WriteXML]), gzip'ed ([Report.WriteGzip]) under the name
//     of section 7.2.1.1 ([Report.FileName]), and the report message
//     ([Report.WriteMessage]); section 7.1 verification of third-party
//     report addresses is [VerifyDestination] and [Report.Destinations].
//   - For a mail server, [Collector] does what Aggregator does over
//     reporting periods of one UTC day, kept in an append log with
//     checksums in a directory so that a restart or a crash loses nothing,
//     and returns each finished day's reports ([Collector.Finished]), also
//     those of a day that ended while the server was down.
//     [ReportMessages] writes their messages for the destinations that
//     section 7.1 allows and whose "!size" limit the report fits, logging
//     each one left out.
//
// Failure reports (ruf=, RFC 7489 section 7.3) are parsed but not
// generated.
//
// # Limits and hostile input
//
// Records come from DNS and headers from strangers. [Limits] bounds the
// record size ([DefaultMaxRecordBytes]), the URIs kept per tag
// ([DefaultMaxURIs]), the DKIM results looked at per message
// ([DefaultMaxDKIMResults]) and what an Aggregator or a Collector holds
// ([DefaultMaxReportRows] rows per report, [DefaultMaxReportDomains]
// domains, and for a Collector [DefaultMaxCollectorRows] rows in all). A
// Collector's log lines are at most 16 KiB and checksummed; a corrupt one
// is skipped. Parsing is linear in its input, never panics, and text from DNS
// is escaped before it goes into an error message.
//
// # Concurrency
//
// Evaluate, EvaluatePolicy and LookupPolicy keep their state in the call
// and are safe for concurrent use as long as the resolver and Args.Rand
// are. An Aggregator and a Collector are safe for concurrent use.
package dmarc
