// Package authres writes the values and comments of Authentication-Results
// (RFC 8601) and Received-SPF (RFC 7208 section 9.1) fields, the one
// quoting rule that spf, dkim and dmarc share: a value is written as it is
// when it is a dot-atom and as a quoted-string otherwise, and nothing from
// a message or a DNS record can end a string or a comment early or bring
// in a control character.
package authres

import (
	"strings"
	"unicode/utf8"
)

// Value writes v as it is when it is a dot-atom, and quoted otherwise.
func Value(b *strings.Builder, v string) {
	if IsDotAtom(v) {
		b.WriteString(v)
		return
	}
	Quote(b, v)
}

// Quote writes v as a quoted-string: '"' and '\' are escaped, and control
// characters (C0, DEL, C1) and invalid UTF-8 become '?'.
func Quote(b *strings.Builder, v string) {
	b.WriteByte('"')
	write(b, v, `"\`)
	b.WriteByte('"')
}

// Comment writes the text of a comment, without the parentheses: '(', ')'
// and '\' are escaped, control characters and invalid UTF-8 become '?'.
func Comment(b *strings.Builder, v string) { write(b, v, `()\`) }

func write(b *strings.Builder, v, escape string) {
	for len(v) > 0 {
		r, n := utf8.DecodeRuneInString(v)
		v = v[n:]
		switch {
		case r < 0x80 && strings.ContainsRune(escape, r):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == utf8.RuneError && n == 1, r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
			b.WriteByte('?')
		default:
			b.WriteRune(r)
		}
	}
}

// IsDotAtom reports whether s is a dot-atom of ASCII atext (RFC 5322
// section 3.2.3).
func IsDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' ||
			strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}
