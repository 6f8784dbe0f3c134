package smtp

import "errors"

// Client error sentinels, checked with errors.Is.
var (
	// ErrMissingExtension means the message or the options need an
	// extension the server did not announce: SMTPUTF8 for a non-ASCII
	// address, 8BITMIME, BINARYMIME with CHUNKING, REQUIRETLS, STARTTLS
	// with TLSRequired, an AUTH mechanism. It comes as an
	// *ExtensionError.
	ErrMissingExtension = errors.New("smtp: server lacks a required extension")

	// ErrInvalidArgument means an argument cannot go on the wire as is: a
	// CR, LF or other control character, a malformed path or a value
	// out of range. Nothing was sent.
	ErrInvalidArgument = errors.New("smtp: invalid argument")

	// ErrClientClosed is returned by calls on a Client after Close or
	// Quit.
	ErrClientClosed = errors.New("smtp: client closed")

	// ErrProtocol means the server broke the protocol: a malformed
	// reply, an unexpected code, data after the STARTTLS reply. It
	// comes as a *ProtocolError.
	ErrProtocol = errors.New("smtp: protocol violation by the server")
)

// CommandError is the error client calls return (after Close, they return
// ErrClientClosed itself): Command names what
// failed ("connect", "greeting", "EHLO", "STARTTLS", "AUTH", "MAIL",
// "RCPT", "DATA", "BDAT", ...), and Err says why. Err is an *Error when the
// server refused, so errors.As finds the reply code, enhanced code and text;
// otherwise a network error, a context error, an *ExtensionError, a
// *ProtocolError, or a sentinel such as ErrInvalidArgument,
// ErrBareLineEnding or ErrMessageTooLarge.
type CommandError struct {
	Command string
	Err     error
}

// Error returns "smtp: COMMAND: reason".
func (e *CommandError) Error() string {
	msg := e.Err.Error()
	if len(msg) > 6 && msg[:6] == "smtp: " {
		msg = msg[6:]
	}
	return "smtp: " + e.Command + ": " + msg
}

// Unwrap returns Err.
func (e *CommandError) Unwrap() error { return e.Err }

// Temporary reports whether trying again later may succeed: true for 4yz
// replies, network errors, timeouts, cancelled contexts and protocol
// violations (RFC 5321 section 4.5.4.1 treats a lost connection as a
// temporary failure); false for 5yz replies and for failures that the same
// message and server would meet again (a missing extension, an invalid
// argument, bare line endings, a message over the server's SIZE).
func (e *CommandError) Temporary() bool {
	var se *Error
	if errors.As(e.Err, &se) {
		return se.Temporary()
	}
	switch {
	case errors.Is(e.Err, ErrMissingExtension),
		errors.Is(e.Err, ErrInvalidArgument),
		errors.Is(e.Err, ErrBareLineEnding),
		errors.Is(e.Err, ErrMessageTooLarge),
		errors.Is(e.Err, ErrClientClosed):
		return false
	}
	return true
}

// Reply returns the server's refusal, or nil when the failure was not a
// reply.
func (e *CommandError) Reply() *Error {
	var se *Error
	if errors.As(e.Err, &se) {
		return se
	}
	return nil
}

// ExtensionError says which extension the server lacks. It matches
// ErrMissingExtension with errors.Is.
type ExtensionError struct {
	// Extension is the EHLO keyword, such as "SMTPUTF8" or
	// "AUTH SCRAM-SHA-256".
	Extension string
}

// Error returns "smtp: server lacks EXTENSION".
func (e *ExtensionError) Error() string { return "smtp: server lacks " + e.Extension }

// Is reports whether target is ErrMissingExtension.
func (e *ExtensionError) Is(target error) bool { return target == ErrMissingExtension }

// ProtocolError says how the server broke the protocol. It matches
// ErrProtocol with errors.Is, and unwraps to the underlying cause
// (ErrMalformedReply, ErrLineTooLong) when there is one.
type ProtocolError struct {
	Reason string
	Err    error
}

// Error returns "smtp: protocol violation: reason".
func (e *ProtocolError) Error() string {
	if e.Err != nil {
		return "smtp: protocol violation: " + e.Reason + ": " + e.Err.Error()
	}
	return "smtp: protocol violation: " + e.Reason
}

// Is reports whether target is ErrProtocol.
func (e *ProtocolError) Is(target error) bool { return target == ErrProtocol }

// Unwrap returns the cause.
func (e *ProtocolError) Unwrap() error { return e.Err }

func clientInvalidArg(what string) error {
	return &clientArgError{what: what}
}

type clientArgError struct{ what string }

func (e *clientArgError) Error() string        { return "smtp: invalid argument: " + e.what }
func (e *clientArgError) Is(target error) bool { return target == ErrInvalidArgument }

// clientValidateArg refuses control characters (CR and LF above all), and spaces
// when word is set, in a command argument.
func clientValidateArg(s string, word bool) error {
	if s == "" {
		return clientInvalidArg("empty value")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || word && c == ' ' {
			return clientInvalidArg("control character or space in " + clientQuote(s))
		}
	}
	return nil
}

func clientQuote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	b := make([]byte, 0, len(s)+2)
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c < 0x20 || c == 0x7f:
			b = append(b, '?')
		default:
			b = append(b, c)
		}
	}
	return string(append(b, '"'))
}
