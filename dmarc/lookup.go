package dmarc

import (
	"context"
	"errors"
	"net/netip"

	"github.com/heraldmail/herald/dnsmx"
)

// Policy is what policy discovery found for a From domain (RFC 7489 section
// 6.6.3).
type Policy struct {
	// FromDomain is the RFC5322.From domain, normalised.
	FromDomain string
	// OrgDomain is its organizational domain.
	OrgDomain string
	// Domain is where the record was found: FromDomain, or OrgDomain
	// when the From domain has none. It is the policy domain of
	// aggregate reports. Empty when Record is nil.
	Domain string
	// Record is the record that applies, or nil.
	Record *Record
}

// Subdomain reports whether the record came from the organizational domain
// of a From domain below it, so that sp= and np= apply rather than p=.
func (p Policy) Subdomain() bool {
	return p.Record != nil && p.Domain != p.FromDomain
}

// LookupPolicy runs policy discovery for fromDomain (RFC 7489 section 6.6.3):
//
//  1. It asks r for the TXT records of _dmarc.<fromDomain> and keeps those
//     that start with v=DMARC1 ([IsDMARCRecord]).
//  2. If none is left, it does the same at _dmarc.<organizational domain>,
//     found with [OrganizationalDomain], unless that is fromDomain itself.
//  3. More than one record at the name asked is an error matching
//     [ErrMultipleRecords]: none of them applies, and discovery does not go
//     on to the organizational domain.
//  4. The record is parsed with [ParseRecord] under lim (nil means the
//     defaults); a parse error is returned as such (ErrSyntax,
//     ErrTooLong).
//
// No record at either name is an error matching [ErrNoRecord]; a
// temporary DNS failure (dnsmx.ErrTemporary, see [dnsmx.Resolver]) is one
// matching [ErrDNS] with the DNS error as cause, and so matching
// dnsmx.ErrTemporary too. Permanent DNS failures other than NXDOMAIN and
// NODATA (a _dmarc name too long to ask, a CNAME loop) count as no record
// at that name. An invalid fromDomain gives ErrInvalidDomain.
// The Policy returned with an error still holds FromDomain and OrgDomain
// when they are known; with ErrSyntax or ErrTooLong it also holds Domain.
func LookupPolicy(ctx context.Context, r dnsmx.Resolver, fromDomain string, lim *Limits) (Policy, error) {
	if r == nil {
		return Policy{}, &Error{Err: ErrInvalidArgs, Detail: "nil resolver"}
	}
	from, err := NormalizeDomain(fromDomain)
	if err != nil {
		return Policy{}, err
	}
	p := Policy{FromDomain: from, OrgDomain: OrganizationalDomain(from)}
	txt, err := lookupDMARC(ctx, r, from)
	if err != nil {
		return p, err
	}
	domain := from
	if len(txt) == 0 && p.OrgDomain != from {
		domain = p.OrgDomain
		if txt, err = lookupDMARC(ctx, r, domain); err != nil {
			return p, err
		}
	}
	switch len(txt) {
	case 0:
		return p, &Error{Err: ErrNoRecord, Domain: from}
	case 1:
	default:
		return p, &Error{Err: ErrMultipleRecords, Domain: domain, Detail: "none of them applies"}
	}
	rec, err := ParseRecord(txt[0], lim)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.Domain = domain
		}
		p.Domain = domain
		return p, err
	}
	p.Domain, p.Record = domain, rec
	return p, nil
}

// lookupDMARC returns the TXT records at _dmarc.<domain> that start with
// v=DMARC1. Only a temporary DNS failure is an error.
func lookupDMARC(ctx context.Context, r dnsmx.Resolver, domain string) ([]string, error) {
	txt, err := r.LookupTXT(ctx, "_dmarc."+domain)
	if err != nil {
		if !dnsmx.IsTemporary(err) {
			// NXDOMAIN, NODATA, and the permanent failures (a name
			// too long to ask once _dmarc. is added, a CNAME loop):
			// there is no record to find here.
			return nil, nil
		}
		return nil, &Error{Err: ErrDNS, Domain: "_dmarc." + domain, Cause: err}
	}
	// The resolver's slice may be shared with its cache: copy.
	var out []string
	for _, t := range txt {
		if IsDMARCRecord(t) {
			out = append(out, t)
		}
	}
	return out, nil
}

// lookupExistence asks whether domain has A, AAAA or MX records (RFC 9091
// section 2.7). A temporary DNS failure is an error matching ErrDNS; a
// permanent one (NXDOMAIN, NODATA, a CNAME loop) counts as no record.
func lookupExistence(ctx context.Context, r dnsmx.Resolver, domain string) (Existence, error) {
	var addrs []netip.Addr
	addrs, err := r.LookupNetIP(ctx, "ip", domain)
	if err == nil && len(addrs) > 0 {
		return DomainExists, nil
	}
	if err != nil && dnsmx.IsTemporary(err) {
		return ExistenceUnknown, &Error{Err: ErrDNS, Domain: domain, Detail: "looking up A/AAAA for np=", Cause: err}
	}
	mx, err := r.LookupMX(ctx, domain)
	if err == nil && len(mx) > 0 {
		return DomainExists, nil
	}
	if err != nil && dnsmx.IsTemporary(err) {
		return ExistenceUnknown, &Error{Err: ErrDNS, Domain: domain, Detail: "looking up MX for np=", Cause: err}
	}
	return DomainMissing, nil
}
