package imap

import (
	"errors"
	"fmt"
)

// StatusType is the kind of a status response (RFC 9051 section 7.1).
type StatusType string

// Status response types.
const (
	StatusOK  StatusType = "OK"
	StatusNo  StatusType = "NO"
	StatusBad StatusType = "BAD"
	StatusBye StatusType = "BYE"
)

// ResponseCode is the bracketed code of a status response (RFC 9051
// section 7.1), such as "TRYCREATE".
type ResponseCode string

// Response codes of RFC 9051 section 7.1 and its extensions that the server
// sends.
const (
	CodeAlert         ResponseCode = "ALERT"
	CodeAlreadyExists ResponseCode = "ALREADYEXISTS"
	CodeAuthFailed    ResponseCode = "AUTHENTICATIONFAILED"
	CodeCannot        ResponseCode = "CANNOT"
	CodeClientBug     ResponseCode = "CLIENTBUG"
	CodeLimit         ResponseCode = "LIMIT"
	CodeNonExistent   ResponseCode = "NONEXISTENT"
	CodeNoPerm        ResponseCode = "NOPERM"
	CodeOverQuota     ResponseCode = "OVERQUOTA"
	CodePrivacyReq    ResponseCode = "PRIVACYREQUIRED"
	CodeReadOnly      ResponseCode = "READ-ONLY"
	CodeReadWrite     ResponseCode = "READ-WRITE"
	CodeServerBug     ResponseCode = "SERVERBUG"
	CodeTooBig        ResponseCode = "TOOBIG"
	CodeTryCreate     ResponseCode = "TRYCREATE"
	CodeUnavailable   ResponseCode = "UNAVAILABLE"
	CodeExpungeIssued ResponseCode = "EXPUNGEISSUED"
	CodeUnknownCTE    ResponseCode = "UNKNOWN-CTE"
	CodeUseAttr       ResponseCode = "USEATTR"
	CodeParse         ResponseCode = "PARSE"
	CodeBadCharset    ResponseCode = "BADCHARSET"
)

// Error is a status response the server sends for a failed command: a
// Backend returns one (or wraps one) to choose the exact NO or BAD reply.
// Text goes on the wire as it is, so it must not hold internal detail.
type Error struct {
	// Type is StatusNo or StatusBad; StatusBye ends the connection.
	Type StatusType
	// Code is the optional response code.
	Code ResponseCode
	// Text is the human-readable text.
	Text string
	// Err is an optional category sentinel the error unwraps to; it is
	// never sent.
	Err error
}

func (e *Error) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("imap: %s [%s] %s", e.Type, e.Code, e.Text)
	}
	return fmt.Sprintf("imap: %s %s", e.Type, e.Text)
}

// Unwrap returns the category sentinel, if any.
func (e *Error) Unwrap() error { return e.Err }

// Category sentinels. A Backend returns them (wrapped or not) and the server
// answers each with a fixed NO reply and response code; test them with
// errors.Is.
var (
	// ErrNoSuchMailbox: the mailbox does not exist (NO [NONEXISTENT], or
	// [TRYCREATE] for APPEND, COPY and MOVE).
	ErrNoSuchMailbox = errors.New("imap: no such mailbox")
	// ErrMailboxExists: CREATE or RENAME to a name in use (NO
	// [ALREADYEXISTS]).
	ErrMailboxExists = errors.New("imap: mailbox already exists")
	// ErrPermission: the user may not do this (NO [NOPERM]).
	ErrPermission = errors.New("imap: permission denied")
	// ErrCannot: the operation can never succeed, such as deleting INBOX
	// (NO [CANNOT]).
	ErrCannot = errors.New("imap: operation not possible")
	// ErrOverQuota: the mailbox or account is full (NO [OVERQUOTA]).
	ErrOverQuota = errors.New("imap: over quota")
	// ErrAuthFailed: LOGIN or AUTHENTICATE failed (NO
	// [AUTHENTICATIONFAILED]).
	ErrAuthFailed = errors.New("imap: authentication failed")
	// ErrUnavailable: a temporary failure of the store (NO [UNAVAILABLE]).
	ErrUnavailable = errors.New("imap: temporarily unavailable")
	// ErrNoSuchMessage: a message has been expunged meanwhile (NO
	// [EXPUNGEISSUED]).
	ErrNoSuchMessage = errors.New("imap: no such message")
)

