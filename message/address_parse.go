package message

import (
	"strings"
	"unicode/utf8"

	"github.com/heraldmail/herald/internal/charset"
)

// The RFC 5322 section 3.4 address grammar, with the obsolete forms of
// section 4.4, as a recursive-descent parser over a string.

// maxPhraseTokens bounds the words and periods of one display name or local
// part, so that a hostile field costs memory in proportion to a sane
// address rather than to its length.
const maxPhraseTokens = 512

type addrParser struct {
	s      string
	pos    int
	err    error // first comment error, which skipCFWS callers may ignore
	strict bool
	dec    *WordDecoder
	max    int
	count  int
}

func (ap *AddressParser) newParser(s string) *addrParser {
	p := &addrParser{s: s, max: DefaultMaxAddresses, dec: ap.WordDecoder}
	p.strict = ap.Mode == Strict
	if ap.MaxAddresses > 0 {
		p.max = ap.MaxAddresses
	}
	if p.dec == nil {
		p.dec = &WordDecoder{}
	}
	return p
}

func (p *addrParser) errorf(msg string) *Error {
	return syntaxError("parse address", p.pos, msg)
}

// token is a word or a period of a phrase or local part.
type token struct {
	text   string // atom text, or quoted-string content unescaped
	kind   byte   // 'a' atom, 'q' quoted string, '.' period
	spaced bool   // white space or a comment came before it
}

// parseAddress parses a mailbox, or a group when allowGroup is set.
func (p *addrParser) parseAddress(allowGroup bool) (Address, error) {
	toks, err := p.parsePhrase()
	if err != nil {
		return Address{}, err
	}
	if err := p.skipCFWS(); err != nil {
		return Address{}, err
	}
	if p.pos >= len(p.s) {
		if !p.strict && len(toks) > 0 {
			if local, ok := localPart(toks); ok {
				return Address{Addr: local}, nil // lenient: no domain
			}
		}
		return Address{}, p.errorf("missing \"@\" or \"<\"")
	}
	switch p.s[p.pos] {
	case '<':
		p.pos++
		addr, err := p.parseAngleAddr()
		if err != nil {
			return Address{}, err
		}
		return Address{Name: p.phraseText(toks), Addr: addr}, nil
	case ':':
		if !allowGroup {
			return Address{}, p.errorf("group where a mailbox is expected")
		}
		if len(toks) == 0 {
			return Address{}, p.errorf("group without a name")
		}
		p.pos++
		return p.parseGroup(p.phraseText(toks))
	case '@':
		local, ok := localPart(toks)
		if !ok {
			return Address{}, p.errorf("invalid local part")
		}
		p.pos++
		domain, err := p.parseDomain()
		if err != nil {
			return Address{}, err
		}
		return Address{Addr: local + "@" + domain}, nil
	}
	if !p.strict && len(toks) > 0 && (p.s[p.pos] == ',' || p.s[p.pos] == ';') {
		if local, ok := localPart(toks); ok {
			return Address{Addr: local}, nil
		}
	}
	return Address{}, p.errorf("unexpected character " + quoteForError(p.s[p.pos:p.pos+1]))
}

