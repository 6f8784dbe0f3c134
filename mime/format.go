package mime

import (
	"strings"
)

// maxParamSection is the longest encoded value FormatMediaType puts in one
// RFC 2231 section, so that a folded header line stays well under 78
// characters.
const maxParamSection = 60

// maxQuotedParam is the longest value written as a quoted string when it
// has spaces to fold at.
const maxQuotedParam = 900

// FormatMediaType formats m as a header value: "type/subtype" followed by
// "; name=value" for each parameter. Values that are tokens are written
// bare, other ASCII values as quoted strings, and values with non-ASCII
// characters or longer than a line as RFC 2231 extended values in UTF-8,
// split into numbered sections. Parameters are separated by "; " and the
// header writer folds after a ";" when needed.
func FormatMediaType(m MediaType) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(m.Essence()))
	for _, p := range m.Params {
		b.WriteString("; ")
		formatParam(&b, strings.ToLower(p.Name), p.Value)
	}
	return b.String()
}

func formatParam(b *strings.Builder, name, value string) {
	ascii := true
	for i := 0; i < len(value); i++ {
		if c := value[i]; c >= 0x7f || (c < ' ' && c != '\t') {
			ascii = false
			break
		}
	}
	// Long ASCII values with spaces (RFC 2047 words in a name parameter)
	// fold at their spaces; others are split into RFC 2231 sections.
	if ascii && (len(value) <= maxParamSection || strings.Contains(value, " ") && len(value) <= maxQuotedParam) {
		b.WriteString(name)
		b.WriteByte('=')
		if value != "" && isToken(value) {
			b.WriteString(value)
			return
		}
		b.WriteByte('"')
		for i := 0; i < len(value); i++ {
			if c := value[i]; c == '"' || c == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(value[i])
		}
		b.WriteByte('"')
		return
	}
	// RFC 2231 extended value, split into sections at character
	// boundaries so no section cuts a UTF-8 sequence.
	enc := percentEncode(value)
	if len(enc)+len("utf-8''") <= maxParamSection {
		b.WriteString(name)
		b.WriteString("*=utf-8''")
		b.WriteString(enc)
		return
	}
	n := 0
	for len(enc) > 0 {
		cut := maxParamSection
		if cut >= len(enc) {
			cut = len(enc)
		} else {
			// Do not split a %XX escape.
			for k := 1; k <= 2; k++ {
				if cut-k >= 0 && enc[cut-k] == '%' {
					cut -= k
					break
				}
			}
		}
		if n > 0 {
			b.WriteString("; ")
		}
		b.WriteString(name)
		b.WriteByte('*')
		b.WriteString(itoa(n))
		b.WriteString("*=")
		if n == 0 {
			b.WriteString("utf-8''")
		}
		b.WriteString(enc[:cut])
		enc = enc[cut:]
		n++
	}
}

func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

// percentEncode escapes everything but RFC 2231 attribute-chars.
func percentEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isTokenChar(c) && c != '*' && c != '\'' && c != '%' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	var buf [20]byte
	i := len(buf)
	for n > 0 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	return string(buf[i:])
}
