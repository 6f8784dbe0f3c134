package imap

import (
	"bufio"
	"io"
	"strconv"
	"strings"
	"time"
)

// limits are the resolved bounds a decoder enforces.
type limits struct {
	line      int   // bytes of command text between literals
	literal   int64 // APPEND message literal
	strLit    int   // any other literal
	depth     int   // nesting of parenthesised lists and search keys
	items     int   // items of one list, search keys of one command
	setRanges int   // ranges of one sequence set
	// nonSync bounds a non-synchronizing literal (LITERAL-, RFC 7888
	// section 5); 0 means only the other limits apply (LITERAL+).
	nonSync int64
}

// literalMinusMax is the largest non-synchronizing literal LITERAL-
// allows (RFC 7888 section 5).
const literalMinusMax = 4096

// decoder reads one command from the connection, token by token, with the
// grammar of RFC 9051 section 9. Its methods are named after the ABNF rules
// they read. Literals are read through the connection's reader: a
// synchronizing literal first asks cont for permission, which sends the
// continuation request.
type decoder struct {
	r     *bufio.Reader
	lim   limits
	n     int // bytes of the current line so far
	items int // items counted in this command
	cont  func(size int64) error
	// fatal is set when the stream cannot be resynchronised (a
	// non-synchronizing literal over the limit): the connection must end.
	fatal bool
	// last is the last byte read of command text.
	last byte
	// sawLiteral records a literal in the command, so that a parse error
	// after one is not mistaken for a line the client still sends.
	sawLiteral bool
	// saved returns the result of the last SEARCH ... SAVE (RFC 5182)
	// for "$", as UIDs or as sequence numbers (uidSet, which the UID
	// commands and the UID search key set); nil makes "$" a syntax
	// error.
	saved  func(uid bool) SeqSet
	uidSet bool
}

func newDecoder(r *bufio.Reader, lim limits, cont func(int64) error) *decoder {
	return &decoder{r: r, lim: lim, cont: cont}
}

// reset prepares the decoder for the next command.
func (d *decoder) reset() {
	d.n = 0
	d.items = 0
	d.fatal = false
	d.sawLiteral = false
	d.last = 0
	d.uidSet = false
}

