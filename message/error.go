package message

import (
	"errors"
	"strconv"
	"strings"
)

// Category sentinels. Every error this package returns for bad input is an
// [*Error] whose Err field is one of these, so callers test the category with
// errors.Is. I/O errors from the underlying reader or writer are returned as
// they are.
var (
	// ErrHeaderTooLarge reports a header section longer than
	// ReadOptions.MaxHeaderBytes.
	ErrHeaderTooLarge = errors.New("message: header too large")
	// ErrTooManyFields reports more header fields than ReadOptions.MaxFields.
	ErrTooManyFields = errors.New("message: too many header fields")
	// ErrLineTooLong reports a header line longer than
	// ReadOptions.MaxLineLength, or, in strict mode, longer than the 998
	// octets RFC 5322 section 2.1.1 allows.
	ErrLineTooLong = errors.New("message: header line too long")
	// ErrMalformedHeader reports a header line that is neither a field nor a
	// continuation line (strict mode only; lenient mode repairs it), or a
	// byte RFC 5322 does not allow in a header.
	ErrMalformedHeader = errors.New("message: malformed header")
	// ErrInvalidField reports a field that cannot be written: its name is
	// empty or holds a character outside RFC 5322 ftext.
	ErrInvalidField = errors.New("message: invalid header field")
	// ErrSyntax reports a structured value (address, date, Message-ID,
	// encoded word) that does not follow its grammar.
	ErrSyntax = errors.New("message: syntax error")
	// ErrTooLong reports a structured value beyond a parser limit, such as
	// more addresses than [AddressParser] MaxAddresses.
	ErrTooLong = errors.New("message: value too long")
	// ErrUnknownCharset reports an RFC 2047 encoded word in a charset that
	// the charset lookup does not know.
	ErrUnknownCharset = errors.New("message: unknown charset")
)

// Error is the one error type of this package. Err is the category sentinel;
// Line is the 1-based header line where reading failed (0 when not
// applicable); Offset is the byte offset in the input or value; Msg says
// what was wrong for logs.
type Error struct {
	// Op names the operation: "read header", "parse address", ...
	Op string
	// Err is one of the category sentinels such as [ErrMalformedHeader].
	Err error
	// Line is the 1-based line number in the header, or 0.
	Line int
	// Offset is the byte offset into the header or the parsed value, or -1
	// when unknown.
	Offset int
	// Msg is a short description.
	Msg string
}

// Error formats the error as "message: <op>: line 3: <category>: <msg>".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("message: ")
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	if e.Line > 0 {
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteString(": ")
	}
	if e.Err != nil {
		b.WriteString(strings.TrimPrefix(e.Err.Error(), "message: "))
	} else {
		b.WriteString("error")
	}
	if e.Msg != "" {
		b.WriteString(": ")
		b.WriteString(e.Msg)
	}
	if e.Offset >= 0 && e.Line == 0 {
		b.WriteString(" at offset ")
		b.WriteString(strconv.Itoa(e.Offset))
	}
	return b.String()
}

// Unwrap returns the category sentinel.
func (e *Error) Unwrap() error { return e.Err }

func syntaxError(op string, off int, msg string) *Error {
	return &Error{Op: op, Err: ErrSyntax, Offset: off, Msg: msg}
}
