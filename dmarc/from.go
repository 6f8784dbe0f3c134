package dmarc

import (
	"strconv"
	"strings"

	"github.com/heraldmail/herald/message"
)

// FromDomain extracts the RFC5322.From domain of a message header with the
// rules of RFC 7489 section 6.6.1: the header must have exactly one From
// field, holding one mailbox whose domain is a valid domain name. Several
// mailboxes are accepted when they all have the same domain, as DMARCbis
// settles it ("only proceed with DMARC checking if the domain is identical
// for all addresses"). The domain is returned normalised (lower-case
// A-labels, no trailing dot).
//
// Otherwise the error, an [*Error], says why: [ErrNoFrom], [ErrMultipleFrom]
// (several From fields), [ErrFromSyntax] (the field is not an address list;
// parsed strictly, with RFC 5322's obsolete syntax allowed), [ErrGroup]
// (group syntax, "undisclosed-recipients:;" included), [ErrNoAuthor] (an
// empty list), [ErrMultipleAuthors] (mailboxes of different domains,
// which DMARCbis exempts from DMARC), or [ErrNoDomain] (a
// mailbox without a domain, a domain literal, a single-label domain, or
// an invalid domain).
//
// The caller decides what a message without a usable From domain deserves;
// RFC 7489 section 6.6.1 suggests rejecting it, as it cannot be evaluated.
func FromDomain(h *message.Header) (string, error) {
	var value string
	n := 0
	for _, f := range h.All() {
		if equalFold(f.Name(), "From") {
			if n++; n > 1 {
				return "", &Error{Err: ErrMultipleFrom}
			}
			value = f.Value()
		}
	}
	if n == 0 {
		return "", &Error{Err: ErrNoFrom}
	}
	list, err := message.ParseAddressList(value)
	if err != nil {
		return "", &Error{Err: ErrFromSyntax, Cause: err}
	}
	if len(list) == 0 {
		return "", &Error{Err: ErrNoAuthor}
	}
	for _, a := range list {
		if a.Group {
			return "", &Error{Err: ErrGroup, Detail: "group " + quoteText(a.Name, 64)}
		}
	}
	var domain string
	for _, a := range list {
		d, err := mailboxDomain(a)
		if err != nil {
			return "", err
		}
		if domain != "" && d != domain {
			return "", &Error{Err: ErrMultipleAuthors, Detail: "the field holds " + strconv.Itoa(len(list)) + " mailboxes of different domains"}
		}
		domain = d
	}
	return domain, nil
}

// mailboxDomain returns the normalised domain of one mailbox.
func mailboxDomain(a message.Address) (string, error) {
	d := a.Domain()
	switch {
	case d == "":
		return "", &Error{Err: ErrNoDomain, Detail: "mailbox " + quoteText(a.Addr, 64) + " has no domain"}
	case strings.HasPrefix(d, "["):
		return "", &Error{Err: ErrNoDomain, Detail: "domain literal " + quoteText(d, 64)}
	}
	norm, err := NormalizeDomain(d)
	if err != nil {
		return "", &Error{Err: ErrNoDomain, Detail: "invalid domain " + quoteText(d, 64), Cause: err}
	}
	if strings.IndexByte(norm, '.') < 0 {
		return "", &Error{Err: ErrNoDomain, Detail: "single-label domain " + quoteText(d, 64)}
	}
	return norm, nil
}
