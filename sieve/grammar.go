package sieve

// The raw syntax tree of RFC 5228 section 8.2, before the commands and
// tests are checked against their definitions.

type argKind uint8

const (
	argTag argKind = iota
	argNumber
	argStrings
)

type rawArg struct {
	kind argKind
	pos  position
	tag  string   // argTag: the name without ':'
	num  int64    // argNumber
	strs []string // argStrings
	list bool     // argStrings: written in brackets
}

type rawTest struct {
	name  string
	pos   position
	args  []rawArg
	tests []*rawTest
	list  bool // tests were written as a test-list in parentheses
}

type rawCmd struct {
	name     string
	pos      position
	args     []rawArg
	tests    []*rawTest
	list     bool
	block    []*rawCmd // nil without a block
	hasBlock bool
	end      position // position of the closing brace or semicolon
}

type parser struct {
	lex   *lexer
	tok   token
	limit Limits
	depth int
}

func (p *parser) advance() *Error {
	t, err := p.lex.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) isPunct(s string) bool { return p.tok.kind == tokPunct && p.tok.text == s }

func (p *parser) expect(s string) *Error {
	if !p.isPunct(s) {
		return p.unexpected("'" + s + "'")
	}
	return p.advance()
}

func (p *parser) unexpected(want string) *Error {
	var got string
	switch p.tok.kind {
	case tokEOF:
		got = "end of script"
	case tokIdent:
		got = "identifier " + quote(p.tok.text)
	case tokTag:
		got = "tag :" + p.tok.text
	case tokNumber:
		got = "number"
	case tokString:
		got = "string"
	default:
		got = "'" + p.tok.text + "'"
	}
	return errAt(p.tok.pos, ErrSyntax, "expected %s, found %s", want, got)
}

func (p *parser) enter(pos position) *Error {
	p.depth++
	if p.depth > p.limit.maxNesting() {
		return errAt(pos, ErrLimit, "nesting deeper than %d", p.limit.maxNesting())
	}
	return nil
}

// commands reads commands up to a '}' (inBlock) or the end of the script.
func (p *parser) commands(inBlock bool) ([]*rawCmd, *Error) {
	var cmds []*rawCmd
	for {
		if p.tok.kind == tokEOF {
			if inBlock {
				return nil, p.unexpected("'}'")
			}
			return cmds, nil
		}
		if inBlock && p.isPunct("}") {
			return cmds, nil
		}
		if p.tok.kind != tokIdent {
			return nil, p.unexpected("a command")
		}
		c := &rawCmd{name: p.tok.text, pos: p.tok.pos}
		if err := p.advance(); err != nil {
			return nil, err
		}
		var err *Error
		if c.args, c.tests, c.list, err = p.arguments(); err != nil {
			return nil, err
		}
		c.end = p.tok.pos
		switch {
		case p.isPunct(";"):
			if err := p.advance(); err != nil {
				return nil, err
			}
		case p.isPunct("{"):
			if err := p.enter(p.tok.pos); err != nil {
				return nil, err
			}
			if err := p.advance(); err != nil {
				return nil, err
			}
			c.hasBlock = true
			if c.block, err = p.commands(true); err != nil {
				return nil, err
			}
			c.end = p.tok.pos
			if err := p.expect("}"); err != nil {
				return nil, err
			}
			p.depth--
		default:
			return nil, p.unexpected("';' or '{'")
		}
		cmds = append(cmds, c)
	}
}

// arguments reads *argument [ test / test-list ].
func (p *parser) arguments() (args []rawArg, tests []*rawTest, list bool, err *Error) {
	for {
		switch p.tok.kind {
		case tokTag:
			args = append(args, rawArg{kind: argTag, pos: p.tok.pos, tag: p.tok.text})
		case tokNumber:
			args = append(args, rawArg{kind: argNumber, pos: p.tok.pos, num: p.tok.num})
		case tokString:
			args = append(args, rawArg{kind: argStrings, pos: p.tok.pos, strs: []string{p.tok.text}})
		case tokPunct:
			if p.tok.text == "[" {
				a, err := p.stringList()
				if err != nil {
					return nil, nil, false, err
				}
				args = append(args, a)
				continue
			}
			if p.tok.text == "(" {
				tests, err = p.testList()
				return args, tests, true, err
			}
			return args, nil, false, nil
		case tokIdent:
			t, err := p.test()
			if err != nil {
				return nil, nil, false, err
			}
			return args, []*rawTest{t}, false, nil
		default:
			return args, nil, false, nil
		}
		if err := p.advance(); err != nil {
			return nil, nil, false, err
		}
	}
}

func (p *parser) stringList() (rawArg, *Error) {
	a := rawArg{kind: argStrings, pos: p.tok.pos, list: true}
	if err := p.advance(); err != nil {
		return a, err
	}
	for {
		if p.tok.kind != tokString {
			return a, p.unexpected("a string")
		}
		a.strs = append(a.strs, p.tok.text)
		if err := p.advance(); err != nil {
			return a, err
		}
		if p.isPunct("]") {
			return a, p.advance()
		}
		if err := p.expect(","); err != nil {
			return a, err
		}
	}
}

func (p *parser) testList() ([]*rawTest, *Error) {
	if err := p.enter(p.tok.pos); err != nil {
		return nil, err
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	var tests []*rawTest
	for {
		if p.tok.kind != tokIdent {
			return nil, p.unexpected("a test")
		}
		t, err := p.test()
		if err != nil {
			return nil, err
		}
		tests = append(tests, t)
		if p.isPunct(")") {
			p.depth--
			return tests, p.advance()
		}
		if err := p.expect(","); err != nil {
			return nil, err
		}
	}
}

func (p *parser) test() (*rawTest, *Error) {
	if err := p.enter(p.tok.pos); err != nil {
		return nil, err
	}
	t := &rawTest{name: p.tok.text, pos: p.tok.pos}
	if err := p.advance(); err != nil {
		return nil, err
	}
	var err *Error
	if t.args, t.tests, t.list, err = p.arguments(); err != nil {
		return nil, err
	}
	p.depth--
	return t, nil
}

func quote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return "\"" + s + "\""
}
