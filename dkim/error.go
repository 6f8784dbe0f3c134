package dkim

import (
	"errors"
	"strings"
)

// Category sentinels. An [*Error] unwraps to exactly one of them, so callers
// test the category with errors.Is.
var (
	// ErrSyntax: a DKIM-Signature field or a key record breaks the tag-list
	// grammar of RFC 6376 section 3.2, or a tag value its own grammar.
	ErrSyntax = errors.New("dkim: syntax error")
	// ErrMissingTag: a tag that RFC 6376 section 3.5 requires is absent.
	ErrMissingTag = errors.New("dkim: required tag missing")
	// ErrVersion: the signature is not v=1, or the key record not
	// v=DKIM1.
	ErrVersion = errors.New("dkim: unsupported version")
	// ErrAlgorithm: the signing algorithm is unknown or refused. rsa-sha1
	// is refused as RFC 8301 section 3.1 requires.
	ErrAlgorithm = errors.New("dkim: unsupported algorithm")
	// ErrCanonicalization: the c= tag names an unknown canonicalization.
	ErrCanonicalization = errors.New("dkim: unknown canonicalization")
	// ErrFromNotSigned: the h= tag does not list From (RFC 6376 section
	// 5.4).
	ErrFromNotSigned = errors.New("dkim: From is not signed")
	// ErrIdentity: the i= domain is neither d= nor a subdomain of it, or,
	// for a key with t=s, not d= exactly (RFC 6376 section 3.5).
	ErrIdentity = errors.New("dkim: i= does not match d=")
	// ErrExpired: the signature's x= time has passed.
	ErrExpired = errors.New("dkim: signature expired")
	// ErrFuture: the signature's t= time lies in the future.
	ErrFuture = errors.New("dkim: signature timestamp in the future")
	// ErrNoKey: there is no key record at the selector (NXDOMAIN or no TXT
	// record), or more than one.
	ErrNoKey = errors.New("dkim: no key for signature")
	// ErrKeyRevoked: the key record has an empty p= tag.
	ErrKeyRevoked = errors.New("dkim: key revoked")
	// ErrKeySyntax: the key record cannot be parsed or its key decoded.
	ErrKeySyntax = errors.New("dkim: invalid key record")
	// ErrKeyUnsuitable: the key record does not allow this signature: its
	// k= differs from the algorithm, its h= does not list the hash, its
	// s= does not include email.
	ErrKeyUnsuitable = errors.New("dkim: key unsuitable for signature")
	// ErrKeyTooShort: an RSA key of fewer than MinRSABits bits (RFC 8301
	// section 3.2), or longer than Limits.MaxRSABits.
	ErrKeyTooShort = errors.New("dkim: RSA key size refused")
	// ErrDNS: the key lookup failed for a reason that may be temporary.
	ErrDNS = errors.New("dkim: DNS lookup failed")
	// ErrBodyHash: the body hash does not match the bh= tag.
	ErrBodyHash = errors.New("dkim: body hash did not verify")
	// ErrSignature: the b= signature does not verify with the key.
	ErrSignature = errors.New("dkim: signature did not verify")
	// ErrBodyLength: the body is shorter than the l= tag says.
	ErrBodyLength = errors.New("dkim: body shorter than l=")
	// ErrTooManySignatures: the message has more signatures than
	// Limits.Signatures; the others are not verified.
	ErrTooManySignatures = errors.New("dkim: too many signatures")
	// ErrTooManyLookups: verifying would need more key lookups than
	// Limits.Lookups.
	ErrTooManyLookups = errors.New("dkim: too many key lookups")
	// ErrTooLarge: a signature field, a key record or the header section is
	// longer than its limit.
	ErrTooLarge = errors.New("dkim: input too large")
	// ErrSigner: a [Signer] cannot sign: no key, an unsupported key type,
	// a bad domain or selector.
	ErrSigner = errors.New("dkim: invalid signer")
)

// Error describes why a signature did not pass, or why signing or parsing
// failed. Result.Err holds one; it never carries the [Status] itself.
type Error struct {
	// Err is the category sentinel, such as ErrBodyHash or ErrNoKey.
	Err error
	// Tag is the tag whose value is at fault ("a", "x", "p"), when there is
	// one.
	Tag string
	// Detail says what exactly is wrong, in English.
	Detail string
	// Cause is the underlying error (a DNS error), or nil.
	Cause error
}

// Error returns a one-line description. It may contain text from the
// message or from DNS, escaped, and is meant for logs.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString("dkim: error")
	}
	if e.Tag != "" {
		b.WriteString(" in tag ")
		b.WriteString(quote(e.Tag))
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

// Reason returns the short reason for an Authentication-Results reason=
// property: the sentinel's text without the package prefix, and no text
// from the message or DNS.
func (e *Error) Reason() string {
	if e.Err == nil {
		return "error"
	}
	return strings.TrimPrefix(e.Err.Error(), "dkim: ")
}

func errorf(kind error, tag, detail string) *Error {
	return &Error{Err: kind, Tag: tag, Detail: detail}
}

// quote bounds and escapes text taken from a message or DNS for an error
// message.
func quote(s string) string {
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
