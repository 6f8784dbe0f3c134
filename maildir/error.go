package maildir

import (
	"errors"
	"strconv"
	"syscall"
)

// Category sentinels. Errors of this package that callers act on wrap one of
// these, so that errors.Is tells them apart; file system errors are wrapped
// in an [*Error] that names the operation and path.
var (
	// ErrNoFolder reports a folder (or Maildir) that does not exist. It
	// also matches fs.ErrNotExist.
	ErrNoFolder = errors.New("maildir: folder does not exist")
	// ErrFolderExists reports a folder that cannot be created or renamed to
	// because the name is taken.
	ErrFolderExists = errors.New("maildir: folder already exists")
	// ErrInvalidName reports a folder name, keyword or file name that the
	// format cannot hold.
	ErrInvalidName = errors.New("maildir: invalid name")
	// ErrQuotaExceeded reports a delivery refused by the Maildir++ quota.
	// It also matches syscall.EDQUOT, so that a protocol layer that does
	// not know this package (an SMTP server answering 452 4.2.2) can tell
	// a full mailbox with errors.Is, as it would a file system quota.
	ErrQuotaExceeded error = &errnoSentinel{"maildir: quota exceeded", syscall.EDQUOT}
	// ErrTooLarge reports a message longer than Options.MaxMessageBytes.
	// It also matches syscall.EFBIG, the file system's "file too large".
	ErrTooLarge error = &errnoSentinel{"maildir: message too large", syscall.EFBIG}
	// ErrGone reports a message that is no longer there: another client
	// expunged it.
	ErrGone = errors.New("maildir: message gone")
	// ErrLocked reports a lock that could not be taken within
	// Options.LockTimeout.
	ErrLocked = errors.New("maildir: lock timeout")
	// ErrMalformed reports a dovecot-uidlist, dovecot-keywords,
	// subscriptions or maildirsize file, or a file name, that does not
	// follow its format.
	ErrMalformed = errors.New("maildir: malformed file")
	// ErrTooManyKeywords reports a keyword that cannot get a letter: all 26
	// letters a-z are taken.
	ErrTooManyKeywords = errors.New("maildir: too many keywords")
)

// errnoSentinel is a sentinel that errors.Is also matches against the
// system error number of the same meaning; each sentinel stays distinct
// from the others and from the bare errno.
type errnoSentinel struct {
	msg   string
	errno syscall.Errno
}

func (e *errnoSentinel) Error() string { return e.msg }

// Is reports whether target is the errno this sentinel stands for.
func (e *errnoSentinel) Is(target error) bool {
	errno, ok := target.(syscall.Errno)
	return ok && errno == e.errno
}

// Error is the error type of this package: Op names the operation
// ("deliver", "sync", "rename folder"...), Path the file or directory
// involved (may be empty), Line the 1-based line of a malformed file (or 0)
// and Err the cause, a sentinel above or a file system error.
type Error struct {
	Op   string
	Path string
	Line int
	Err  error
}

// Error formats the error as "maildir: <op> <path>: line N: <err>".
func (e *Error) Error() string {
	s := "maildir: " + e.Op
	if e.Path != "" {
		s += " " + e.Path
	}
	if e.Line > 0 {
		s += ": line " + strconv.Itoa(e.Line)
	}
	return s + ": " + e.Err.Error()
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }

func wrap(op, path string, err error) error {
	if err == nil {
		return nil
	}
	var me *Error
	if errors.As(err, &me) {
		return err
	}
	return &Error{Op: op, Path: path, Err: err}
}

// malformed returns an *Error wrapping ErrMalformed with a description.
func malformed(op, path string, line int, msg string) error {
	return &Error{Op: op, Path: path, Line: line, Err: &detailError{ErrMalformed, msg}}
}

// detailError adds a description to a sentinel.
type detailError struct {
	kind error
	msg  string
}

func (e *detailError) Error() string { return e.kind.Error() + ": " + e.msg }
func (e *detailError) Unwrap() error { return e.kind }

// noFolder is the error of a missing folder; it matches both ErrNoFolder
// and fs.ErrNotExist.
type noFolderError struct{ cause error }

func (e *noFolderError) Error() string   { return ErrNoFolder.Error() }
func (e *noFolderError) Unwrap() []error { return []error{ErrNoFolder, e.cause} }
