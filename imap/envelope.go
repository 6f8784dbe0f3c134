package imap

import (
	"strings"

	"github.com/heraldmail/herald/message"
)

// appendEnvelope appends the ENVELOPE of a message with header h (RFC 9051
// section 7.5.2): date, subject, from, sender, reply-to, to, cc, bcc,
// in-reply-to and message-id. Sender and Reply-To default to From.
//
// The envelope is built from the raw header bytes and passes the fields as
// written, as Dovecot does and clients expect: encoded words and 8-bit
// names are not decoded or re-encoded (clients decode them), a comment
// after an address is its display name when there is none
// ("user@host (Real Name)"), the source route of an obsolete route address
// is kept, and malformed addresses become the MISSING_MAILBOX,
// MISSING_DOMAIN and SYNTAX_ERROR placeholders that Dovecot sends. When a
// field appears more than once, the last one counts, as in Dovecot.
func appendEnvelope(b []byte, h *message.Header, utf8OK bool) []byte {
	vals := envelopeFields(h)
	b = append(b, '(')
	b = appendEnvString(b, vals[envDate], false, utf8OK)
	b = append(b, ' ')
	b = appendEnvString(b, vals[envSubject], true, utf8OK)
	from := parseEnvAddresses(vals[envFrom])
	for _, i := range []int{envFrom, envSender, envReplyTo, envTo, envCc, envBcc} {
		b = append(b, ' ')
		list := from
		if i != envFrom {
			list = parseEnvAddresses(vals[i])
			if len(list) == 0 && (i == envSender || i == envReplyTo) {
				list = from
			}
		}
		b = appendEnvAddressList(b, list, utf8OK)
	}
	b = append(b, ' ')
	b = appendEnvString(b, vals[envInReplyTo], false, utf8OK)
	b = append(b, ' ')
	b = appendEnvString(b, vals[envMessageID], false, utf8OK)
	return append(b, ')')
}

const (
	envDate = iota
	envSubject
	envFrom
	envSender
	envReplyTo
	envTo
	envCc
	envBcc
	envInReplyTo
	envMessageID
	envCount
)

var envNames = [envCount]string{"Date", "Subject", "From", "Sender", "Reply-To", "To", "Cc", "Bcc", "In-Reply-To", "Message-Id"}

// envField is the raw value of a header field: found or not. more holds
// the values of the other occurrences of an address field, which add
// their addresses to the first's.
type envField struct {
	v    string
	ok   bool
	more []string
}

// envelopeFields returns the raw values of the envelope's fields: the
// last occurrence of a string field, every occurrence of an address
// field, as Dovecot takes them.
func envelopeFields(h *message.Header) [envCount]envField {
	var out [envCount]envField
	for _, f := range h.All() {
		name := f.Name()
		for i, n := range envNames {
			if strings.EqualFold(name, n) {
				v := rawFieldValue(f.RawValue())
				if out[i].ok && i >= envFrom && i <= envBcc {
					out[i].more = append(out[i].more, v)
				} else {
					out[i] = envField{v: v, ok: true}
				}
				break
			}
		}
	}
	return out
}

// rawFieldValue returns a value as written after the colon: the white
// space of its first line skipped, CR dropped, the line breaks of folding
// kept as LF. A line without leading white space ends it (the message
// parser may have joined such a line to the field).
func rawFieldValue(v string) string {
	v = strings.TrimLeft(v, " \t")
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch c {
		case '\r':
			continue
		case '\n':
			if i+1 < len(v) && v[i+1] != ' ' && v[i+1] != '\t' && v[i+1] != '\r' && v[i+1] != '\n' {
				return b.String()
			}
		}
		b.WriteByte(c)
	}
	return strings.TrimRight(b.String(), "\n")
}