// parseAngleAddr parses after "<": [obs-route] addr-spec ">".
func (p *addrParser) parseAngleAddr() (string, error) {
	p.skipCFWS()
	if p.pos < len(p.s) && p.s[p.pos] == '>' {
		if p.strict {
			return "", p.errorf("empty angle address")
		}
		p.pos++
		return "", nil
	}
	if p.pos < len(p.s) && (p.s[p.pos] == '@' || p.s[p.pos] == ',') {
		// obs-route: 1*("," / "@" domain) ":"
		for p.pos < len(p.s) && p.s[p.pos] != ':' {
			switch c := p.s[p.pos]; {
			case c == ',':
				p.pos++
			case c == '@':
				p.pos++
				if _, err := p.parseDomain(); err != nil {
					return "", err
				}
			default:
				return "", p.errorf("invalid route")
			}
			p.skipCFWS()
		}
		if p.pos >= len(p.s) {
			return "", p.errorf("unterminated route")
		}
		p.pos++
	}
	toks, err := p.parsePhrase()
	if err != nil {
		return "", err
	}
	local, ok := localPart(toks)
	if !ok {
		return "", p.errorf("invalid local part")
	}
	p.skipCFWS()
	if p.pos >= len(p.s) || p.s[p.pos] != '@' {
		return "", p.errorf("missing \"@\"")
	}
	p.pos++
	domain, err := p.parseDomain()
	if err != nil {
		return "", err
	}
	if p.pos >= len(p.s) || p.s[p.pos] != '>' {
		if !p.strict && p.pos >= len(p.s) {
			return local + "@" + domain, nil
		}
		return "", p.errorf("missing \">\"")
	}
	p.pos++
	return local + "@" + domain, nil
}

// parseGroup parses after "name:": [group-list] ";".
func (p *addrParser) parseGroup(name string) (Address, error) {
	g := Address{Name: name, Group: true}
	for {
		if err := p.skipCFWS(); err != nil {
			return Address{}, err
		}
		if p.pos >= len(p.s) {
			if p.strict {
				return Address{}, p.errorf("missing \";\" after group")
			}
			return g, nil
		}
		switch p.s[p.pos] {
		case ';':
			p.pos++
			p.skipCFWS()
			return g, nil
		case ',':
			p.pos++
			continue
		}
		start := p.pos
		m, err := p.parseAddress(false)
		if err != nil {
			if p.strict {
				return Address{}, err
			}
			// Lenient: skip the member up to the next "," or ";".
			p.pos = p.memberEnd(start)
			continue
		}
		if p.count+len(g.Members) >= p.max {
			return Address{}, &Error{Op: "parse address", Err: ErrTooLong, Offset: p.pos, Msg: "too many addresses"}
		}
		g.Members = append(g.Members, m)
		p.skipCFWS()
		if p.pos < len(p.s) && p.s[p.pos] != ',' && p.s[p.pos] != ';' {
			return Address{}, p.errorf("expected \",\" or \";\" in group")
		}
	}
}

// parsePhrase reads words and periods: a display name (obs-phrase) or a
// local part (obs-local-part). It stops at anything else without consuming
// it.
func (p *addrParser) parsePhrase() ([]token, error) {
	var toks []token
	for {
		if len(toks) == maxPhraseTokens {
			return nil, &Error{Op: "parse address", Err: ErrTooLong, Offset: p.pos, Msg: "too many words"}
		}
		before := p.pos
		if err := p.skipCFWS(); err != nil {
			return nil, err
		}
		spaced := p.pos > before
		if p.pos >= len(p.s) {
			return toks, nil
		}
		c := p.s[p.pos]
		switch {
		case c == '"':
			q, err := p.parseQuoted()
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{text: q, kind: 'q', spaced: spaced})
		case c == '.':
			p.pos++
			toks = append(toks, token{text: ".", kind: '.', spaced: spaced})
		case isAtext(c):
			a, err := p.parseAtom()
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{text: a, kind: 'a', spaced: spaced})
		default:
			p.pos = before // leave the white space to the caller
			return toks, nil
		}
	}
}

