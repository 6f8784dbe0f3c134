package spf

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// maxExpansion bounds the length of one expanded macro-string. Domain names
// are cut to 253 octets after expansion and explanations far shorter, so
// only hostile records reach it; they get ErrSyntax.
const maxExpansion = 8 << 10

// maxTransformerDigits is the largest part count a transformer can ask for
// that changes anything: a domain name has at most 127 labels, and a value
// split on delimiters at most maxExpansion parts.
const maxTransformerDigits = maxExpansion

// macroMode tells where a macro-string appears: in a domain-spec (or an
// unknown modifier) or in explanation text, which also allows spaces and the
// letters c, r and t (RFC 7208 section 7.1).
type macroMode uint8

const (
	modeDomain macroMode = iota
	modeExplain
)

// macroToken is one piece of a parsed macro-string: either literal text or
// one %{...} macro.
type macroToken struct {
	literal   string
	letter    byte // lower-case macro letter; 0 for literal text
	urlEscape bool // the letter was upper case
	digits    int  // keep this many right-hand parts; 0 means all
	reverse   bool
	delims    string // split on these; empty means "."
}

// macroString is a parsed macro-string (RFC 7208 section 7.1).
type macroString struct {
	tokens []macroToken
	// endsWithExpand reports whether the string ends in a macro-expand
	// ("%{...}", "%%", "%_" or "%-"), which the ABNF accepts as domain-end.
	endsWithExpand bool
	// tail is the literal text after the last macro-expand.
	tail string
	// hasMacro reports whether any %{...} macro occurs.
	hasMacro bool
}

// parseMacroString parses s as a macro-string. In modeExplain it also
// accepts spaces (explain-string) and the letters c, r and t.
func parseMacroString(s string, mode macroMode) (macroString, error) {
	var m macroString
	litStart := 0 // start of the pending literal run, a substring of s
	flush := func(end int) {
		if end > litStart {
			m.tokens = append(m.tokens, macroToken{literal: s[litStart:end]})
		}
	}
	tailStart := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c != '%' {
			if !(c >= 0x21 && c <= 0x7e) && !(c == ' ' && mode == modeExplain) {
				return macroString{}, &Error{Err: ErrSyntax, Detail: "character " + quoteTerm(s[i:i+1]) + " not allowed in a macro-string"}
			}
			i++
			continue
		}
		if i+1 >= len(s) {
			return macroString{}, &Error{Err: ErrSyntax, Detail: "lone % at end of macro-string"}
		}
		flush(i)
		switch s[i+1] {
		case '%':
			m.tokens = append(m.tokens, macroToken{literal: "%"})
			i += 2
		case '_':
			m.tokens = append(m.tokens, macroToken{literal: " "})
			i += 2
		case '-':
			m.tokens = append(m.tokens, macroToken{literal: "%20"})
			i += 2
		case '{':
			tok, n, err := parseMacro(s[i:], mode)
			if err != nil {
				return macroString{}, err
			}
			m.tokens = append(m.tokens, tok)
			m.hasMacro = true
			i += n
		default:
			return macroString{}, &Error{Err: ErrSyntax, Detail: "invalid macro escape " + quoteTerm(s[i:i+2])}
		}
		litStart, tailStart = i, i
	}
	flush(len(s))
	m.endsWithExpand = len(s) > 0 && tailStart == len(s)
	m.tail = s[tailStart:]
	return m, nil
}

// parseMacro parses one "%{" macro-letter transformers *delimiter "}" at the
// start of s and returns it with its length.
func parseMacro(s string, mode macroMode) (macroToken, int, error) {
	end := strings.IndexByte(s, '}')
	if end < 0 {
		return macroToken{}, 0, &Error{Err: ErrSyntax, Detail: "unterminated macro"}
	}
	body := s[2:end]
	if body == "" {
		return macroToken{}, 0, &Error{Err: ErrSyntax, Detail: "empty macro"}
	}
	var t macroToken
	c := body[0]
	t.letter = lower(c)
	t.urlEscape = c != t.letter
	switch t.letter {
	case 's', 'l', 'o', 'd', 'i', 'p', 'h', 'v':
	case 'c', 'r', 't':
		if mode != modeExplain {
			return macroToken{}, 0, &Error{Err: ErrSyntax, Detail: "macro letter " + string(c) + " is allowed only in explanation text"}
		}
	default:
		return macroToken{}, 0, &Error{Err: ErrSyntax, Detail: "unknown macro letter " + quoteTerm(body[:1])}
	}
	rest := body[1:]
	n := 0
	for n < len(rest) && '0' <= rest[n] && rest[n] <= '9' {
		n++
	}
	if n > 0 {
		d, err := strconv.Atoi(rest[:n])
		if err != nil || d > maxTransformerDigits {
			// A count this large keeps every part, as the largest does.
			d = maxTransformerDigits
		}
		if d == 0 {
			return macroToken{}, 0, &Error{Err: ErrSyntax, Detail: "macro transformer digit must not be zero"}
		}
		t.digits = d
		rest = rest[n:]
	}
	if rest != "" && lower(rest[0]) == 'r' {
		t.reverse = true
		rest = rest[1:]
	}
	for i := 0; i < len(rest); i++ {
		if !strings.ContainsRune(".-+,/_=", rune(rest[i])) {
			return macroToken{}, 0, &Error{Err: ErrSyntax, Detail: "invalid macro delimiter " + quoteTerm(rest[i:i+1])}
		}
	}
	t.delims = rest
	return t, end + 1, nil
}