// appendEnvString appends NIL for a missing field, else its value:
// without line breaks (a space added where the next line starts without
// one), and for the subject ("for humans") with every run of white space
// made one space and none at either end.
func appendEnvString(b []byte, f envField, human, utf8OK bool) []byte {
	if !f.ok {
		return append(b, "NIL"...)
	}
	v := f.v
	var s strings.Builder
	if human {
		space := false
		for i := 0; i < len(v); i++ {
			c := v[i]
			if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
				space = s.Len() > 0
				continue
			}
			if space {
				s.WriteByte(' ')
				space = false
			}
			s.WriteByte(c)
		}
	} else {
		for i := 0; i < len(v); i++ {
			c := v[i]
			if c == '\n' {
				if i+1 < len(v) && v[i+1] != ' ' && v[i+1] != '\t' {
					s.WriteByte(' ')
				}
				continue
			}
			s.WriteByte(c)
		}
	}
	out := s.String()
	if strings.IndexByte(out, 0) >= 0 {
		out = strings.ReplaceAll(out, "\x00", "\x80")
	}
	return appendString(b, out, utf8OK)
}

// envAddress is one address of an ENVELOPE list (RFC 9051 section 7.5.2):
// a mailbox, the start of a group (mailbox holds the group name, no host)
// or the end of a group (all empty).
type envAddress struct {
	name, route, mailbox, host string
	groupStart, groupEnd       bool
}

func appendEnvAddressList(b []byte, list []envAddress, utf8OK bool) []byte {
	if len(list) == 0 {
		return append(b, "NIL"...)
	}
	b = append(b, '(')
	for _, a := range list {
		switch {
		case a.groupEnd:
			b = append(b, "(NIL NIL NIL NIL)"...)
		case a.groupStart:
			b = append(b, "(NIL NIL "...)
			b = appendString(b, a.mailbox, utf8OK)
			b = append(b, " NIL)"...)
		default:
			b = append(b, '(')
			b = appendNString(b, a.name, utf8OK)
			b = append(b, ' ')
			b = appendNString(b, a.route, utf8OK)
			b = append(b, ' ')
			b = appendNString(b, a.mailbox, utf8OK)
			b = append(b, ' ')
			b = appendNString(b, a.host, utf8OK)
			b = append(b, ')')
		}
	}
	return append(b, ')')
}

// maxEnvAddresses bounds the addresses taken from one field.
const maxEnvAddresses = 1000

// parseEnvAddresses parses an address list (RFC 5322 section 3.4 with the
// obsolete syntax of section 4.4) the lenient way Dovecot does: it keeps
// what it has read up to the first error.
func parseEnvAddresses(f envField) []envAddress {
	if !f.ok {
		return nil
	}
	out := parseEnvAddressList(nil, f.v)
	for _, v := range f.more {
		out = parseEnvAddressList(out, v)
	}
	return out
}

func parseEnvAddressList(out []envAddress, v string) []envAddress {
	p := &addrScanner{s: v}
	for len(out) < maxEnvAddresses {
		if !p.skipCFWS() {
			break
		}
		out, _ = p.address(out)
		if p.i >= len(p.s) || p.s[p.i] != ',' {
			break
		}
		p.i++
		if !p.skipCFWS() {
			break
		}
	}
	return out
}

// addrScanner reads an address list; i is the position in s. comment is
// the text of the last comment skipped since it was reset.
type addrScanner struct {
	s       string
	i       int
	comment string
	hasCmt  bool
}

func (p *addrScanner) eof() bool { return p.i >= len(p.s) }

func (p *addrScanner) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

// isAtext reports whether c may be part of an atom (RFC 5322 section
// 3.2.3); 8-bit bytes are taken as part of UTF-8 atoms (RFC 6532).
func isAtext(c byte) bool {
	if c >= 0x80 {
		return true
	}
	if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// skipCFWS skips white space and comments, remembering the last comment's
// text. It reports whether input remains.
func (p *addrScanner) skipCFWS() bool {
	for p.i < len(p.s) {
		switch c := p.s[p.i]; c {
		case ' ', '\t', '\r', '\n':
			p.i++
		case '(':
			if !p.readComment() {
				return false
			}
		default:
			return true
		}
	}
	return false
}

// readComment reads a comment, nested ones included, and keeps its text
// without the outer parentheses and escapes.
func (p *addrScanner) readComment() bool {
	p.i++ // '('
	depth := 1
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		p.i++
		switch c {
		case '\\':
			if p.i < len(p.s) {
				b.WriteByte(p.s[p.i])
				p.i++
			}
			continue
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				p.comment, p.hasCmt = b.String(), true
				return true
			}
		case '\r', '\n':
			continue
		}
		b.WriteByte(c)
	}
	// An unterminated comment runs to the end.
	p.comment, p.hasCmt = b.String(), true
	return false
}

