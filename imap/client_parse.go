package imap

import (
	"bufio"
	"io"
	"strconv"
	"strings"
)

// Value is one data item of a server response as the client reads it: an
// atom (NIL and numbers included), a string (quoted or literal) or a
// parenthesised list.
type Value struct {
	// Atom is set for atoms, such as "NIL", "42" or "BODY[1]<0>".
	Atom string
	// Str is set for strings; IsStr tells an empty string from an atom.
	Str   string
	IsStr bool
	// List holds the elements of a list; IsList tells an empty list from
	// an atom.
	List   []Value
	IsList bool
}

// IsNil reports whether v is the atom NIL.
func (v Value) IsNil() bool { return !v.IsStr && !v.IsList && strings.EqualFold(v.Atom, "NIL") }

// String returns the text of a string or atom; NIL gives "".
func (v Value) String() string {
	switch {
	case v.IsStr:
		return v.Str
	case v.IsNil():
		return ""
	}
	return v.Atom
}

// Number returns v as a number and whether it is one.
func (v Value) Number() (int64, bool) {
	if v.IsStr || v.IsList {
		return 0, false
	}
	n, err := strconv.ParseInt(v.Atom, 10, 64)
	return n, err == nil && n >= 0
}

// response is one response line of the server, literals included.
type response struct {
	tag    string // "*" for untagged, "+" for a continuation request
	num    uint32 // the number of "* n EXISTS" and the like
	name   string // upper case: OK, NO, EXISTS, FETCH, LIST...
	code   string // the response code of a status response, brackets removed
	text   string // the text of a status response or continuation
	fields []Value
}

// respParser reads server responses with bounded literals and nesting.
type respParser struct {
	r        *bufio.Reader
	maxLit   int64
	maxDepth int
	maxLine  int
	n        int // bytes of the current line
}

func (p *respParser) readByte() (byte, error) {
	c, err := p.r.ReadByte()
	if err == nil {
		p.n++
		if p.n > p.maxLine {
			return 0, &ProtocolError{Msg: "response line too long"}
		}
	}
	return c, err
}

func (p *respParser) peek() (byte, error) {
	b, err := p.r.Peek(1)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

// ProtocolError is a response the client could not parse: the server broke
// the protocol, and the connection cannot be used any more.
type ProtocolError struct{ Msg string }

func (e *ProtocolError) Error() string { return "imap: protocol error: " + e.Msg }

// readResponse reads one response.
func (p *respParser) readResponse() (*response, error) {
	p.n = 0
	tag, err := p.word()
	if err != nil {
		return nil, err
	}
	r := &response{tag: tag}
	if tag == "+" {
		r.text, err = p.restOfLine()
		return r, err
	}
	name, err := p.word()
	if err != nil {
		return nil, err
	}
	if n, err := strconv.ParseUint(name, 10, 32); err == nil && tag == "*" {
		r.num = uint32(n)
		if name, err = p.word(); err != nil {
			return nil, err
		}
	}
	r.name = strings.ToUpper(name)
	switch r.name {
	case "OK", "NO", "BAD", "BYE", "PREAUTH":
		return r, p.statusText(r)
	}
	for {
		c, err := p.peek()
		if err != nil {
			return nil, err
		}
		if c == '\r' || c == '\n' {
			return r, p.crlf()
		}
		if c == ' ' {
			p.readByte()
			continue
		}
		v, err := p.value(0)
		if err != nil {
			return nil, err
		}
		r.fields = append(r.fields, v)
	}
}

// word reads up to a space (consumed) or the end of the line (not).
func (p *respParser) word() (string, error) {
	var b []byte
	for {
		c, err := p.peek()
		if err != nil {
			return "", err
		}
		if c == ' ' {
			p.readByte()
			break
		}
		if c == '\r' || c == '\n' {
			break
		}
		p.readByte()
		b = append(b, c)
	}
	if len(b) == 0 {
		return "", &ProtocolError{Msg: "empty token"}
	}
	return string(b), nil
}

func (p *respParser) restOfLine() (string, error) {
	var b []byte
	for {
		c, err := p.readByte()
		if err != nil {
			return "", err
		}
		if c == '\n' {
			return strings.TrimSuffix(string(b), "\r"), nil
		}
		b = append(b, c)
	}
}

func (p *respParser) crlf() error {
	_, err := p.restOfLine()
	return err
}

// statusText reads "[code] text" of a status response.
func (p *respParser) statusText(r *response) error {
	line, err := p.restOfLine()
	if err != nil {
		return err
	}
	if strings.HasPrefix(line, "[") {
		if i := strings.IndexByte(line, ']'); i > 0 {
			r.code = line[1:i]
			line = strings.TrimPrefix(line[i+1:], " ")
		}
	}
	r.text = line
	return nil
}

func (p *respParser) value(depth int) (Value, error) {
	if depth > p.maxDepth {
		return Value{}, &ProtocolError{Msg: "response nested too deep"}
	}
	c, err := p.peek()
	if err != nil {
		return Value{}, err
	}
	switch c {
	case '(':
		p.readByte()
		v := Value{IsList: true}
		for {
			c, err := p.peek()
			if err != nil {
				return v, err
			}
			switch c {
			case ')':
				p.readByte()
				return v, nil
			case ' ':
				p.readByte()
				continue
			case '\r', '\n':
				return v, &ProtocolError{Msg: "unterminated list"}
			}
			e, err := p.value(depth + 1)
			if err != nil {
				return v, err
			}
			v.List = append(v.List, e)
		}
	case '"':
		p.readByte()
		var b []byte
		for {
			c, err := p.readByte()
			if err != nil {
				return Value{}, err
			}
			switch c {
			case '"':
				return Value{Str: string(b), IsStr: true}, nil
			case '\\':
				if c, err = p.readByte(); err != nil {
					return Value{}, err
				}
			case '\r', '\n':
				return Value{}, &ProtocolError{Msg: "line ending in a quoted string"}
			}
			b = append(b, c)
		}
	case '{', '~':
		if c == '~' {
			p.readByte()
		}
		p.readByte()
		var n int64
		for {
			c, err := p.readByte()
			if err != nil {
				return Value{}, err
			}
			if c == '}' {
				break
			}
			if c < '0' || c > '9' || n > p.maxLit {
				return Value{}, &ProtocolError{Msg: "invalid literal"}
			}
			n = n*10 + int64(c-'0')
		}
		if n > p.maxLit {
			return Value{}, &ProtocolError{Msg: "literal too big"}
		}
		if err := p.crlf(); err != nil {
			return Value{}, err
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(p.r, buf); err != nil {
			return Value{}, err
		}
		p.n = 0
		return Value{Str: string(buf), IsStr: true}, nil
	}
	var b []byte
	for {
		c, err := p.peek()
		if err != nil {
			return Value{}, err
		}
		if c == ' ' || c == ')' || c == '(' || c == '\r' || c == '\n' {
			break
		}
		p.readByte()
		b = append(b, c)
		if c == '[' {
			// A section: up to its "]", spaces and lists included.
			for c != ']' {
				if c, err = p.readByte(); err != nil {
					return Value{}, err
				}
				if c == '\n' {
					return Value{}, &ProtocolError{Msg: "unterminated section"}
				}
				b = append(b, c)
			}
		}
	}
	if len(b) == 0 {
		return Value{}, &ProtocolError{Msg: "unexpected " + strconv.QuoteRune(rune(c))}
	}
	return Value{Atom: string(b)}, nil
}
