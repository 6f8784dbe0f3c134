package spf

import (
	"errors"
	"strings"
)

// Category sentinels. An [*Error] unwraps to exactly one of them, so callers
// test the category with errors.Is.
var (
	// ErrSyntax: a record, a domain-spec or a macro-string breaks the ABNF
	// of RFC 7208 section 12, or uses a macro letter where it is not allowed.
	ErrSyntax = errors.New("spf: syntax error")
	// ErrMultipleRecords: a domain publishes more than one SPF record
	// (RFC 7208 section 4.5).
	ErrMultipleRecords = errors.New("spf: more than one SPF record")
	// ErrNoRecord: the target of an include mechanism or a redirect
	// modifier has no SPF record (RFC 7208 sections 5.2 and 6.1).
	ErrNoRecord = errors.New("spf: no SPF record at include or redirect target")
	// ErrTooManyDNSTerms: more DNS-querying terms than Limits.DNSTerms
	// (RFC 7208 section 4.6.4).
	ErrTooManyDNSTerms = errors.New("spf: too many DNS-querying terms")
	// ErrTooManyVoidLookups: more lookups with empty answers than
	// Limits.VoidLookups (RFC 7208 section 4.6.4).
	ErrTooManyVoidLookups = errors.New("spf: too many void DNS lookups")
	// ErrTooManyMXNames: an mx mechanism named more hosts than
	// Limits.MXNames (RFC 7208 section 4.6.4).
	ErrTooManyMXNames = errors.New("spf: too many MX names")
	// ErrDNS: a DNS lookup failed for a reason other than a missing name or
	// missing data, such as a timeout or a server failure.
	ErrDNS = errors.New("spf: DNS lookup failed")
	// ErrInvalidArgs: the Args passed to Check cannot be evaluated (no
	// valid client IP address, or an unknown Identity).
	ErrInvalidArgs = errors.New("spf: invalid arguments")
)

// Error describes why an evaluation ended in [TempError] or [PermError], or
// why a record failed to parse. It is found in Result.Problem and returned by
// [ParseRecord]; it never carries the SPF result itself.
type Error struct {
	// Err is the category sentinel, such as ErrSyntax or ErrDNS.
	Err error
	// Domain is the domain whose record or lookup caused the error, when
	// known.
	Domain string
	// Term is the offending term of the record, when there is one.
	Term string
	// Detail says what exactly is wrong, in English.
	Detail string
	// Cause is the underlying error (a DNS error), or nil.
	Cause error
}

// Error returns a one-line description. It may contain text from DNS and
// must not be sent to an SMTP client as is.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString("spf: error")
	}
	if e.Domain != "" {
		b.WriteString(" for ")
		b.WriteString(e.Domain)
	}
	if e.Term != "" {
		b.WriteString(" in term ")
		b.WriteString(quoteTerm(e.Term))
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

// quoteTerm bounds and escapes a term taken from DNS for use in an error
// message.
func quoteTerm(s string) string {
	const max = 64
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

func syntaxError(term, detail string) *Error {
	return &Error{Err: ErrSyntax, Term: term, Detail: detail}
}
