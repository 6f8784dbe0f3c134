package dkim

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// Algorithm is a signing algorithm of the a= tag.
type Algorithm uint8

// The algorithms this package signs and verifies. rsa-sha1, the other
// algorithm of RFC 6376, is refused as RFC 8301 section 3.1 requires.
const (
	// RSASHA256 is rsa-sha256, RSASSA-PKCS1-v1_5 over SHA-256 (RFC 6376
	// section 3.3.1).
	RSASHA256 Algorithm = iota + 1
	// Ed25519SHA256 is ed25519-sha256, PureEdDSA Ed25519 over the SHA-256
	// hash of the signed data (RFC 8463 section 3).
	Ed25519SHA256
)

// String returns the algorithm's a= name.
func (a Algorithm) String() string {
	switch a {
	case RSASHA256:
		return "rsa-sha256"
	case Ed25519SHA256:
		return "ed25519-sha256"
	}
	return "invalid"
}

// keyType is the k= name of the algorithm's key type.
func (a Algorithm) keyType() string {
	if a == Ed25519SHA256 {
		return "ed25519"
	}
	return "rsa"
}

// Canonicalization is a canonicalization algorithm of the c= tag (RFC 6376
// section 3.4). The zero value is Relaxed, the default of [Signer]; a
// signature without c= means simple for both header and body.
type Canonicalization uint8

// The two canonicalization algorithms of RFC 6376 section 3.4.
const (
	// Relaxed tolerates common changes in transit: header field names in
	// lower case, runs of white space as one space, folding undone, white
	// space at line ends removed.
	Relaxed Canonicalization = iota
	// Simple tolerates almost no change: only empty lines at the end of the
	// body are ignored.
	Simple
)

// String returns "relaxed" or "simple".
func (c Canonicalization) String() string {
	if c == Simple {
		return "simple"
	}
	return "relaxed"
}

// Signature is a parsed DKIM-Signature header field (RFC 6376 section
// 3.5).
type Signature struct {
	// Algorithm is the a= tag.
	Algorithm Algorithm
	// Domain is the d= tag, the signing domain (SDID).
	Domain string
	// Selector is the s= tag.
	Selector string
	// Identity is the i= tag, the agent or user identifier (AUID); it is
	// "@" and Domain when the tag is absent.
	Identity string
	// Headers is the h= tag: the names of the signed header fields as
	// written, in order, a name listed more often than present signing the
	// absence of further fields of that name.
	Headers []string
	// HeaderCanon and BodyCanon are the c= tag; absent, both are Simple.
	HeaderCanon, BodyCanon Canonicalization
	// BodyHash is the decoded bh= tag.
	BodyHash []byte
	// Value is the decoded b= tag, the signature.
	Value []byte
	// B is the b= tag as written, white space removed, for
	// Authentication-Results header.b.
	B string
	// BodyLength is the l= tag, the number of canonicalized body octets
	// signed, or -1 when the whole body is signed.
	BodyLength int64
	// Timestamp is the t= tag and Expiration the x= tag; each is the zero
	// time when absent.
	Timestamp, Expiration time.Time
}

// Limits of tag values.
const (
	maxDomainLength = 253
	// maxHeaderNames bounds the h= list.
	maxHeaderNames = 256
)

