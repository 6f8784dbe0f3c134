package dsn

import "errors"

// Category sentinels. Every error this package returns for bad input, an
// exceeded limit or an unusable notification is an *Error that unwraps to one
// of these; test with errors.Is. I/O errors of the underlying reader or
// writer are returned as they are, and errors of packages message and mime
// are wrapped.
var (
	// ErrNotReport reports a message that is not a delivery status
	// notification and in which heuristics found no failed recipient.
	ErrNotReport = errors.New("dsn: not a delivery status notification")
	// ErrSyntax reports a delivery-status body that cannot be read as
	// fields (RFC 3464 section 2.1).
	ErrSyntax = errors.New("dsn: syntax error")
	// ErrTooLarge reports input beyond a limit of ParseOptions.
	ErrTooLarge = errors.New("dsn: input too large")
	// ErrInvalidReport reports a report that cannot be written: no
	// recipient, a recipient without Final-Recipient or with an invalid
	// Action or Status, or a value holding CR or LF.
	ErrInvalidReport = errors.New("dsn: invalid report")
	// ErrNullSender reports a notification addressed to the null reverse
	// path: a bounce is never sent to "<>" (RFC 3461 section 6.1, RFC
	// 5321 section 4.5.5).
	ErrNullSender = errors.New("dsn: notification to the null reverse path")
)

// Error is the typed error of this package.
type Error struct {
	Op  string // "parse", "parse status", "validate", "write"
	Err error  // a category sentinel, or an error of package message or mime
	Msg string // what was wrong, for logs
}

// Error formats the error as "dsn: <op>: <category>: <msg>".
func (e *Error) Error() string {
	s := "dsn: " + e.Op + ": " + e.Err.Error()
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	return s
}

// Unwrap returns the category sentinel or the wrapped error.
func (e *Error) Unwrap() error { return e.Err }