// Errors of the wire layer. A *SyntaxError unwraps to ErrSyntax; limits
// exceeded unwrap to ErrTooBig.
var (
	// ErrSyntax means a command does not follow the grammar of RFC 9051
	// section 9.
	ErrSyntax = errors.New("imap: syntax error")
	// ErrLineTooLong means a command line exceeded MaxLineLength.
	ErrLineTooLong = errors.New("imap: line too long")
	// ErrTooBig means a literal, nesting depth, item count or sequence set
	// exceeded its limit.
	ErrTooBig = errors.New("imap: limit exceeded")
)

// SyntaxError is a command that could not be parsed. It is answered BAD.
type SyntaxError struct {
	// Msg says what was expected, for the BAD reply text.
	Msg string
	// Err is ErrSyntax, ErrLineTooLong or ErrTooBig.
	Err error
}

func (e *SyntaxError) Error() string { return "imap: " + e.Msg }

// Unwrap returns the category.
func (e *SyntaxError) Unwrap() error { return e.Err }

func syntaxErr(format string, args ...any) error {
	return &SyntaxError{Msg: fmt.Sprintf(format, args...), Err: ErrSyntax}
}

func limitErr(format string, args ...any) error {
	return &SyntaxError{Msg: fmt.Sprintf(format, args...), Err: ErrTooBig}
}

// statusFor maps an error a handler returned to the status response sent.
// ok reports whether err was a known kind; otherwise the caller logs it and
// answers a generic NO [SERVERBUG].
func statusFor(err error, tryCreate bool) (e Error, ok bool) {
	var ie *Error
	if errors.As(err, &ie) {
		return *ie, true
	}
	var se *SyntaxError
	if errors.As(err, &se) {
		code := CodeClientBug
		if errors.Is(se.Err, ErrTooBig) || errors.Is(se.Err, ErrLineTooLong) {
			code = CodeTooBig
		}
		return Error{Type: StatusBad, Code: code, Text: se.Msg}, true
	}
	switch {
	case errors.Is(err, ErrNoSuchMailbox):
		if tryCreate {
			return Error{Type: StatusNo, Code: CodeTryCreate, Text: "No such mailbox"}, true
		}
		return Error{Type: StatusNo, Code: CodeNonExistent, Text: "No such mailbox"}, true
	case errors.Is(err, ErrMailboxExists):
		return Error{Type: StatusNo, Code: CodeAlreadyExists, Text: "Mailbox already exists"}, true
	case errors.Is(err, ErrPermission):
		return Error{Type: StatusNo, Code: CodeNoPerm, Text: "Permission denied"}, true
	case errors.Is(err, ErrCannot):
		return Error{Type: StatusNo, Code: CodeCannot, Text: "Operation not possible"}, true
	case errors.Is(err, ErrOverQuota):
		return Error{Type: StatusNo, Code: CodeOverQuota, Text: "Quota exceeded"}, true
	case errors.Is(err, ErrAuthFailed):
		return Error{Type: StatusNo, Code: CodeAuthFailed, Text: "Authentication failed"}, true
	case errors.Is(err, ErrUnavailable):
		return Error{Type: StatusNo, Code: CodeUnavailable, Text: "Temporarily unavailable, try again later"}, true
	case errors.Is(err, ErrNoSuchMessage):
		return Error{Type: StatusNo, Code: CodeExpungeIssued, Text: "Some messages have been expunged"}, true
	}
	return Error{Type: StatusNo, Code: CodeServerBug, Text: "Internal server error"}, false
}