// quoted reads a quoted string into b, without the quotes and escapes;
// line breaks of folding are dropped. It reports false when the string
// is not terminated.
func (p *addrScanner) quoted(b *strings.Builder) bool {
	p.i++ // '"'
	for p.i < len(p.s) {
		c := p.s[p.i]
		p.i++
		switch c {
		case '"':
			return true
		case '\\':
			if p.i < len(p.s) {
				b.WriteByte(p.s[p.i])
				p.i++
			}
		case '\r', '\n':
		default:
			b.WriteByte(c)
		}
	}
	return false
}

// atomOrDots reads atext and dots.
func (p *addrScanner) atomOrDots(b *strings.Builder) bool {
	start := p.i
	for p.i < len(p.s) && (isAtext(p.s[p.i]) || p.s[p.i] == '.') {
		p.i++
	}
	b.WriteString(p.s[start:p.i])
	return p.i > start
}

// phrase reads words (atoms, dots and quoted strings) separated by CFWS
// into b, one space between words. It reports whether it read a word.
func (p *addrScanner) phrase(b *strings.Builder) bool {
	if p.eof() || p.peek() == '.' {
		return false
	}
	read := false
	for !p.eof() {
		c := p.peek()
		switch {
		case c == '"':
			if read {
				b.WriteByte(' ')
			}
			ok := p.quoted(b)
			read = true
			if !ok {
				return true
			}
		case isAtext(c) || c == '.':
			if read {
				b.WriteByte(' ')
			}
			p.atomOrDots(b)
			read = true
		default:
			return read
		}
		if !p.skipCFWS() {
			return read
		}
	}
	return read
}

// dotAtom reads atoms separated by dots, with CFWS allowed around the dots
// (obsolete syntax). It reports false when no atom starts here.
func (p *addrScanner) dotAtom(b *strings.Builder) bool {
	if p.eof() || !isAtext(p.peek()) {
		return false
	}
	for {
		start := p.i
		for p.i < len(p.s) && isAtext(p.s[p.i]) {
			p.i++
		}
		if p.i == start {
			return false
		}
		b.WriteString(p.s[start:p.i])
		if !p.skipCFWS() || p.peek() != '.' {
			return true
		}
		p.i++
		b.WriteByte('.')
		if !p.skipCFWS() {
			return true
		}
	}
}

// localPart reads a quoted string or a dot-atom.
func (p *addrScanner) localPart() (string, bool) {
	var b strings.Builder
	if p.peek() == '"' {
		ok := p.quoted(&b)
		p.skipCFWS()
		return b.String(), ok
	}
	ok := p.dotAtom(&b)
	return b.String(), ok
}

// domain reads what follows "@": a domain literal or a dot-atom.
func (p *addrScanner) domain() (string, bool) {
	p.i++ // '@'
	if !p.skipCFWS() {
		return "", false
	}
	if p.peek() == '[' {
		j := strings.IndexByte(p.s[p.i:], ']')
		if j < 0 {
			d := p.s[p.i:]
			p.i = len(p.s)
			return d, false
		}
		d := p.s[p.i : p.i+j+1]
		p.i += j + 1
		p.skipCFWS()
		return d, true
	}
	var b strings.Builder
	ok := p.dotAtom(&b)
	return b.String(), ok
}

