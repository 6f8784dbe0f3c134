package managesieve

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/heraldmail/herald/internal/wire"
)

// MaxNumber is the largest number of RFC 5804 section 4: 4,294,967,295.
const MaxNumber = 1<<32 - 1

// Command is one parsed command: its name in upper case and its arguments
// in order.
type Command struct {
	// Name is the command name, upper-cased ("PUTSCRIPT").
	Name string
	// Args are the arguments after the name.
	Args []Arg
}

// Arg is one argument of a command or one token of a response.
type Arg struct {
	// Value is the text of an atom or the content of a string.
	Value []byte
	// Atom is set for a bare atom or number rather than a string.
	Atom bool
	// Literal is set for a string sent as a literal ({n+} or {n}).
	Literal bool
}

// String returns Value as a string.
func (a Arg) String() string { return string(a.Value) }

// A token of the lexer: an atom, a string, or a parenthesis (in
// responses).
type tokKind uint8

const (
	tokAtom tokKind = iota + 1
	tokString
	tokOpen
	tokClose
)

type token struct {
	kind    tokKind
	val     []byte
	literal bool
}

// syntaxError is a command the server cannot parse; its text goes on the
// wire after "NO".
type syntaxError string

func (e syntaxError) Error() string { return string(e) }

// tooLargeError is a literal over its limit whose bytes were discarded, so
// the connection is in sync again; script tells a script argument
// (answered with QUOTA/MAXSIZE) from any other.
type tooLargeError struct{ script bool }

func (e tooLargeError) Error() string { return "literal too large" }

// fatalError is input the server cannot resynchronize after: it answers
// BYE and closes the connection.
type fatalError string

func (e fatalError) Error() string { return string(e) }

// lexer reads the tokens of one command or response: lines from a
// wire.Reader, with the literals between them.
type lexer struct {
	r       *wire.Reader
	line    []byte
	pos     int
	maxLine int
	// limit returns the largest literal allowed as the token numbered
	// i (0 is the first after the command name), and whether that token
	// is a script.
	limit func(i int) (n int64, script bool)
	// discard is the largest literal over its limit that is read and
	// dropped rather than answered with BYE.
	discard int64
	ntok    int
	// sync makes the lexer accept {n} literals as well as {n+}; the
	// server does so, without a continuation request.
	sync bool
}

// readLine reads the next line of the command into the lexer.
func (l *lexer) readLine() error {
	line, _, err := l.r.ReadLine(l.maxLine)
	if err != nil {
		if errors.Is(err, wire.ErrLineTooLong) {
			return fatalError("Line too long")
		}
		return err
	}
	l.line, l.pos = line, 0
	return nil
}

// atEnd reports whether the line has no more tokens.
func (l *lexer) atEnd() bool {
	for l.pos < len(l.line) && l.line[l.pos] == ' ' {
		l.pos++
	}
	return l.pos == len(l.line)
}

func isAtomChar(c byte) bool {
	return c > ' ' && c < 0x7f && c != '"' && c != '{' && c != '}' && c != '(' && c != ')' && c != '\\'
}

// next returns the next token; call atEnd first.
func (l *lexer) next() (token, error) {
	c := l.line[l.pos]
	switch {
	case c == '"':
		return l.quoted()
	case c == '{':
		return l.literal()
	case c == '(':
		l.pos++
		return token{kind: tokOpen}, nil
	case c == ')':
		l.pos++
		return token{kind: tokClose}, nil
	case isAtomChar(c):
		start := l.pos
		for l.pos < len(l.line) && isAtomChar(l.line[l.pos]) {
			l.pos++
		}
		if l.pos < len(l.line) && l.line[l.pos] != ' ' && l.line[l.pos] != ')' && l.line[l.pos] != '(' {
			return token{}, syntaxError("Invalid character in atom")
		}
		l.ntok++
		return token{kind: tokAtom, val: l.line[start:l.pos]}, nil
	}
	return token{}, syntaxError("Invalid character")
}

// quoted reads a quoted string: UTF-8 without CR, LF or NUL, with \" and
// \\ as the only escapes (RFC 5804 section 4).
func (l *lexer) quoted() (token, error) {
	l.pos++
	var b []byte
	start := l.pos
	for l.pos < len(l.line) {
		c := l.line[l.pos]
		switch c {
		case '"':
			if b == nil {
				b = l.line[start:l.pos]
			}
			l.pos++
			if !utf8.Valid(b) {
				return token{}, syntaxError("Invalid UTF-8 in string")
			}
			l.ntok++
			return token{kind: tokString, val: b}, nil
		case '\\':
			if l.pos+1 >= len(l.line) || (l.line[l.pos+1] != '"' && l.line[l.pos+1] != '\\') {
				return token{}, syntaxError("Invalid escape in quoted string")
			}
			if b == nil {
				b = append([]byte(nil), l.line[start:l.pos]...)
			}
			b = append(b, l.line[l.pos+1])
			l.pos += 2
			continue
		case 0, '\r', '\n':
			return token{}, syntaxError("Invalid character in quoted string")
		}
		if b != nil {
			b = append(b, c)
		}
		l.pos++
	}
	return token{}, syntaxError("Unterminated quoted string")
}

