package dmarc

import (
	"strings"

	"golang.org/x/net/publicsuffix"

	"github.com/heraldmail/herald/dnsmx"
)

// OrganizationalDomain returns the organizational domain of domain (RFC 7489
// section 3.2): the public suffix it is under, found with the public suffix
// list compiled into golang.org/x/net/publicsuffix (private section
// included), plus one label. "a.b.example.co.uk" gives "example.co.uk". A
// domain that is itself a public suffix, or has a single label, is its own
// organizational domain. domain should be normalised (lower-case A-labels,
// no trailing dot, see [NormalizeDomain]).
//
// DMARCbis replaces the list with a walk up the DNS tree looking for psd=
// tags; this package keeps the list, which needs no queries.
func OrganizationalDomain(domain string) string {
	org, err := publicsuffix.EffectiveTLDPlusOne(domain)
	if err != nil {
		return domain
	}
	return org
}

// NormalizeDomain returns domain in the form DMARC compares domains in:
// lower-case A-labels without a trailing dot. A domain that is not a valid
// host name gives an [*Error] matching [ErrInvalidDomain]. ASCII domains
// that are already normal come back without allocating.
func NormalizeDomain(domain string) (string, error) {
	if isNormalASCII(domain) {
		return domain, nil
	}
	d, err := dnsmx.ParseDomain(domain)
	if err != nil {
		return "", &Error{Err: ErrInvalidDomain, Domain: domain, Cause: err}
	}
	return d.ASCII, nil
}

// isNormalASCII reports whether s is a lower-case LDH host name with labels
// of 1 to 63 octets, at most 253 octets, without a trailing dot, and no
// label starting with "xn--" (those go through IDNA for validation).
func isNormalASCII(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	label := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if label == 0 || s[i-1] == '-' {
				return false
			}
			label = 0
			continue
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '_':
		case c == '-':
			if label == 0 {
				return false
			}
		default:
			return false
		}
		label++
		if label > 63 {
			return false
		}
		if label == 4 && s[i-3:i+1] == "xn--" {
			return false
		}
	}
	return label > 0 && s[len(s)-1] != '-'
}

// normalizeLoose normalises a domain from an authentication result for
// comparison: like NormalizeDomain, but a domain that does not parse is
// lower-cased and stripped of a trailing dot, so that it still compares
// (and, being invalid, aligns with nothing valid).
func normalizeLoose(d string) string {
	if isNormalASCII(d) {
		return d
	}
	if n, err := NormalizeDomain(d); err == nil {
		return n
	}
	return strings.ToLower(strings.TrimSuffix(d, "."))
}

// Aligned reports whether the authenticated domain id aligns with the
// RFC5322.From domain from under mode (RFC 7489 section 3.1): in [Strict]
// mode the domains must be equal, in [Relaxed] mode their organizational
// domains must be. Both are compared without regard to case, a trailing
// dot or the Unicode/A-label form.
func Aligned(id, from string, mode Alignment) bool {
	id, from = normalizeLoose(id), normalizeLoose(from)
	return aligned(id, from, OrganizationalDomain(from), mode)
}

// aligned compares a normalised id with the normalised From domain whose
// organizational domain is fromOrg.
func aligned(id, from, fromOrg string, mode Alignment) bool {
	if id == "" {
		return false
	}
	if id == from {
		return true
	}
	if mode == Strict {
		return false
	}
	// Relaxed: a quick test first; the organizational domains can only be
	// equal when one domain ends with the other's organizational domain.
	if !strings.HasSuffix(id, fromOrg) {
		return false
	}
	return OrganizationalDomain(id) == fromOrg
}
