package imap_test

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// node is a parsed response value: an atom (NIL included), a string or a
// list.
type node struct {
	atom string
	str  *string
	list []node
	isL  bool
}

// canon writes the value in one canonical form: strings quoted, whatever
// way they were sent.
func (n node) canon(fold bool) string {
	switch {
	case n.isL:
		parts := make([]string, len(n.list))
		for i, c := range n.list {
			parts[i] = c.canon(fold)
		}
		return "(" + strings.Join(parts, " ") + ")"
	case n.str != nil:
		s := *n.str
		if fold {
			s = strings.ToUpper(s)
		}
		return strconv.Quote(s)
	}
	if fold {
		return strings.ToUpper(n.atom)
	}
	return n.atom
}

// respReader parses server responses, literals included.
type respReader struct{ r *bufio.Reader }

func (p respReader) peek() (byte, error) {
	b, err := p.r.Peek(1)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

func (p respReader) value() (node, error) {
	c, err := p.peek()
	if err != nil {
		return node{}, err
	}
	switch c {
	case '(':
		p.r.ReadByte()
		n := node{isL: true}
		for {
			c, err := p.peek()
			if err != nil {
				return n, err
			}
			if c == ')' {
				p.r.ReadByte()
				return n, nil
			}
			if c == ' ' {
				p.r.ReadByte()
				continue
			}
			v, err := p.value()
			if err != nil {
				return n, err
			}
			n.list = append(n.list, v)
		}
	case '"':
		p.r.ReadByte()
		var b strings.Builder
		for {
			c, err := p.r.ReadByte()
			if err != nil {
				return node{}, err
			}
			if c == '"' {
				s := b.String()
				return node{str: &s}, nil
			}
			if c == '\\' {
				c, _ = p.r.ReadByte()
			}
			b.WriteByte(c)
		}
	case '{', '~':
		line, err := p.r.ReadString('\n')
		if err != nil {
			return node{}, err
		}
		i := strings.IndexByte(line, '{')
		n, err := strconv.Atoi(strings.TrimSuffix(line[i+1:strings.IndexByte(line, '}')], "+"))
		if err != nil {
			return node{}, err
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(p.r, buf); err != nil {
			return node{}, err
		}
		s := string(buf)
		return node{str: &s}, nil
	}
	var b strings.Builder
	for {
		c, err := p.peek()
		if err != nil || c == ' ' || c == ')' || c == '(' || c == '\r' || c == '\n' {
			break
		}
		// Section specs such as BODY[HEADER.FIELDS (A B)] keep their
		// brackets in the atom.
		if c == '[' {
			for {
				c, _ := p.r.ReadByte()
				b.WriteByte(c)
				if c == ']' {
					break
				}
			}
			continue
		}
		p.r.ReadByte()
		b.WriteByte(c)
	}
	if b.Len() == 0 {
		return node{}, fmt.Errorf("unexpected %q", c)
	}
	return node{atom: b.String()}, nil
}

// fetchResponse reads one line; for "* n FETCH (...)" it returns n and the
// items by name, otherwise n is 0 and line is the raw line.
func (p respReader) fetchResponse() (n int, items map[string]node, line string, err error) {
	head, err := p.r.Peek(2)
	if err != nil {
		return 0, nil, "", err
	}
	if string(head) != "* " {
		line, err = p.r.ReadString('\n')
		return 0, nil, line, err
	}
	p.r.Discard(2)
	num, err := p.value()
	if err != nil {
		return 0, nil, "", err
	}
	p.r.ReadByte()
	verb, err := p.value()
	if err != nil {
		return 0, nil, "", err
	}
	n, convErr := strconv.Atoi(num.atom)
	if verb.atom != "FETCH" || convErr != nil {
		rest, err := p.r.ReadString('\n')
		return 0, nil, "* " + num.atom + " " + verb.atom + rest, err
	}
	p.r.ReadByte()
	v, err := p.value()
	if err != nil {
		return 0, nil, "", err
	}
	p.r.ReadString('\n')
	items = map[string]node{}
	for i := 0; i+1 < len(v.list); i += 2 {
		items[v.list[i].atom] = v.list[i+1]
	}
	return n, items, "", nil
}
