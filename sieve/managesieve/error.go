package managesieve

import (
	"errors"

	"github.com/heraldmail/herald/internal/wire"
	"github.com/heraldmail/herald/sasl"
)

// ResponseCode is a response code of RFC 5804 section 1.3, sent in
// parentheses after "OK", "NO" or "BYE".
type ResponseCode string

// Response codes of RFC 5804 section 1.3.
const (
	// CodeAuthTooWeak means the mechanism is not allowed by policy.
	CodeAuthTooWeak ResponseCode = "AUTH-TOO-WEAK"
	// CodeEncryptNeeded means the mechanism needs TLS first.
	CodeEncryptNeeded ResponseCode = "ENCRYPT-NEEDED"
	// CodeQuota means a quota other than the two below was exceeded,
	// such as the total size of the user's scripts.
	CodeQuota ResponseCode = "QUOTA"
	// CodeQuotaMaxScripts means the user has as many scripts as allowed.
	CodeQuotaMaxScripts ResponseCode = "QUOTA/MAXSCRIPTS"
	// CodeQuotaMaxSize means the script is larger than allowed.
	CodeQuotaMaxSize ResponseCode = "QUOTA/MAXSIZE"
	// CodeTransitionNeeded means the user must move to a new mechanism.
	CodeTransitionNeeded ResponseCode = "TRANSITION-NEEDED"
	// CodeTryLater means a temporary failure: the same command may
	// succeed later.
	CodeTryLater ResponseCode = "TRYLATER"
	// CodeActive means the command cannot operate on the active script.
	CodeActive ResponseCode = "ACTIVE"
	// CodeNonexistent means the named script does not exist.
	CodeNonexistent ResponseCode = "NONEXISTENT"
	// CodeAlreadyExists means a script of the target name exists.
	CodeAlreadyExists ResponseCode = "ALREADYEXISTS"
	// CodeWarnings comes with an OK to PUTSCRIPT or CHECKSCRIPT for a
	// valid script that deserves a warning.
	CodeWarnings ResponseCode = "WARNINGS"
	// CodeTag comes with the OK to NOOP that echoes its argument.
	CodeTag ResponseCode = "TAG"
	// CodeSASL comes with the OK to AUTHENTICATE carrying the
	// mechanism's additional data of success.
	CodeSASL ResponseCode = "SASL"
)

// Error is a negative ManageSieve response, "NO (Code) Message". The server
// sends it as given when a Store or Backend method returns it (matched with
// errors.As); the client returns it for every NO or BYE it reads.
type Error struct {
	// Code is the response code; empty means none.
	Code ResponseCode
	// Message is the human-readable text; it may span lines.
	Message string
	// Bye is set when the server closed the connection with BYE.
	Bye bool
}

// Error returns "managesieve: NO (CODE) message".
func (e *Error) Error() string {
	s := "managesieve: NO"
	if e.Bye {
		s = "managesieve: BYE"
	}
	if e.Code != "" {
		s += " (" + string(e.Code) + ")"
	}
	if e.Message != "" {
		s += " " + e.Message
	}
	return s
}

// Temporary reports whether trying again later may succeed: the code
// TRYLATER.
func (e *Error) Temporary() bool { return e.Code == CodeTryLater }

// Is reports whether target is an *Error with the same code, or the
// sentinel of e's code: errors.Is(&Error{Code: CodeNonexistent},
// ErrNonexistent) holds.
func (e *Error) Is(target error) bool {
	if t, ok := target.(*Error); ok {
		return t.Code == e.Code
	}
	c, ok := sentinelCode(target)
	return ok && c == e.Code
}

// Category sentinels, checked with errors.Is. A Store returns them (or an
// *Error with their code); the server answers each with its response code
// and a fixed text.
var (
	// ErrServerClosed is returned by Server.Serve after Shutdown or Close.
	ErrServerClosed = errors.New("managesieve: server closed")
	// ErrNonexistent means the named script does not exist: NO (NONEXISTENT).
	ErrNonexistent = errors.New("managesieve: no such script")
	// ErrAlreadyExists means the new name of RENAMESCRIPT is taken:
	// NO (ALREADYEXISTS).
	ErrAlreadyExists = errors.New("managesieve: script already exists")
	// ErrActive means DELETESCRIPT named the active script: NO (ACTIVE).
	ErrActive = errors.New("managesieve: script is active")
	// ErrQuota means a storage quota other than the script count and the
	// script size was exceeded: NO (QUOTA).
	ErrQuota = errors.New("managesieve: quota exceeded")
	// ErrQuotaMaxScripts means the user has too many scripts:
	// NO (QUOTA/MAXSCRIPTS).
	ErrQuotaMaxScripts = errors.New("managesieve: too many scripts")
	// ErrQuotaMaxSize means a script is too large: NO (QUOTA/MAXSIZE).
	ErrQuotaMaxSize = errors.New("managesieve: script too large")
	// ErrTryLater means a temporary failure: NO (TRYLATER).
	ErrTryLater = errors.New("managesieve: try again later")
	// ErrInvalidName means a script name that RFC 5804 section 1.6 or
	// the store does not allow: NO.
	ErrInvalidName = errors.New("managesieve: invalid script name")
	// ErrAuthFailed is sasl.ErrAuthFailed: refused credentials.
	ErrAuthFailed = sasl.ErrAuthFailed
	// ErrLineTooLong means a command or response line exceeded its limit.
	ErrLineTooLong = wire.ErrLineTooLong
	// ErrProtocol means the peer broke the protocol.
	ErrProtocol = errors.New("managesieve: protocol error")
)

// sentinelCode returns the response code of a sentinel that has one.
func sentinelCode(err error) (ResponseCode, bool) {
	switch err {
	case ErrNonexistent:
		return CodeNonexistent, true
	case ErrAlreadyExists:
		return CodeAlreadyExists, true
	case ErrActive:
		return CodeActive, true
	case ErrQuota:
		return CodeQuota, true
	case ErrQuotaMaxScripts:
		return CodeQuotaMaxScripts, true
	case ErrQuotaMaxSize:
		return CodeQuotaMaxSize, true
	case ErrTryLater:
		return CodeTryLater, true
	}
	return "", false
}

// Warning is what a Server.Check func returns for a script that is valid
// but deserves a warning: PUTSCRIPT stores it and CHECKSCRIPT accepts it,
// both answering "OK (WARNINGS) Text" (RFC 5804 sections 2.6 and 2.12).
type Warning struct {
	// Text is the warning as the checker formats it, line numbers and
	// all; it may span lines.
	Text string
}

// Error returns the warning text.
func (w *Warning) Error() string { return w.Text }
