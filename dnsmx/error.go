package dnsmx

import (
	"errors"
	"strconv"
	"strings"
)

// Category sentinels. Every error returned by this package, by [Client] and
// by [NetResolver] is an [*Error] that unwraps to exactly one of them, so
// callers test the category with errors.Is:
//
//	txt, err := r.LookupTXT(ctx, name)
//	switch {
//	case errors.Is(err, dnsmx.ErrNotFound), errors.Is(err, dnsmx.ErrNoData):
//		// the name or the record type does not exist (an SPF void lookup)
//	case errors.Is(err, dnsmx.ErrTemporary):
//		// SERVFAIL, timeout, network trouble: try again later
//	case err != nil:
//		// permanent for any other reason
//	}
//
// ErrNotFound, ErrNoData, ErrInvalidName, ErrCNAMELoop, ErrNullMX,
// ErrNoHosts and ErrBadListing are permanent; only ErrTemporary is worth a
// retry.
var (
	// ErrNotFound reports that the name does not exist (RCODE 3, NXDOMAIN).
	ErrNotFound = errors.New("dnsmx: no such domain")

	// ErrNoData reports that the name exists but holds no record of the
	// requested type (RCODE 0 with an empty answer, RFC 2308 section 2.2).
	ErrNoData = errors.New("dnsmx: no records of the requested type")

	// ErrTemporary reports a failure that may go away on a later attempt:
	// SERVFAIL or any RCODE other than 0 and 3 (RFC 7208 section 5), a
	// timeout, a network error, a malformed or mismatched answer, or the
	// caller's context ending.
	ErrTemporary = errors.New("dnsmx: temporary DNS failure")

	// ErrInvalidName reports a name that cannot be asked: empty labels,
	// a label over 63 octets, a name over 253 octets, control characters,
	// or a Unicode name that fails IDNA (RFC 5890, UTS #46).
	ErrInvalidName = errors.New("dnsmx: invalid domain name")

	// ErrCNAMELoop reports a CNAME chain that loops or is longer than the
	// configured limit ([ClientOptions].MaxCNAMEChain).
	ErrCNAMELoop = errors.New("dnsmx: CNAME chain loops or is too long")

	// ErrNullMX reports a domain that publishes a null MX (RFC 7505): it
	// accepts no mail. An SMTP server maps it to 556 5.1.10.
	ErrNullMX = errors.New("dnsmx: domain accepts no mail (null MX)")

	// ErrNoHosts reports MX records none of which is usable (for example
	// every target is an IP literal), RFC 5321 section 5.1, or an MX host
	// list that resolved to no address.
	ErrNoHosts = errors.New("dnsmx: no usable mail exchanger")
)

// RcodeNone is the [Error].Rcode of failures that did not come from a
// DNS answer (timeouts, bad names, network errors).
const RcodeNone = -1

// Error is the one error type of this package. It names the lookup, matches
// its category sentinel (Kind) with errors.Is and unwraps to the underlying
// cause, so both errors.Is(err, ErrTemporary) and errors.Is(err,
// context.DeadlineExceeded) work.
//
// Errors may be shared between callers (the cache hands out the same
// *Error for a cached negative answer); treat them as read-only.
type Error struct {
	// Op is what was asked, such as "lookup TXT" or "lookup MX".
	Op string
	// Name is the name asked, in its ASCII form when it was valid.
	Name string
	// Server is the DNS server that gave the final answer, if any.
	Server string
	// Rcode is the DNS response code, or RcodeNone.
	Rcode int
	// Kind is one of the package's category sentinels.
	Kind error
	// Err is the underlying cause, or nil.
	Err error
}

// Error returns a one-line description for logs. It is not meant for the
// SMTP wire.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if e.Name != "" {
		b.WriteByte(' ')
		b.WriteString(e.Name)
	}
	if e.Server != "" {
		b.WriteString(" on ")
		b.WriteString(e.Server)
	}
	b.WriteString(": ")
	b.WriteString(strings.TrimPrefix(kindOrDefault(e.Kind).Error(), "dnsmx: "))
	if e.Rcode > 0 {
		b.WriteString(" (rcode ")
		b.WriteString(rcodeName(e.Rcode))
		b.WriteByte(')')
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Is reports whether target is the error's category sentinel, so that
// errors.Is(err, ErrTemporary) works without allocating.
func (e *Error) Is(target error) bool { return target == kindOrDefault(e.Kind) }

// Unwrap returns the underlying cause, or nil.
func (e *Error) Unwrap() error { return e.Err }

// Temporary reports whether the failure may go away on a later attempt.
func (e *Error) Temporary() bool { return e.Kind == ErrTemporary }

// Timeout reports whether the failure was a timeout.
func (e *Error) Timeout() bool {
	var t interface{ Timeout() bool }
	return errors.As(e.Err, &t) && t.Timeout()
}

func kindOrDefault(k error) error {
	if k == nil {
		return ErrTemporary
	}
	return k
}

// IsTemporary reports whether err is a DNS failure worth retrying, that
// is whether errors.Is(err, ErrTemporary).
func IsTemporary(err error) bool { return errors.Is(err, ErrTemporary) }

// IsVoid reports whether err says that the name or the record type does
// not exist (ErrNotFound or ErrNoData): what RFC 7208 section 4.6.4 calls
// a void lookup.
func IsVoid(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, ErrNoData)
}

func rcodeName(rc int) string {
	switch rc {
	case 0:
		return "NOERROR"
	case 1:
		return "FORMERR"
	case 2:
		return "SERVFAIL"
	case 3:
		return "NXDOMAIN"
	case 4:
		return "NOTIMP"
	case 5:
		return "REFUSED"
	}
	return strconv.Itoa(rc)
}