// macroEnv holds the values the macro letters stand for during one
// evaluation.
type macroEnv struct {
	sender       string // s
	local        string // l
	senderDomain string // o
	domain       string // d
	ip           netip.Addr
	helo         string // h
	receiver     string // r
	now          time.Time
	// validated returns the %{p} value for the current domain. It may
	// query DNS; nil means "unknown".
	validated func() string
}

// expand expands m in env. The result is at most maxExpansion octets.
func (m *macroString) expand(env *macroEnv) (string, error) {
	if !m.hasMacro {
		// The common case: a plain domain name.
		switch len(m.tokens) {
		case 0:
			return "", nil
		case 1:
			return m.tokens[0].literal, nil
		}
	}
	var b strings.Builder
	for i := range m.tokens {
		t := &m.tokens[i]
		if t.letter == 0 {
			b.WriteString(t.literal)
		} else {
			t.expandInto(&b, env)
		}
		if b.Len() > maxExpansion {
			return "", &Error{Err: ErrSyntax, Detail: "macro expansion longer than " + strconv.Itoa(maxExpansion) + " octets"}
		}
	}
	return b.String(), nil
}

// value returns the unexpanded value of the macro letter.
func (t *macroToken) value(env *macroEnv) string {
	switch t.letter {
	case 's':
		return env.sender
	case 'l':
		return env.local
	case 'o':
		return env.senderDomain
	case 'd':
		return env.domain
	case 'i':
		return dottedIP(env.ip)
	case 'p':
		if env.validated == nil {
			return "unknown"
		}
		return env.validated()
	case 'h':
		return env.helo
	case 'v':
		if env.ip.Is4() {
			return "in-addr"
		}
		return "ip6"
	case 'c':
		return env.ip.String()
	case 'r':
		if env.receiver == "" {
			return "unknown"
		}
		return env.receiver
	case 't':
		return strconv.FormatInt(env.now.Unix(), 10)
	}
	return ""
}

// expandInto writes the transformed value of t to b (RFC 7208 section 7.3).
func (t *macroToken) expandInto(b *strings.Builder, env *macroEnv) {
	v := t.value(env)
	if t.digits == 0 && !t.reverse && (t.delims == "" || t.delims == ".") {
		writeMaybeEscaped(b, v, t.urlEscape)
		return
	}
	delims := t.delims
	if delims == "" {
		delims = "."
	}
	parts := splitAny(v, delims)
	if t.reverse {
		for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
			parts[i], parts[j] = parts[j], parts[i]
		}
	}
	if t.digits > 0 && t.digits < len(parts) {
		parts = parts[len(parts)-t.digits:]
	}
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('.')
		}
		writeMaybeEscaped(b, p, t.urlEscape)
	}
}

// splitAny splits v at every octet found in delims, keeping empty parts.
func splitAny(v, delims string) []string {
	var parts []string
	start := 0
	for i := 0; i < len(v); i++ {
		if strings.IndexByte(delims, v[i]) >= 0 {
			parts = append(parts, v[start:i])
			start = i + 1
		}
	}
	return append(parts, v[start:])
}

// writeMaybeEscaped writes v, URL-escaped per RFC 3986 when escape is set:
// every octet outside the unreserved set becomes %XX.
func writeMaybeEscaped(b *strings.Builder, v string, escape bool) {
	if !escape {
		b.WriteString(v)
		return
	}
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(v); i++ {
		c := v[i]
		if isAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
}

// dottedIP returns the %{i} form of ip: dotted quad for IPv4, 32 dotted
// nibbles for IPv6 (RFC 7208 section 7.3). The nibbles are upper case, as
// the openspf suite expects in explanations; DNS ignores the case.
func dottedIP(ip netip.Addr) string {
	if ip.Is4() {
		return ip.String()
	}
	if !ip.Is6() {
		return ""
	}
	const hex = "0123456789ABCDEF"
	a := ip.As16()
	b := make([]byte, 0, 63)
	for i, x := range a {
		if i > 0 {
			b = append(b, '.')
		}
		b = append(b, hex[x>>4], '.', hex[x&15])
	}
	return string(b)
}

func isAlnum(c byte) bool {
	return isAlpha(c) || isDigit(c)
}

func isAlpha(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func isDigit(c byte) bool {
	return '0' <= c && c <= '9'
}
