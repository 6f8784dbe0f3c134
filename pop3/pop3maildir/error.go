package pop3maildir

import (
	"context"
	"errors"
	"syscall"

	"github.com/heraldmail/herald/maildir"
	"github.com/heraldmail/herald/pop3"
)

// errCorrupt reports a message file that cannot be what its name says: not
// a regular file, or of another size than its ",S=" field.
var errCorrupt = errors.New("pop3maildir: corrupt message file")

// Replies of [Backend] for the errors of the maildir package and of the
// file system. Each is a fresh value, so callers cannot change them.
func replyInUse() *pop3.Error {
	return &pop3.Error{Code: pop3.CodeInUse, Message: "Maildrop is locked by another session"}
}

// reply is the one place that maps an error met while serving a maildrop
// to the POP3 reply the server sends: an *pop3.Error and ErrAuthFailed
// pass as they are; everything else becomes a fixed text, and is logged
// with op (the cause, with its paths, never goes on the wire).
//
//	maildrop locked by another session       -ERR [IN-USE]
//	Maildir++ quota (or disk quota) exceeded  -ERR [SYS/TEMP]
//	disk full                                 -ERR [SYS/TEMP]
//	dovecot-uidlist lock timeout              -ERR [SYS/TEMP]
//	message removed by another client         -ERR (the message only)
//	corrupt or unreadable message file        -ERR (the message only)
//	malformed dovecot-uidlist                 -ERR [SYS/PERM]
//	anything else                             -ERR [SYS/TEMP]
func (b *Backend) reply(op string, err error) error {
	if err == nil {
		return nil
	}
	var pe *pop3.Error
	if errors.As(err, &pe) || errors.Is(err, pop3.ErrAuthFailed) {
		return err
	}
	log := b.logger()
	switch {
	case errors.Is(err, errInUse):
		return replyInUse()
	case errors.Is(err, maildir.ErrQuotaExceeded), errors.Is(err, syscall.EDQUOT):
		log.Warn("pop3maildir: quota exceeded", "op", op, "err", err)
		return &pop3.Error{Code: pop3.CodeSysTemp, Message: "Mailbox over quota, try again later"}
	case errors.Is(err, syscall.ENOSPC):
		log.Error("pop3maildir: disk full", "op", op, "err", err)
		return &pop3.Error{Code: pop3.CodeSysTemp, Message: "Mail storage is full, try again later"}
	case errors.Is(err, maildir.ErrLocked):
		log.Warn("pop3maildir: maildrop busy", "op", op, "err", err)
		return &pop3.Error{Code: pop3.CodeSysTemp, Message: "Maildrop is busy, try again later"}
	case errors.Is(err, maildir.ErrNoFolder):
		log.Error("pop3maildir: no INBOX", "op", op, "err", err)
		return &pop3.Error{Code: pop3.CodeSysTemp, Message: "Maildrop is not available, try again later"}
	case errors.Is(err, maildir.ErrGone):
		log.Warn("pop3maildir: message skipped: removed by another client", "op", op, "err", err)
		return &pop3.Error{Message: "Message was removed by another client"}
	case errors.Is(err, errCorrupt), errors.Is(err, syscall.EISDIR), errors.Is(err, syscall.EACCES):
		log.Error("pop3maildir: message skipped: cannot be read", "op", op, "err", err)
		return &pop3.Error{Message: "Message cannot be read"}
	case errors.Is(err, maildir.ErrMalformed), errors.Is(err, errMalformedJournal):
		log.Error("pop3maildir: maildrop index is damaged", "op", op, "err", err)
		return &pop3.Error{Code: pop3.CodeSysPerm, Message: "Maildrop index is damaged"}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &pop3.Error{Code: pop3.CodeSysTemp, Message: "Interrupted, try again later"}
	}
	log.Error("pop3maildir: storage error", "op", op, "err", err)
	return &pop3.Error{Code: pop3.CodeSysTemp, Message: "Mail storage error, try again later"}
}
