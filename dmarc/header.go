package dmarc

import (
	"strings"
	"unicode/utf8"
)

// AuthenticationResults returns the DMARC part (resinfo) of an
// Authentication-Results header field (RFC 8601 section 2.7 and RFC 7489
// section 11.2), such as
//
//	dmarc=fail (p=reject dis=reject) header.from=example.com
//	dmarc=pass (p=none dis=none) header.from=example.com
//	dmarc=none header.from=example.org
//
// The comment gives the requested policy and the disposition when a record
// applied. The caller writes the field name, the authserv-id and the other
// methods around it. A From domain that is not a dot-atom is quoted, with
// control characters and invalid UTF-8 replaced by '?'.
func AuthenticationResults(res Result) string {
	var b strings.Builder
	b.WriteString("dmarc=")
	b.WriteString(res.Status.String())
	if res.Policy.Record != nil && (res.Status == Pass || res.Status == Fail) {
		b.WriteString(" (p=")
		b.WriteString(res.Requested.String())
		b.WriteString(" dis=")
		b.WriteString(res.Disposition.String())
		b.WriteByte(')')
	}
	if d := res.Policy.FromDomain; d != "" {
		b.WriteString(" header.from=")
		writeValue(&b, d)
	}
	return b.String()
}

// writeValue writes v as a dot-atom when it is one and as a quoted-string
// otherwise (RFC 5322 section 3.2).
func writeValue(b *strings.Builder, v string) {
	if isDotAtom(v) {
		b.WriteString(v)
		return
	}
	b.WriteByte('"')
	for len(v) > 0 {
		r, n := utf8.DecodeRuneInString(v)
		v = v[n:]
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == utf8.RuneError && n == 1, r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
			b.WriteByte('?')
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}

// isDotAtom reports whether s is a dot-atom of ASCII atext (RFC 5322
// section 3.2.3).
func isDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAlpha(c) || isDigit(c) || c == '.' || strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}