// address reads a mailbox or a group and appends it to out; more is false
// when the list cannot go on after it.
func (p *addrScanner) address(out []envAddress) ([]envAddress, bool) {
	start := p.i
	var name strings.Builder
	if p.phrase(&name) && p.peek() == ':' {
		return p.group(out, name.String())
	}
	p.i = start
	a, more := p.mailbox()
	return append(out, a), more
}

// group reads the members of a group after its name.
func (p *addrScanner) group(out []envAddress, name string) ([]envAddress, bool) {
	p.i++ // ':'
	out = append(out, envAddress{mailbox: name, groupStart: true})
	more := p.skipCFWS()
	for more && p.peek() != ';' && len(out) < maxEnvAddresses {
		var a envAddress
		a, _ = p.mailbox()
		out = append(out, a)
		if p.peek() != ',' {
			break
		}
		p.i++
		more = p.skipCFWS()
	}
	out = append(out, envAddress{groupEnd: true})
	if more && p.peek() == ';' {
		p.i++
		return out, p.skipCFWS()
	}
	return out, false
}

// mailbox reads a name-addr or an addr-spec, filling in the placeholders
// of a malformed one.
func (p *addrScanner) mailbox() (envAddress, bool) {
	start := p.i
	a, more, ok := p.nameAddr()
	if !ok {
		p.i = start
		a, more = p.addrSpec()
	}
	if a.mailbox == "" {
		a.mailbox = "MISSING_MAILBOX"
	}
	if a.host == "" {
		a.host = "MISSING_DOMAIN"
	}
	return a, more
}

// nameAddr reads [display-name] angle-addr; ok is false when the input
// is not one.
func (p *addrScanner) nameAddr() (a envAddress, more, ok bool) {
	var name strings.Builder
	p.phrase(&name)
	if p.peek() != '<' {
		return a, false, false
	}
	a.name = name.String()
	if !p.angleAddr(&a) {
		a.host = "SYNTAX_ERROR"
		return a, false, true
	}
	return a, !p.eof(), true
}

// angleAddr reads "<" [route ":"] local-part "@" domain ">".
func (p *addrScanner) angleAddr(a *envAddress) bool {
	p.i++ // '<'
	if !p.skipCFWS() {
		return false
	}
	if p.peek() == '@' {
		var route strings.Builder
		for p.peek() == '@' {
			if route.Len() > 0 {
				route.WriteByte(',')
			}
			route.WriteByte('@')
			d, ok := p.domain()
			route.WriteString(d)
			if !ok {
				return false
			}
			for p.skipCFWS() && p.peek() == ',' {
				p.i++
			}
		}
		if p.peek() != ':' {
			return false
		}
		p.i++
		a.route = route.String()
		if !p.skipCFWS() {
			return false
		}
	}
	if p.peek() == '>' {
		p.i++
		p.skipCFWS()
		return true
	}
	local, ok := p.localPart()
	a.mailbox = local
	if !ok {
		return false
	}
	if p.peek() == '@' {
		d, ok := p.domain()
		a.host = d
		if !ok {
			return false
		}
	}
	if p.peek() != '>' {
		return false
	}
	p.i++
	p.skipCFWS()
	return true
}

// addrSpec reads local-part "@" domain; a comment read meanwhile is the
// display name. A word without "@" followed by more words is taken as a
// display name without address.
func (p *addrScanner) addrSpec() (envAddress, bool) {
	var a envAddress
	p.hasCmt = false
	quotedLocal := p.peek() == '"'
	local, ok := p.localPart()
	a.mailbox = local
	more := ok && !p.eof()
	hadDomain := false
	if ok && p.peek() == '@' {
		hadDomain = true
		var dok bool
		a.host, dok = p.domain()
		more = dok && !p.eof()
	}
	switch {
	case p.hasCmt && p.comment != "":
		a.name = p.comment
	case !hadDomain && ok:
		var b strings.Builder
		b.WriteString(local)
		b.WriteByte(' ')
		n := b.Len()
		p.phrase(&b)
		if b.Len() != n {
			a.mailbox = ""
			a.name = b.String()
		} else if !quotedLocal {
			a.host = ""
		}
		more = false
	}
	return a, more
}
