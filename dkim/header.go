package dkim

import (
	"errors"
	"github.com/heraldmail/herald/internal/authres"
	"strings"
)

// minHeaderB is the length of the header.b prefix, as RFC 6008 section 4
// recommends.
const minHeaderB = 8

// AuthenticationResults returns the dkim parts (resinfo) of an
// Authentication-Results header field (RFC 8601 section 2.7.1), one per
// result, separated by "; ", such as
//
//	dkim=pass header.d=example.com header.i=@example.com header.s=sel header.a=ed25519-sha256 header.b=Gt1eyWVT
//	dkim=fail reason="body hash did not verify" header.d=example.org ...
//
// With no results it returns "dkim=none". header.b holds the first eight
// characters of b= (RFC 6008), more where two results would otherwise look
// alike. A result other than pass carries a reason naming the category
// of its error, never text from the message. The caller writes the field
// name, the authserv-id and any other methods around it, and folds it.
// Values are quoted when they are not tokens, and control characters and
// invalid UTF-8 in them become '?'.
func AuthenticationResults(results ...Result) string {
	if len(results) == 0 {
		return "dkim=none"
	}
	var b strings.Builder
	for i, r := range results {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString("dkim=")
		b.WriteString(r.Status.String())
		if r.Err != nil {
			b.WriteString(" reason=")
			authres.Quote(&b, reason(r.Err))
		}
		if r.Testing {
			b.WriteString(" (test mode)")
		}
		kv := func(k, v string) {
			if v == "" {
				return
			}
			b.WriteByte(' ')
			b.WriteString(k)
			b.WriteByte('=')
			writeValue(&b, v)
		}
		kv("header.d", r.Domain)
		kv("header.i", r.Identity)
		kv("header.s", r.Selector)
		if r.Algorithm != 0 {
			kv("header.a", r.Algorithm.String())
		}
		if r.Signature != nil {
			kv("header.b", headerB(r.Signature.B, results, i))
		}
	}
	return b.String()
}

// headerB returns the shortest prefix of b, at least minHeaderB long, that
// no other result's b= starts with.
func headerB(b string, results []Result, self int) string {
	n := min(minHeaderB, len(b))
	for ; n < len(b); n++ {
		unique := true
		for j, o := range results {
			if j != self && o.Signature != nil && o.Signature.B != b && strings.HasPrefix(o.Signature.B, b[:n]) {
				unique = false
				break
			}
		}
		if unique {
			break
		}
	}
	return b[:n]
}

func reason(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason()
	}
	return "error"
}

// writeValue writes v as an RFC 2045 token when it is one (a domain, a
// selector, a base64 prefix without "/" or "="), and as a quoted-string
// otherwise; an i= of local-part "@" domain is a valid pvalue as it is when
// the local-part is a dot-atom.
func writeValue(b *strings.Builder, v string) {
	if isToken(v) || isAUID(v) {
		b.WriteString(v)
		return
	}
	authres.Quote(b, v)
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 {
			return false
		}
	}
	return true
}

// isAUID reports whether s is [dot-atom] "@" domain.
func isAUID(s string) bool {
	at := strings.LastIndexByte(s, '@')
	if at < 0 || !isDomain(s[at+1:]) {
		return false
	}
	local := s[:at]
	if local == "" {
		return true
	}
	if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return false
	}
	for i := 0; i < len(local); i++ {
		c := local[i]
		if !isAlpha(c) && !isDigit(c) && strings.IndexByte("!#$%&'*+-/=?^_`{|}~.", c) < 0 {
			return false
		}
	}
	return true
}