func (d *decoder) peek() (byte, error) {
	b, err := d.r.Peek(1)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

func (d *decoder) readByte() (byte, error) {
	c, err := d.r.ReadByte()
	if err != nil {
		return 0, err
	}
	d.n++
	d.last = c
	if d.n > d.lim.line+2 {
		return 0, &SyntaxError{Msg: "Command line too long", Err: ErrLineTooLong}
	}
	return c, nil
}

// expect reads the byte c.
func (d *decoder) expect(c byte, what string) error {
	got, err := d.readByte()
	if err != nil {
		return err
	}
	if got != c {
		return syntaxErr("Expected %s", what)
	}
	return nil
}

func (d *decoder) sp() error { return d.expect(' ', "SP") }

// crlf reads the end of the command line. A bare LF is accepted, as most
// servers do.
func (d *decoder) crlf() error {
	c, err := d.readByte()
	if err != nil {
		return err
	}
	if c == '\r' {
		c, err = d.readByte()
		if err != nil {
			return err
		}
	}
	if c != '\n' {
		return syntaxErr("Expected end of line")
	}
	return nil
}

// skipLine discards the rest of a command after a parse error, so that the
// next command is read from its start. A non-synchronizing literal announced
// at the end of a line is discarded with it, as its bytes are not a command.
func (d *decoder) skipLine() error {
	if d.last == '\n' {
		return nil
	}
	var tail [24]byte
	nt := 0
	for {
		c, err := d.r.ReadByte()
		if err != nil {
			return err
		}
		if c != '\n' {
			if nt == len(tail) {
				copy(tail[:], tail[1:])
				nt--
			}
			tail[nt] = c
			nt++
			continue
		}
		line := strings.TrimSuffix(string(tail[:nt]), "\r")
		nt = 0
		i := strings.LastIndexByte(line, '{')
		if i < 0 || !strings.HasSuffix(line, "+}") {
			return nil
		}
		n, err := strconv.ParseInt(line[i+1:len(line)-2], 10, 64)
		if err != nil || n < 0 {
			return nil
		}
		if n > d.lim.literal {
			d.fatal = true
			return limitErr("Literal too big")
		}
		if _, err := io.CopyN(io.Discard, d.r, n); err != nil {
			return err
		}
	}
}

func (d *decoder) countItem() error {
	d.items++
	if d.items > d.lim.items {
		return limitErr("Too many items in command")
	}
	return nil
}

func isAtomChar(c byte) bool {
	if c <= 0x1f || c >= 0x7f {
		return false
	}
	switch c {
	case '(', ')', '{', ' ', '%', '*', '"', '\\', ']':
		return false
	}
	return true
}

// atom reads 1*ATOM-CHAR; extra lists bytes allowed beyond ATOM-CHAR (such
// as "]" for astring or "%*" for list-mailbox).
func (d *decoder) atomExtra(extra string) (string, error) {
	var b []byte
	for {
		c, err := d.peek()
		if err != nil {
			if len(b) > 0 && err == io.EOF {
				break
			}
			return "", err
		}
		if !isAtomChar(c) && (extra == "" || strings.IndexByte(extra, c) < 0) {
			break
		}
		if _, err := d.readByte(); err != nil {
			return "", err
		}
		b = append(b, c)
	}
	if len(b) == 0 {
		return "", syntaxErr("Expected atom")
	}
	return string(b), nil
}

func (d *decoder) atom() (string, error) { return d.atomExtra("") }

// number64 reads a number64 (RFC 9051, up to 2^63-1).
func (d *decoder) number64() (int64, error) {
	n, err := d.digits(1<<63-1, "number", "Number too large")
	return int64(n), err
}

// digits reads the decimal digits of a number of at most max; what names
// it in the error for no digits, tooLarge is the error for one over max.
func (d *decoder) digits(max uint64, what, tooLarge string) (uint64, error) {
	var n uint64
	digits := 0
	for {
		c, err := d.peek()
		if err != nil {
			return 0, err
		}
		if c < '0' || c > '9' {
			break
		}
		d.readByte()
		digits++
		if n > (max-uint64(c-'0'))/10 {
			return 0, syntaxErr("%s", tooLarge)
		}
		n = n*10 + uint64(c-'0')
	}
	if digits == 0 {
		return 0, syntaxErr("Expected %s", what)
	}
	return n, nil
}

func (d *decoder) number() (uint32, error) {
	n, err := d.number64()
	if err != nil {
		return 0, err
	}
	if n > 1<<32-1 {
		return 0, syntaxErr("Number too large")
	}
	return uint32(n), nil
}

func (d *decoder) nzNumber() (uint32, error) {
	n, err := d.number()
	if err == nil && n == 0 {
		err = syntaxErr("Expected non-zero number")
	}
	return n, err
}

// quoted reads a quoted string after its opening quote was peeked.
func (d *decoder) quoted() (string, error) {
	if err := d.expect('"', "quoted string"); err != nil {
		return "", err
	}
	var b []byte
	for {
		c, err := d.readByte()
		if err != nil {
			return "", err
		}
		switch c {
		case '"':
			return string(b), nil
		case '\\':
			c, err = d.readByte()
			if err != nil {
				return "", err
			}
			if c != '"' && c != '\\' {
				return "", syntaxErr("Invalid escape in quoted string")
			}
		case '\r', '\n', 0:
			return "", syntaxErr("Invalid character in quoted string")
		}
		b = append(b, c)
	}
}

// literalHeader reads "{n}", "{n+}" or "~{n}" and the CRLF after it, and
// asks for the literal when it is synchronizing. max bounds n.
func (d *decoder) literalHeader(max int64, binary bool) (int64, error) {
	c, err := d.readByte()
	if err != nil {
		return 0, err
	}
	if c == '~' {
		if !binary {
			return 0, syntaxErr("literal8 not allowed here")
		}
		c, err = d.readByte()
		if err != nil {
			return 0, err
		}
	}
	if c != '{' {
		return 0, syntaxErr("Expected literal")
	}
	n, err := d.number64()
	if err != nil {
		return 0, err
	}
	sync := true
	c, err = d.readByte()
	if err != nil {
		return 0, err
	}
	if c == '+' || c == '-' {
		sync = false
		if c, err = d.readByte(); err != nil {
			return 0, err
		}
	}
	if c != '}' {
		return 0, syntaxErr("Expected '}'")
	}
	if err := d.crlf(); err != nil {
		return 0, err
	}
	d.sawLiteral = true
	if !sync && d.lim.nonSync > 0 && n > d.lim.nonSync && n <= max {
		// LITERAL-: BAD [TOOBIG] (RFC 7888 section 5); the bytes
		// follow anyway and are skipped.
		if n > d.lim.literal {
			d.fatal = true
		} else if _, err := io.CopyN(io.Discard, d.r, n); err != nil {
			return 0, err
		} else {
			d.last = 0
		}
		return 0, limitErr("Non-synchronizing literal over 4096 bytes (LITERAL-)")
	}
	if n > max {
		if !sync {
			// The client sends it anyway: skip it when that is
			// affordable, else the stream cannot be resynchronised.
			if n > d.lim.literal {
				d.fatal = true
			} else if _, err := io.CopyN(io.Discard, d.r, n); err != nil {
				return 0, err
			} else {
				d.last = 0 // the rest of the line follows
			}
		}
		if binary {
			// The APPEND message: NO, as RFC 9051 section 6.3.12 asks.
			return 0, &Error{Type: StatusNo, Code: CodeTooBig, Text: "Message too big", Err: ErrTooBig}
		}
		return 0, limitErr("Literal too big")
	}
	if sync && d.cont != nil {
		if err := d.cont(n); err != nil {
			return 0, err
		}
	}
	d.n = 0
	return n, nil
}

// literal reads a literal string held in memory, bounded by lim.strLit.
func (d *decoder) literal() (string, error) {
	n, err := d.literalHeader(int64(d.lim.strLit), false)
	if err != nil {
		return "", err
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(d.r, buf); err != nil {
		return "", err
	}
	d.last = 0
	return string(buf), nil
}

// string reads a quoted string or a literal.
func (d *decoder) string() (string, error) {
	c, err := d.peek()
	if err != nil {
		return "", err
	}
	switch c {
	case '"':
		return d.quoted()
	case '{':
		return d.literal()
	}
	return "", syntaxErr("Expected string")
}

// astring reads 1*ASTRING-CHAR or a string.
func (d *decoder) astring() (string, error) {
	c, err := d.peek()
	if err != nil {
		return "", err
	}
	if c == '"' || c == '{' {
		return d.string()
	}
	return d.atomExtra("]")
}

// mailbox reads a mailbox name; "INBOX" in any case is INBOX.
func (d *decoder) mailbox() (string, error) {
	s, err := d.astring()
	if err != nil {
		return "", err
	}
	return normMailbox(s), nil
}

func normMailbox(s string) string {
	if strings.EqualFold(s, "INBOX") {
		return "INBOX"
	}
	if len(s) > 6 && strings.EqualFold(s[:6], "INBOX/") {
		return "INBOX" + s[5:]
	}
	return s
}

// listMailbox reads a LIST pattern: 1*list-char or a string.
func (d *decoder) listMailbox() (string, error) {
	c, err := d.peek()
	if err != nil {
		return "", err
	}
	if c == '"' || c == '{' {
		return d.string()
	}
	return d.atomExtra("]%*")
}

// list reads a parenthesised list, calling item for each element.
func (d *decoder) list(item func() error) error {
	if err := d.expect('(', "'('"); err != nil {
		return err
	}
	c, err := d.peek()
	if err != nil {
		return err
	}
	if c == ')' {
		d.readByte()
		return nil
	}
	for {
		if err := d.countItem(); err != nil {
			return err
		}
		if err := item(); err != nil {
			return err
		}
		c, err := d.readByte()
		if err != nil {
			return err
		}
		if c == ')' {
			return nil
		}
		if c != ' ' {
			return syntaxErr("Expected SP or ')'")
		}
	}
}

// flag reads a flag: "\" atom or a keyword atom.
func (d *decoder) flag(allowRecent bool) (Flag, error) {
	c, err := d.peek()
	if err != nil {
		return "", err
	}
	if c == '\\' {
		d.readByte()
		a, err := d.atom()
		if err != nil {
			return "", err
		}
		f := canonicalFlag(Flag(`\` + a))
		switch f {
		case FlagSeen, FlagAnswered, FlagFlagged, FlagDeleted, FlagDraft:
			return f, nil
		case FlagRecent:
			if allowRecent {
				return f, nil
			}
		}
		return "", syntaxErr("Invalid system flag")
	}
	a, err := d.atom()
	return Flag(a), err
}

func (d *decoder) flagList() ([]Flag, error) {
	var fs []Flag
	err := d.list(func() error {
		f, err := d.flag(false)
		if err == nil && !hasFlag(fs, f) {
			fs = append(fs, f)
		}
		return err
	})
	return fs, err
}

// seqSet reads a sequence-set.
func (d *decoder) seqSet() (SeqSet, error) {
	if c, _ := d.peek(); c == '$' && d.saved != nil {
		d.readByte()
		return d.saved(d.uidSet), nil
	}
	var set SeqSet
	for {
		if len(set) >= d.lim.setRanges {
			return nil, limitErr("Sequence set too large")
		}
		a, err := d.seqNumber()
		if err != nil {
			return nil, err
		}
		r := SeqRange{a, a}
		c, err := d.peek()
		if err != nil {
			return nil, err
		}
		if c == ':' {
			d.readByte()
			if r.Stop, err = d.seqNumber(); err != nil {
				return nil, err
			}
			c, err = d.peek()
			if err != nil {
				return nil, err
			}
		}
		set = append(set, r)
		if c != ',' {
			return set, nil
		}
		d.readByte()
	}
}

func (d *decoder) seqNumber() (uint32, error) {
	c, err := d.peek()
	if err != nil {
		return 0, err
	}
	if c == '*' {
		d.readByte()
		return 0, nil
	}
	return d.nzNumber()
}

var months = [...]string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}

// parseDate parses date-text "d-Mon-yyyy" (RFC 9051 date).
func parseDate(s string) (time.Time, bool) {
	parts := strings.Split(s, "-")
	if len(parts) != 3 || len(parts[0]) < 1 || len(parts[0]) > 2 || len(parts[2]) != 4 {
		return time.Time{}, false
	}
	day, err1 := strconv.Atoi(parts[0])
	year, err2 := strconv.Atoi(parts[2])
	mon := 0
	for i, m := range months {
		if strings.EqualFold(parts[1], m) {
			mon = i + 1
		}
	}
	if err1 != nil || err2 != nil || mon == 0 || day < 1 || day > 31 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(mon), day, 0, 0, 0, 0, time.UTC)
	if t.Day() != day {
		return time.Time{}, false
	}
	return t, true
}

// date reads a date: date-text or DQUOTE date-text DQUOTE.
func (d *decoder) date() (time.Time, error) {
	s, err := d.astring()
	if err != nil {
		return time.Time{}, err
	}
	t, ok := parseDate(s)
	if !ok {
		return time.Time{}, syntaxErr("Invalid date")
	}
	return t, nil
}

// parseDateTime parses date-time "dd-Mon-yyyy hh:mm:ss +zzzz" (the day may
// start with a space).
func parseDateTime(s string) (time.Time, bool) {
	if len(s) != 26 {
		return time.Time{}, false
	}
	t, err := time.Parse("_2-Jan-2006 15:04:05 -0700", s)
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}
