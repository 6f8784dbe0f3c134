package pop3

import (
	"errors"

	"github.com/heraldmail/herald/internal/wire"
	"github.com/heraldmail/herald/sasl"
)

// ResponseCode is an extended response code of RFC 2449 section 8, sent in
// brackets right after "-ERR" (or "+OK").
type ResponseCode string

// Response codes of RFC 2449 section 8.1 and RFC 3206.
const (
	// CodeInUse means the maildrop is locked by another session.
	CodeInUse ResponseCode = "IN-USE"
	// CodeLoginDelay means the user logged in too recently (LOGIN-DELAY).
	CodeLoginDelay ResponseCode = "LOGIN-DELAY"
	// CodeSysTemp means a temporary system problem: trying again later
	// may work (RFC 3206 section 4).
	CodeSysTemp ResponseCode = "SYS/TEMP"
	// CodeSysPerm means a permanent system problem that retrying will not
	// solve (RFC 3206 section 4).
	CodeSysPerm ResponseCode = "SYS/PERM"
	// CodeAuth means the credentials were refused (RFC 3206 section 5).
	CodeAuth ResponseCode = "AUTH"
)

// Error is a negative POP3 response. The server sends it as given when a
// Backend or Mailbox method returns it (matched with errors.As), as
// "-ERR [Code] Message"; the client returns it for every "-ERR" it reads.
// Message must not contain CR or LF.
type Error struct {
	// Code is the RFC 2449 response code; empty means none.
	Code ResponseCode
	// Message is the human-readable text.
	Message string
}

// Error returns "pop3: -ERR [CODE] message".
func (e *Error) Error() string {
	s := "pop3: -ERR"
	if e.Code != "" {
		s += " [" + string(e.Code) + "]"
	}
	if e.Message != "" {
		s += " " + e.Message
	}
	return s
}

// Temporary reports whether trying again later may succeed: the codes
// IN-USE, LOGIN-DELAY and SYS/TEMP.
func (e *Error) Temporary() bool {
	switch e.Code {
	case CodeInUse, CodeLoginDelay, CodeSysTemp:
		return true
	}
	return false
}

// Is reports whether target is an *Error with the same code, so that
// errors.Is(err, &pop3.Error{Code: pop3.CodeInUse}) matches any message.
// ErrAuthFailed matches an *Error with the code AUTH.
func (e *Error) Is(target error) bool {
	if target == ErrAuthFailed {
		return e.Code == CodeAuth
	}
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Category sentinels, checked with errors.Is. Their text never goes on the
// wire: the server maps each to a fixed response.
var (
	// ErrServerClosed is returned by Server.Serve after Shutdown or Close.
	ErrServerClosed = errors.New("pop3: server closed")
	// ErrAuthFailed is what a Backend returns for refused credentials;
	// it is sasl.ErrAuthFailed, so the SASL mechanisms' refusals match it
	// too. The server answers "-ERR [AUTH]".
	ErrAuthFailed = sasl.ErrAuthFailed
	// ErrLineTooLong means a command or response line exceeded its limit.
	ErrLineTooLong = wire.ErrLineTooLong
	// ErrMessageTooLarge means a message read by the client exceeded
	// ClientOptions.MaxMessageBytes.
	ErrMessageTooLarge = wire.ErrMessageTooLarge
	// ErrBareLineEnding means a CR or LF outside a CRLF pair in a
	// multi-line response.
	ErrBareLineEnding = wire.ErrBareLineEnding
	// ErrProtocol means the peer broke the protocol: a response that is
	// neither "+OK" nor "-ERR", a malformed listing, a bad command.
	ErrProtocol = errors.New("pop3: protocol error")
	// ErrSyntax means a command line could not be parsed.
	ErrSyntax = errors.New("pop3: syntax error")
)