// isAtext reports whether c is atext (RFC 5322 section 3.2.3) or a byte of
// a UTF-8 sequence (RFC 6532 section 3.2).
func isAtext(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c >= 0x80:
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

func (p *addrParser) parseAtom() (string, error) {
	start := p.pos
	for p.pos < len(p.s) && isAtext(p.s[p.pos]) {
		p.pos++
	}
	a := p.s[start:p.pos]
	if p.strict && !utf8.ValidString(a) {
		p.pos = start
		return "", p.errorf("invalid UTF-8")
	}
	return a, nil
}

// parseQuoted parses a quoted string at p.pos and returns its content with
// quoted pairs resolved and folding removed.
func (p *addrParser) parseQuoted() (string, error) {
	start := p.pos
	p.pos++ // opening quote
	var b strings.Builder
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		switch {
		case c == '"':
			p.pos++
			out := b.String()
			if p.strict && !utf8.ValidString(out) {
				return "", syntaxError("parse address", start, "invalid UTF-8 in quoted string")
			}
			return out, nil
		case c == '\\':
			if p.pos+1 >= len(p.s) {
				return "", p.errorf("unterminated quoted pair")
			}
			b.WriteByte(p.s[p.pos+1])
			p.pos += 2
		case c == '\r' || c == '\n':
			if err := p.lineBreak(); err != nil { // folding
				return "", err
			}
		case c == 0 && p.strict:
			return "", p.errorf("NUL in quoted string")
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
	p.pos = start
	return "", p.errorf("unterminated quoted string")
}

// skipCFWS skips white space, line breaks and comments.
func (p *addrParser) skipCFWS() error {
	for p.pos < len(p.s) {
		switch p.s[p.pos] {
		case ' ', '\t':
			p.pos++
		case '\r', '\n':
			if err := p.lineBreak(); err != nil {
				return err
			}
		case '(':
			if err := p.skipComment(); err != nil {
				return err
			}
		default:
			return nil
		}
	}
	return nil
}

func (p *addrParser) skipComment() error {
	err := p.skipCommentInner()
	if err != nil && p.err == nil {
		p.err = err
	}
	return err
}

func (p *addrParser) skipCommentInner() error {
	start := p.pos
	depth := 0
	for p.pos < len(p.s) {
		switch p.s[p.pos] {
		case '(':
			if depth++; depth > maxCommentDepth {
				p.pos = start
				return &Error{Op: "parse address", Err: ErrTooLong, Offset: p.pos, Msg: "comments nested too deeply"}
			}
		case ')':
			if depth--; depth == 0 {
				p.pos++
				return nil
			}
		case '\\':
			p.pos++
		case '\r', '\n':
			if err := p.lineBreak(); err != nil {
				p.pos = start
				return err
			}
			continue
		}
		p.pos++
	}
	p.pos = start
	return p.errorf("unterminated comment")
}

// lineBreak consumes a line break at p.pos. In strict mode it must be
// CRLF followed by white space (folding, RFC 5322 section 3.2.2); lenient
// mode takes any CR or LF as white space.
func (p *addrParser) lineBreak() error {
	if !p.strict {
		p.pos++
		return nil
	}
	if p.s[p.pos] == '\r' && p.pos+2 < len(p.s) && p.s[p.pos+1] == '\n' && isWSP(p.s[p.pos+2]) {
		p.pos += 2
		return nil
	}
	return p.errorf("line break that is not folding")
}

// parseDomain parses a dot-atom, an obs-domain or a domain literal.
func (p *addrParser) parseDomain() (string, error) {
	p.skipCFWS()
	if p.pos < len(p.s) && p.s[p.pos] == '[' {
		return p.parseDomainLiteral()
	}
	var b strings.Builder
	for {
		p.skipCFWS()
		if p.pos >= len(p.s) || !isAtext(p.s[p.pos]) {
			return "", p.errorf("invalid domain")
		}
		a, err := p.parseAtom()
		if err != nil {
			return "", err
		}
		b.WriteString(a)
		p.skipCFWS()
		if p.pos < len(p.s) && p.s[p.pos] == '.' {
			p.pos++
			b.WriteByte('.')
			continue
		}
		return b.String(), nil
	}
}

// parseDomainLiteral parses "[" *dtext "]" with FWS and obs-dtext.
func (p *addrParser) parseDomainLiteral() (string, error) {
	start := p.pos
	p.pos++
	var b strings.Builder
	b.WriteByte('[')
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		switch {
		case c == ']':
			p.pos++
			b.WriteByte(']')
			p.skipCFWS()
			lit := b.String()
			if p.strict && !utf8.ValidString(lit) {
				return "", syntaxError("parse address", start, "invalid UTF-8 in domain literal")
			}
			return lit, nil
		case c == '[':
			return "", p.errorf("\"[\" inside domain literal")
		case c == '\\': // obs-dtext quoted-pair, kept as written
			if p.pos+1 >= len(p.s) {
				return "", p.errorf("unterminated quoted pair")
			}
			b.WriteString(p.s[p.pos : p.pos+2])
			p.pos += 2
		case c == ' ' || c == '\t':
			p.pos++
		case c == '\r' || c == '\n':
			if err := p.lineBreak(); err != nil {
				return "", err
			}
		case c == 0 && p.strict:
			return "", p.errorf("NUL in domain literal")
		case c < 33 || c == 127: // obs-NO-WS-CTL, dropped
			p.pos++
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
	p.pos = start
	return "", p.errorf("unterminated domain literal")
}

// localPart builds the canonical local part from word ("." word)*.
func localPart(toks []token) (string, bool) {
	if len(toks) == 0 || len(toks)%2 == 0 {
		return "", false
	}
	quoted := false
	var b strings.Builder
	for i, t := range toks {
		if (i%2 == 1) != (t.kind == '.') {
			return "", false
		}
		if t.kind == 'q' {
			quoted = true
		}
		b.WriteString(t.text)
	}
	s := b.String()
	if !quoted || isDotAtom(s) {
		return s, true
	}
	return quoteString(s), true
}

// isDotAtom reports whether s is a dot-atom-text (RFC 5322 section 3.2.3,
// with RFC 6532 UTF-8).
func isDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '.' && !isAtext(s[i]) {
			return false
		}
	}
	return utf8.ValidString(s)
}

// toValidUTF8 reads raw 8-bit bytes in a header value by the
// undeclared-charset rule of internal/charset: valid UTF-8 stays, every
// other byte is windows-1252 (see charset.DecodeUndeclared).
func toValidUTF8(s string) string { return charset.DecodeUndeclared(s) }

func quoteString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' || (c < ' ' && c != '\t') || c == 0x7f {
			// Controls only as obs-qp (RFC 5322 section 4.1).

			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// phraseText turns the tokens of a display name into text: words joined by
// one space where the input had white space, encoded words decoded, the
// white space between adjacent encoded words dropped (RFC 2047 section 6.2).
func (p *addrParser) phraseText(toks []token) string {
	if len(toks) == 0 {
		return ""
	}
	var b strings.Builder
	for i := 0; i < len(toks); {
		t := toks[i]
		if i > 0 && t.spaced {
			b.WriteByte(' ')
		}
		if t.kind == 'a' && strings.HasPrefix(t.text, "=?") {
			// A run of encoded words separated by white space only.
			j := i + 1
			for j < len(toks) && toks[j].kind == 'a' && toks[j].spaced && strings.HasPrefix(toks[j].text, "=?") {
				j++
			}
			run := t.text
			if j > i+1 {
				words := make([]string, 0, j-i)
				for _, w := range toks[i:j] {
					words = append(words, w.text)
				}
				run = strings.Join(words, " ")
			}
			out, err := p.dec.DecodeHeader(run)
			if err != nil || strings.Contains(out, "=?") && out == run {
				b.WriteString(run)
			} else {
				b.WriteString(out)
			}
			i = j
			continue
		}
		if t.kind == 'q' && !p.strict && strings.Contains(t.text, "=?") {
			out, _ := p.dec.DecodeHeader(t.text)
			b.WriteString(out)
		} else {
			b.WriteString(t.text)
		}
		i++
	}
	if p.strict {
		return b.String()
	}
	return toValidUTF8(b.String())
}