// literalSpec parses "{n+}" or "{n}" at the end of line, returning n and
// whether the + was there; ok is false if the line does not end with one.
func literalSpec(line []byte) (n int64, plus, ok bool) {
	if len(line) < 3 || line[len(line)-1] != '}' {
		return 0, false, false
	}
	i := bytes.LastIndexByte(line, '{')
	if i < 0 {
		return 0, false, false
	}
	digits := line[i+1 : len(line)-1]
	if len(digits) > 0 && digits[len(digits)-1] == '+' {
		digits, plus = digits[:len(digits)-1], true
	}
	if len(digits) == 0 || len(digits) > 10 {
		return 0, false, false
	}
	for _, d := range digits {
		if d < '0' || d > '9' {
			return 0, false, false
		}
		n = n*10 + int64(d-'0')
	}
	if n > MaxNumber {
		return 0, false, false
	}
	return n, plus, true
}

// literalChunk is the buffer a literal starts with.
const literalChunk = 32 << 10

// literal reads a literal announced at the end of the line and the next
// line after it.
func (l *lexer) literal() (token, error) {
	n, plus, ok := literalSpec(l.line[l.pos:])
	if !ok || bytes.IndexByte(l.line[l.pos+1:], '{') >= 0 {
		return token{}, syntaxError("Invalid literal")
	}
	if !plus && !l.sync {
		return token{}, syntaxError("Invalid literal")
	}
	lim, script := l.limit(l.ntok)
	if n > lim {
		// The literal is on its way: drop it, and the rest of the
		// command, to stay in sync with the client.
		l.pos = len(l.line)
		if err := l.skipRest(); err != nil {
			return token{}, err
		}
		return token{}, tooLargeError{script: script}
	}
	// Memory follows the bytes that arrive, not the size announced: a
	// client announcing a large literal and sending nothing holds little.
	var buf bytes.Buffer
	buf.Grow(int(min(n, literalChunk)))
	if _, err := io.CopyN(&buf, l.r, n); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return token{}, err
	}
	val := buf.Bytes()
	if err := l.readLine(); err != nil {
		return token{}, err
	}
	if len(l.line) > 0 && l.line[0] != ' ' && l.line[0] != ')' {
		return token{}, syntaxError("Missing space after literal")
	}
	l.ntok++
	return token{kind: tokString, val: val, literal: true}, nil
}

// skipRest consumes the rest of a command after a syntax error: every
// literal announced at the end of a line and the lines after it.
func (l *lexer) skipRest() error {
	for {
		n, _, ok := literalSpec(l.line)
		if !ok {
			return nil
		}
		if n > l.discard {
			return fatalError("Literal too large")
		}
		if _, err := io.CopyN(io.Discard, l.r, n); err != nil {
			return err
		}
		if err := l.readLine(); err != nil {
			return err
		}
	}
}

// limits bound the commands the server reads.
type limits struct {
	line    int   // one line without CRLF, literals aside
	str     int64 // a literal that is not a script
	script  int64 // a literal script
	discard int64 // a literal dropped after a NO rather than BYE
	args    int   // arguments of one command
}

// isScriptArg reports whether argument i of the command name is script
// content.
func isScriptArg(name string, i int) bool {
	return name == "PUTSCRIPT" && i == 1 || name == "CHECKSCRIPT" && i == 0
}

// readCommand parses a command whose first line is line, reading its
// literals and continuation lines from r. A syntaxError or tooLargeError
// leaves r at the start of the next command; a fatalError or a read error
// does not.
func readCommand(r *wire.Reader, line []byte, lim limits) (Command, error) {
	var cmd Command
	l := &lexer{r: r, line: line, maxLine: lim.line, discard: lim.discard, sync: true}
	l.limit = func(i int) (int64, bool) {
		if isScriptArg(cmd.Name, i) {
			return lim.script, true
		}
		return lim.str, false
	}
	fail := func(err error) (Command, error) {
		var se syntaxError
		if errors.As(err, &se) {
			l.pos = len(l.line)
			if err2 := l.skipRest(); err2 != nil {
				return Command{}, err2
			}
		}
		return Command{}, err
	}
	if l.atEnd() {
		return fail(syntaxError("Empty command"))
	}
	t, err := l.next()
	if err != nil {
		return fail(err)
	}
	if t.kind != tokAtom {
		return fail(syntaxError("Command name expected"))
	}
	cmd.Name = strings.ToUpper(string(t.val))
	l.ntok = 0
	for !l.atEnd() {
		if len(cmd.Args) >= lim.args {
			return fail(syntaxError("Too many arguments"))
		}
		t, err := l.next()
		if err != nil {
			return fail(err)
		}
		if t.kind != tokAtom && t.kind != tokString {
			return fail(syntaxError("Unexpected parenthesis"))
		}
		if !t.literal {
			// Atoms and quoted strings point into the line buffer,
			// which the next line overwrites.
			t.val = append([]byte{}, t.val...)
		}
		cmd.Args = append(cmd.Args, Arg{Value: t.val, Atom: t.kind == tokAtom, Literal: t.literal})
	}
	return cmd, nil
}

// parseNumber parses a number of RFC 5804 section 4.
func parseNumber(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 10 {
		return 0, false
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || n < 0 || n > MaxNumber || b[0] == '+' {
		return 0, false
	}
	return n, true
}

// ValidName reports whether name is a script name RFC 5804 section 1.6
// allows: not empty, UTF-8, and without the control characters U+0000 to
// U+001F and U+007F to U+009F, the line separator U+2028 and the paragraph
// separator U+2029. It does not check for Unicode normalization form C,
// which Net-Unicode (RFC 5198) asks of the client.
func ValidName(name string) bool {
	if name == "" || !utf8.ValidString(name) {
		return false
	}
	for _, r := range name {
		if r < 0x20 || r >= 0x7f && r <= 0x9f || r == 0x2028 || r == 0x2029 {
			return false
		}
	}
	return true
}
