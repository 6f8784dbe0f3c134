package dmarc

import (
	"errors"
	"strings"
)

// Category sentinels. An [*Error] unwraps to exactly one of them, so callers
// test the category with errors.Is.
var (
	// ErrSyntax: a DMARC record breaks the grammar of RFC 7489 section
	// 6.4 in a way that makes it unusable (no v=DMARC1 tag first, a
	// malformed tag list, no valid p= and no valid rua=).
	ErrSyntax = errors.New("dmarc: syntax error")
	// ErrNoRecord: policy discovery found no DMARC record for the From
	// domain or its organizational domain (RFC 7489 section 6.6.3).
	ErrNoRecord = errors.New("dmarc: no DMARC record")
	// ErrMultipleRecords: a _dmarc name holds more than one record
	// starting with v=DMARC1; none of them applies (RFC 7489 section
	// 6.6.3, step 5).
	ErrMultipleRecords = errors.New("dmarc: more than one DMARC record")
	// ErrDNS: a DNS lookup failed for a reason other than a missing name
	// or missing data (SERVFAIL, timeout); the result is temperror.
	ErrDNS = errors.New("dmarc: DNS lookup failed")
	// ErrTooLong: a record, a URI list or a value exceeds a [Limits]
	// bound.
	ErrTooLong = errors.New("dmarc: input too long")
	// ErrInvalidDomain: a domain is not a valid domain name.
	ErrInvalidDomain = errors.New("dmarc: invalid domain")
	// ErrInvalidArgs: the call cannot be done as asked (a nil resolver).
	ErrInvalidArgs = errors.New("dmarc: invalid arguments")
)

// Sentinels for the RFC5322.From rules of RFC 7489 section 6.6.1, returned
// by [FromDomain].
var (
	// ErrNoFrom: the header has no From field.
	ErrNoFrom = errors.New("dmarc: no From field")
	// ErrMultipleFrom: the header has more than one From field (RFC 5322
	// section 3.6 allows exactly one).
	ErrMultipleFrom = errors.New("dmarc: more than one From field")
	// ErrFromSyntax: the From field is not a valid address list.
	ErrFromSyntax = errors.New("dmarc: From field does not parse")
	// ErrNoAuthor: the From field holds no mailbox.
	ErrNoAuthor = errors.New("dmarc: From field holds no address")
	// ErrMultipleAuthors: the From field holds more than one mailbox.
	ErrMultipleAuthors = errors.New("dmarc: From field holds several addresses")
	// ErrGroup: the From field uses group syntax.
	ErrGroup = errors.New("dmarc: From field uses group syntax")
	// ErrNoDomain: the From address has no domain, a domain literal, or
	// a domain that is not a valid domain name.
	ErrNoDomain = errors.New("dmarc: From address has no usable domain")
)

// Error describes why a record failed to parse, why policy discovery found
// no usable record, why a tag was ignored, or why no From domain could be
// extracted. It never carries the DMARC result itself.
type Error struct {
	// Err is the category sentinel, such as ErrSyntax or ErrDNS.
	Err error
	// Domain is the domain whose record or lookup caused the error, when
	// known.
	Domain string
	// Tag is the tag of the record the error is about ("p", "rua"), when
	// there is one.
	Tag string
	// Detail says what exactly is wrong, in English.
	Detail string
	// Cause is the underlying error (a DNS or address parsing error), or
	// nil.
	Cause error
}

// Error returns a one-line description. It may contain text from DNS or
// from the message and must not be sent to an SMTP client as is.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString("dmarc: error")
	}
	if e.Domain != "" {
		b.WriteString(" for ")
		b.WriteString(quoteText(e.Domain, 253))
	}
	if e.Tag != "" {
		b.WriteString(" in tag ")
		b.WriteString(quoteText(e.Tag, 32))
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if e.Cause != nil {
		b.WriteString(": ")
		b.WriteString(e.Cause.Error())
	}
	return b.String()
}

// Unwrap returns the category sentinel and, when there is one, the cause.
func (e *Error) Unwrap() []error {
	if e.Cause != nil {
		return []error{e.Err, e.Cause}
	}
	return []error{e.Err}
}

// quoteText bounds s to max octets and escapes what is not printable
// ASCII, for text from DNS or a message put into an error message. Text
// that needs nothing is returned as is.
func quoteText(s string, max int) string {
	clean := len(s) <= max
	for i := 0; clean && i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			clean = false
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if i == max {
			b.WriteString("...")
			break
		}
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			const hex = "0123456789abcdef"
			b.WriteString(`\x`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		b.WriteByte(c)
	}
	b.WriteByte('"')
	return b.String()
}

func tagError(tag, detail string) *Error {
	return &Error{Err: ErrSyntax, Tag: tag, Detail: detail}
}
