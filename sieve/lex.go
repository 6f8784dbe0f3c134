package sieve

import (
	"strings"
	"unicode/utf8"
)

// tokKind is the kind of a lexical token (RFC 5228 section 8.1).
type tokKind uint8

const (
	tokEOF tokKind = iota
	tokIdent
	tokTag
	tokNumber
	tokString
	tokPunct // one of ; , ( ) [ ] { }
)

type token struct {
	kind tokKind
	pos  position
	text string // identifier or tag name (without ':'), string value, punctuation
	num  int64
}

// lexer splits a script into tokens. It keeps the line and column of each.
type lexer struct {
	src       string
	off       int
	line, col int
}

func newLexer(src string) *lexer { return &lexer{src: src, line: 1, col: 1} }

func (l *lexer) pos() position { return position{l.line, l.col} }

// advance moves past n bytes, counting lines and characters.
func (l *lexer) advance(n int) {
	for _, c := range []byte(l.src[l.off : l.off+n]) {
		switch {
		case c == '\n':
			l.line++
			l.col = 1
		case c&0xC0 != 0x80: // not a UTF-8 continuation byte
			l.col++
		}
	}
	l.off += n
}

// skipSpace skips white space and comments.
func (l *lexer) skipSpace() *Error {
	for l.off < len(l.src) {
		c := l.src[l.off]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			l.advance(1)
		case c == '#':
			n := strings.IndexByte(l.src[l.off:], '\n')
			if n < 0 {
				n = len(l.src) - l.off
			}
			l.advance(n)
		case c == '/' && strings.HasPrefix(l.src[l.off:], "/*"):
			p := l.pos()
			n := strings.Index(l.src[l.off+2:], "*/")
			if n < 0 {
				return errAt(p, ErrSyntax, "unterminated comment")
			}
			l.advance(n + 4)
		default:
			return nil
		}
	}
	return nil
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentChar(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }

// next returns the next token.
func (l *lexer) next() (token, *Error) {
	if err := l.skipSpace(); err != nil {
		return token{}, err
	}
	p := l.pos()
	if l.off >= len(l.src) {
		return token{kind: tokEOF, pos: p}, nil
	}
	c := l.src[l.off]
	switch {
	case strings.IndexByte(";,()[]{}", c) >= 0:
		l.advance(1)
		return token{kind: tokPunct, pos: p, text: string(c)}, nil
	case c == ':':
		n := 1
		for l.off+n < len(l.src) && isIdentChar(l.src[l.off+n]) {
			n++
		}
		if n == 1 || !isIdentStart(l.src[l.off+1]) {
			return token{}, errAt(p, ErrSyntax, "':' not followed by a tag name")
		}
		t := token{kind: tokTag, pos: p, text: strings.ToLower(l.src[l.off+1 : l.off+n])}
		l.advance(n)
		return t, nil
	case c >= '0' && c <= '9':
		return l.number(p)
	case c == '"':
		return l.quoted(p)
	case isIdentStart(c):
		n := 1
		for l.off+n < len(l.src) && isIdentChar(l.src[l.off+n]) {
			n++
		}
		word := l.src[l.off : l.off+n]
		if strings.EqualFold(word, "text") && l.off+n < len(l.src) && l.src[l.off+n] == ':' {
			return l.multiline(p, n+1)
		}
		l.advance(n)
		return token{kind: tokIdent, pos: p, text: strings.ToLower(word)}, nil
	}
	r, _ := utf8.DecodeRuneInString(l.src[l.off:])
	return token{}, errAt(p, ErrSyntax, "unexpected character %q", r)
}

// maxNumber bounds numbers: RFC 5228 section 2.4.1 requires at least
// 2^31-1; quantifiers may not push a number past 2^63-1.
const maxNumber = 1<<63 - 1

func (l *lexer) number(p position) (token, *Error) {
	n := 0
	var v int64
	for l.off+n < len(l.src) && l.src[l.off+n] >= '0' && l.src[l.off+n] <= '9' {
		d := int64(l.src[l.off+n] - '0')
		if v > (maxNumber-d)/10 {
			return token{}, errAt(p, ErrSyntax, "number too large")
		}
		v = v*10 + d
		n++
	}
	if l.off+n < len(l.src) {
		var mul int64
		switch l.src[l.off+n] {
		case 'K', 'k':
			mul = 1 << 10
		case 'M', 'm':
			mul = 1 << 20
		case 'G', 'g':
			mul = 1 << 30
		}
		if mul != 0 {
			if v > maxNumber/mul {
				return token{}, errAt(p, ErrSyntax, "number too large")
			}
			v *= mul
			n++
		}
	}
	if l.off+n < len(l.src) && isIdentChar(l.src[l.off+n]) {
		return token{}, errAt(p, ErrSyntax, "invalid number")
	}
	l.advance(n)
	return token{kind: tokNumber, pos: p, num: v}, nil
}

// quoted reads a quoted string: backslash quotes the next character
// (RFC 5228 section 2.4.2).
func (l *lexer) quoted(p position) (token, *Error) {
	var b strings.Builder
	i := l.off + 1
	start := i
	for i < len(l.src) {
		switch l.src[i] {
		case '"':
			b.WriteString(l.src[start:i])
			// Strings may hold octets that are not UTF-8 (RFC 5228
			// section 2.4.2).
			l.advance(i + 1 - l.off)
			return token{kind: tokString, pos: p, text: b.String()}, nil
		case '\\':
			b.WriteString(l.src[start:i])
			if i+1 < len(l.src) {
				b.WriteByte(l.src[i+1])
				i += 2
			} else {
				i++
			}
			start = i
		default:
			i++
		}
	}
	return token{}, errAt(p, ErrSyntax, "unterminated string")
}

// multiline reads a "text:" string after its n-byte introducer: the rest
// of the line (white space and an optional hash comment), then lines up
// to one holding a single ".", with a leading ".." unstuffed.
func (l *lexer) multiline(p position, n int) (token, *Error) {
	i := l.off + n
	for i < len(l.src) && (l.src[i] == ' ' || l.src[i] == '\t') {
		i++
	}
	if i < len(l.src) && l.src[i] == '#' {
		for i < len(l.src) && l.src[i] != '\n' {
			i++
		}
	}
	if i < len(l.src) && l.src[i] == '\r' {
		i++
	}
	if i >= len(l.src) || l.src[i] != '\n' {
		return token{}, errAt(p, ErrSyntax, "text: must be followed by a line break")
	}
	i++
	var b strings.Builder
	for i < len(l.src) {
		end := strings.IndexByte(l.src[i:], '\n')
		if end < 0 {
			break
		}
		line := l.src[i : i+end+1] // with its LF
		body := strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if body == "." {
			l.advance(i + end + 1 - l.off)
			return token{kind: tokString, pos: p, text: b.String()}, nil
		}
		if strings.HasPrefix(line, "..") {
			line = line[1:]
		}
		// Line breaks inside a multi-line string are CRLF (RFC 5228
		// section 2.4.2 writes them as CRLF in the script).
		b.WriteString(strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r"))
		b.WriteString("\r\n")
		i += end + 1
	}
	return token{}, errAt(p, ErrSyntax, "unterminated multi-line string")
}