// ParseSignature parses the value of a DKIM-Signature header field, the
// text after the colon with its folding. It checks every rule of RFC 6376
// section 3.5 that needs no key and no clock: the required tags v, a, b,
// bh, d, h and s; v=1; an algorithm this package accepts; c= and q=
// values; From in h=; and i= at d= or below. Its errors are [*Error]
// values.
func ParseSignature(value string) (*Signature, error) {
	tags, err := parseTagList(value)
	if err != nil {
		return nil, err
	}
	s := &Signature{BodyLength: -1}
	var have [128]bool
	for _, t := range tags {
		if len(t.name) == 1 || t.name == "bh" {
			c := t.name[0]
			if t.name == "bh" {
				c = 'H'
			}
			have[c] = true
		}
		v := t.value
		switch t.name {
		case "v":
			if v != "1" {
				return nil, errorf(ErrVersion, "v", "signature version "+quote(v)+", want 1")
			}
		case "a":
			switch strings.ToLower(v) {
			case "rsa-sha256":
				s.Algorithm = RSASHA256
			case "ed25519-sha256":
				s.Algorithm = Ed25519SHA256
			case "rsa-sha1":
				return nil, errorf(ErrAlgorithm, "a", "rsa-sha1 is refused (RFC 8301 section 3.1)")
			default:
				return nil, errorf(ErrAlgorithm, "a", "unknown algorithm "+quote(v))
			}
		case "b":
			s.B = removeFWS(v)
			if s.Value, err = decodeBase64(s.B); err != nil || len(s.Value) == 0 {
				return nil, errorf(ErrSyntax, "b", "invalid base64")
			}
		case "bh":
			if s.BodyHash, err = decodeBase64(removeFWS(v)); err != nil || len(s.BodyHash) == 0 {
				return nil, errorf(ErrSyntax, "bh", "invalid base64")
			}
		case "c":
			h, b, _ := strings.Cut(v, "/")
			var ok1, ok2 bool
			s.HeaderCanon, ok1 = parseCanon(h)
			s.BodyCanon, ok2 = parseCanon(b)
			if !strings.Contains(v, "/") {
				s.BodyCanon, ok2 = Simple, true
			}
			if !ok1 || !ok2 {
				return nil, errorf(ErrCanonicalization, "c", "unknown canonicalization "+quote(v))
			}
		case "d":
			if !isDomain(v) {
				return nil, errorf(ErrSyntax, "d", "invalid domain "+quote(v))
			}
			s.Domain = v
		case "h":
			if s.Headers, err = parseHeaderList(v); err != nil {
				return nil, err
			}
		case "i":
			at := strings.LastIndexByte(v, '@')
			if at < 0 || !isDomain(v[at+1:]) {
				return nil, errorf(ErrSyntax, "i", "invalid identity "+quote(v))
			}
			s.Identity = v
		case "l":
			n, ok := parseDigits(v, 76)
			if !ok {
				return nil, errorf(ErrSyntax, "l", "invalid body length "+quote(v))
			}
			s.BodyLength = n
		case "q":
			ok := false
			for _, m := range strings.Split(v, ":") {
				m = trimFWS(m)
				if equalFold(m, "dns/txt") || equalFold(m, "dns") {
					ok = true
				}
			}
			if !ok {
				return nil, errorf(ErrSyntax, "q", "no supported query method in "+quote(v))
			}
		case "s":
			if !isSelector(v) {
				return nil, errorf(ErrSyntax, "s", "invalid selector "+quote(v))
			}
			s.Selector = v
		case "t", "x":
			n, ok := parseDigits(v, 12)
			if !ok {
				return nil, errorf(ErrSyntax, t.name, "invalid time "+quote(v))
			}
			if t.name == "t" {
				s.Timestamp = time.Unix(n, 0).UTC()
			} else {
				s.Expiration = time.Unix(n, 0).UTC()
			}
		}
	}
	for _, req := range []struct {
		c    byte
		name string
	}{{'v', "v"}, {'a', "a"}, {'b', "b"}, {'H', "bh"}, {'d', "d"}, {'h', "h"}, {'s', "s"}} {
		if !have[req.c] {
			return nil, errorf(ErrMissingTag, req.name, "")
		}
	}
	from := false
	for _, h := range s.Headers {
		if equalFold(h, "From") {
			from = true
		}
	}
	if !from {
		return nil, errorf(ErrFromNotSigned, "h", "")
	}
	if s.Identity == "" {
		s.Identity = "@" + s.Domain
	} else if !isSubdomain(s.IdentityDomain(), s.Domain) {
		return nil, errorf(ErrIdentity, "i", quote(s.Identity)+" is not at or below "+quote(s.Domain))
	}
	if !s.Timestamp.IsZero() && !s.Expiration.IsZero() && !s.Expiration.After(s.Timestamp) {
		return nil, errorf(ErrSyntax, "x", "expiration not after timestamp")
	}
	return s, nil
}

// IdentityDomain returns the domain part of Identity.
func (s *Signature) IdentityDomain() string {
	return s.Identity[strings.LastIndexByte(s.Identity, '@')+1:]
}

func parseCanon(s string) (Canonicalization, bool) {
	switch {
	case equalFold(s, "simple"):
		return Simple, true
	case equalFold(s, "relaxed"):
		return Relaxed, true
	}
	return 0, false
}

// parseHeaderList reads the h= list of field names.
func parseHeaderList(v string) ([]string, error) {
	names := strings.Split(v, ":")
	if len(names) > maxHeaderNames {
		return nil, errorf(ErrTooLarge, "h", "more than "+strconv.Itoa(maxHeaderNames)+" names")
	}
	for i, n := range names {
		n = trimFWS(n)
		if !isFieldName(n) {
			return nil, errorf(ErrSyntax, "h", "invalid field name "+quote(n))
		}
		names[i] = n
	}
	return names, nil
}

// isFieldName reports whether s is 1*ftext (RFC 5322 section 3.6.8).
func isFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 33 || c > 126 || c == ':' {
			return false
		}
	}
	return true
}

func parseDigits(s string, max int) (int64, bool) {
	if s == "" || len(s) > max {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// More than 18 digits of l= is more than any message; cap it.
		return 1<<63 - 1, true
	}
	return n, true
}

// decodeBase64 decodes standard base64 with or without padding.
func decodeBase64(s string) ([]byte, error) {
	if len(s)%4 != 0 {
		return base64.RawStdEncoding.Strict().DecodeString(strings.TrimRight(s, "="))
	}
	return base64.StdEncoding.DecodeString(s)
}

// isDomain reports whether s is a domain name of labels of letters,
// digits, hyphens and underscores (RFC 6376 section 3.5 d= and the
// sub-domain of RFC 5321), at most 253 octets.
func isDomain(s string) bool {
	if s == "" || len(s) > maxDomainLength {
		return false
	}
	rest := strings.TrimSuffix(s, ".")
	for {
		l, after, more := strings.Cut(rest, ".")
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !isAlpha(c) && !isDigit(c) && c != '-' && c != '_' {
				return false
			}
		}
		if !more {
			return true
		}
		rest = after
	}
}

// isSelector reports whether s is a selector: one or more labels like a
// domain's.
func isSelector(s string) bool { return isDomain(s) && !strings.HasSuffix(s, ".") }

// isSubdomain reports whether name is domain or below it, ignoring case and
// a final dot.
func isSubdomain(name, domain string) bool {
	name, domain = strings.TrimSuffix(name, "."), strings.TrimSuffix(domain, ".")
	if equalFold(name, domain) {
		return true
	}
	return len(name) > len(domain)+1 && name[len(name)-len(domain)-1] == '.' && equalFold(name[len(name)-len(domain):], domain)
}
