package smtp

import (
	"errors"
	"strconv"

	"github.com/heraldmail/herald/internal/wire"
)

// Error is an SMTP reply that means failure: the server returns it from
// Session methods to choose the reply sent to the client, and the client
// returns it when the server answers 4yz or 5yz.
//
// The server sends Code, Enhanced and Message as given. A zero Enhanced
// becomes class.0.0 of the reply code; an empty Message becomes a short
// standard text. Message must not contain CR or LF; a multi-line reply is
// written by separating lines with "\n", which the server turns into
// continuation lines.
type Error struct {
	Code     ReplyCode
	Enhanced EnhancedCode
	Message  string
}

// Error returns "smtp: <code> <enhanced> <message>".
func (e *Error) Error() string {
	b := make([]byte, 0, 20+len(e.Message))
	b = append(b, "smtp: "...)
	b = strconv.AppendInt(b, int64(e.Code), 10)
	if e.Enhanced != 0 {
		b = append(b, ' ')
		b = e.Enhanced.appendTo(b)
	}
	if e.Message != "" {
		b = append(b, ' ')
		b = append(b, e.Message...)
	}
	return string(b)
}

// Temporary reports whether the failure is transient (a 4yz code), so that
// the sender should try again later.
func (e *Error) Temporary() bool { return e.Code.Temporary() }

// Is reports whether target is an *Error with the same code and enhanced
// code, so errors.Is(err, &smtp.Error{Code: 550}) matches regardless of the
// message. A zero Enhanced in target matches any enhanced code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	return t.Code == e.Code && (t.Enhanced == 0 || t.Enhanced == e.Enhanced)
}

// Category sentinels, checked with errors.Is. Their text never goes on the
// wire: the server maps each to a fixed reply.
var (
	// ErrServerClosed is returned by Server.Serve after Shutdown or Close.
	ErrServerClosed = errors.New("smtp: server closed")

	// ErrLineTooLong means a command or reply line exceeded its limit
	// (RFC 5321 section 4.5.3.1). The server answers 500 5.5.2.
	ErrLineTooLong = wire.ErrLineTooLong

	// ErrBareLineEnding means message data contained a CR not followed by
	// LF or an LF not preceded by CR. See the package documentation on
	// SMTP smuggling for what the server does then.
	ErrBareLineEnding = wire.ErrBareLineEnding

	// ErrMessageTooLarge means the message exceeded Server.MaxMessageBytes.
	// The server answers 552 5.3.4.
	ErrMessageTooLarge = wire.ErrMessageTooLarge

	// ErrTooManyRecipients means a transaction exceeded
	// Server.MaxRecipients. The server answers 452 4.5.3.
	ErrTooManyRecipients = errors.New("smtp: too many recipients")

	// ErrMalformedReply means a reply line did not follow RFC 5321
	// section 4.2.
	ErrMalformedReply = errors.New("smtp: malformed reply")
)

// defaultText holds the text sent when an Error has no Message.
func defaultText(c ReplyCode) string {
	switch c {
	case CodeServiceUnavailable:
		return "Service not available, closing transmission channel"
	case CodeMailboxBusy:
		return "Requested mail action not taken: mailbox unavailable"
	case CodeLocalError:
		return "Requested action aborted: local error in processing"
	case CodeInsufficientStorage:
		return "Requested action not taken: insufficient system storage"
	case CodeTempAuthFailure:
		return "Temporary authentication failure"
	case CodeSyntaxError:
		return "Syntax error, command unrecognized"
	case CodeParamSyntaxError:
		return "Syntax error in parameters or arguments"
	case CodeNotImplemented:
		return "Command not implemented"
	case CodeBadSequence:
		return "Bad sequence of commands"
	case CodeParamNotImplemented:
		return "Command parameter not implemented"
	case CodeAuthRequired:
		return "Authentication required"
	case CodeAuthInvalid:
		return "Authentication credentials invalid"
	case CodeMailboxUnavailable:
		return "Requested action not taken: mailbox unavailable"
	case CodeExceededStorage:
		return "Requested mail action aborted: exceeded storage allocation"
	case CodeMailboxNameInvalid:
		return "Requested action not taken: mailbox name not allowed"
	case CodeTransactionFailed:
		return "Transaction failed"
	case CodeParamsNotRecognized:
		return "Parameters not recognized or not implemented"
	}
	if c.Positive() {
		return "OK"
	}
	return "Error"
}
