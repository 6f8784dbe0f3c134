package sieve

import (
	"errors"
	"fmt"
)

// Category sentinels. Every error from [Parse] is an *Error that unwraps to
// ErrSyntax, ErrUnsupported or ErrLimit; every error from [Run] is an
// *Error that unwraps to ErrRuntime or ErrLimit (or the caller's error, such
// as a [VacationStore] failure, or ctx's error).
var (
	// ErrSyntax reports a script that breaks the grammar of RFC 5228
	// section 8 or the argument rules of a command or test.
	ErrSyntax = errors.New("sieve: syntax error")
	// ErrUnsupported reports a command, test, tag, comparator or
	// extension that is not implemented or not required by the script.
	ErrUnsupported = errors.New("sieve: unsupported")
	// ErrLimit reports a script or a run beyond one of [Limits].
	ErrLimit = errors.New("sieve: limit exceeded")
	// ErrRuntime reports a run-time error (RFC 5228 section 2.10.6): an
	// invalid mailbox name or redirect address after variable
	// expansion, conflicting actions, too many actions.
	ErrRuntime = errors.New("sieve: run-time error")
)

// Error is an error at a place in a script. Line and Column count from 1
// (columns in characters); they are 0 when the error concerns the whole
// script. Err is one of the category sentinels, or wraps one.
type Error struct {
	Line, Column int
	Msg          string
	Err          error
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return "sieve: " + e.Msg
	}
	return fmt.Sprintf("sieve: line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

// Unwrap returns the category sentinel or the wrapped cause.
func (e *Error) Unwrap() error { return e.Err }

// position is a place in a script.
type position struct {
	Line, Column int
}

func errAt(p position, cat error, format string, args ...any) *Error {
	return &Error{Line: p.Line, Column: p.Column, Msg: fmt.Sprintf(format, args...), Err: cat}
}
