package imapmaildir

import (
	"context"
	"errors"
	"syscall"

	"github.com/heraldmail/herald/imap"
	"github.com/heraldmail/herald/maildir"
)

// CodeCorruption is the RFC 5530 response code of a store file that cannot
// be read.
const CodeCorruption imap.ResponseCode = "CORRUPTION"

// sentinelError matches both an imap category sentinel, which the server
// answers with its fixed reply, and the maildir error behind it.
type sentinelError struct {
	kind  error
	cause error
}

func (e *sentinelError) Error() string   { return e.kind.Error() + ": " + e.cause.Error() }
func (e *sentinelError) Unwrap() []error { return []error{e.kind, e.cause} }

// replyError maps an error of the maildir package to the reply the imap
// server sends: this is the one place where that mapping is written. Errors
// it does not know are returned as they are; the server logs them and
// answers NO [SERVERBUG]. The cause stays reachable with errors.Is, and its
// text never goes on the wire.
func replyError(err error) error {
	if err == nil {
		return nil
	}
	var ie *imap.Error
	if errors.As(err, &ie) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	no := func(code imap.ResponseCode, text string, kind error) error {
		return &imap.Error{Type: imap.StatusNo, Code: code, Text: text, Err: &sentinelError{kind, err}}
	}
	var me *maildir.Error
	errors.As(err, &me)
	switch {
	case errors.Is(err, maildir.ErrNoFolder):
		return &sentinelError{imap.ErrNoSuchMailbox, err}
	case errors.Is(err, maildir.ErrFolderExists):
		return &sentinelError{imap.ErrMailboxExists, err}
	case errors.Is(err, maildir.ErrGone):
		return &sentinelError{imap.ErrNoSuchMessage, err}
	case errors.Is(err, maildir.ErrQuotaExceeded), errors.Is(err, syscall.EDQUOT):
		return no(imap.CodeOverQuota, "Quota exceeded", imap.ErrOverQuota)
	case errors.Is(err, maildir.ErrTooLarge):
		return no(imap.CodeTooBig, "Message too large", imap.ErrCannot)
	case errors.Is(err, maildir.ErrTooManyKeywords):
		return no(imap.CodeLimit, "Too many keywords in this mailbox", imap.ErrCannot)
	case errors.Is(err, maildir.ErrInvalidName) && me != nil && me.Op == "keyword":
		return no(imap.CodeCannot, "Invalid keyword", imap.ErrCannot)
	case errors.Is(err, maildir.ErrInvalidName):
		return no(imap.CodeCannot, "Invalid mailbox name", imap.ErrCannot)
	case errors.Is(err, maildir.ErrLocked):
		return no(imap.CodeUnavailable, "Mailbox is locked by another client, try again later", imap.ErrUnavailable)
	case errors.Is(err, syscall.ENOSPC):
		return no(imap.CodeUnavailable, "Mail storage is full, try again later", imap.ErrUnavailable)
	case errors.Is(err, maildir.ErrMalformed):
		return no(CodeCorruption, "Mailbox index is damaged", imap.ErrUnavailable)
	}
	return err
}
