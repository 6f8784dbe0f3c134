package sasl

import (
	"errors"
	"fmt"
	"strings"
)

// Error is the error the mechanisms in this package return when an exchange
// fails for a reason of its own. Err is one of [ErrAuthFailed], [ErrMalformed]
// or [ErrUnexpected], so callers test it with errors.Is; Reason says what was
// wrong for logs. Neither field is meant for the wire: a protocol layer answers
// with its own fixed reply text (RFC 4954 section 6 for SMTP).
type Error struct {
	// Mechanism is the mechanism name, such as "PLAIN".
	Mechanism string
	// Err is the category sentinel.
	Err error
	// Reason is a short description for logs.
	Reason string
}

// Error returns "sasl PLAIN: malformed response: <reason>".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("sasl ")
	b.WriteString(e.Mechanism)
	b.WriteString(": ")
	if e.Err != nil {
		b.WriteString(strings.TrimPrefix(e.Err.Error(), "sasl: "))
	} else {
		b.WriteString("error")
	}
	if e.Reason != "" {
		b.WriteString(": ")
		b.WriteString(e.Reason)
	}
	return b.String()
}

// Unwrap returns the category sentinel.
func (e *Error) Unwrap() error { return e.Err }

func malformed(mech, reason string) error {
	return &Error{Mechanism: mech, Err: ErrMalformed, Reason: reason}
}

func authFailed(mech, reason string) error {
	return &Error{Mechanism: mech, Err: ErrAuthFailed, Reason: reason}
}

func unexpected(mech, reason string) error {
	return &Error{Mechanism: mech, Err: ErrUnexpected, Reason: reason}
}

// checkErr turns the error of a caller's credential check into the error Next
// returns: a refusal (anything that matches ErrAuthFailed) becomes an *Error
// for ErrAuthFailed, and any other failure (a store that is down, a cancelled
// context) is wrapped as it is, so the protocol layer can answer it as a
// temporary failure.
func checkErr(mech string, err error) error {
	if errors.Is(err, ErrAuthFailed) {
		return authFailed(mech, "credentials refused")
	}
	return fmt.Errorf("sasl %s: checking credentials: %w", mech, err)
}
