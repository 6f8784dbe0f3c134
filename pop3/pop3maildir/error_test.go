package pop3maildir

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"testing"

	"github.com/heraldmail/herald/maildir"
	"github.com/heraldmail/herald/pop3"
)

// TestReply pins the mapping of storage errors to POP3 replies, with the
// errors wrapped as the maildir package and the adapter wrap them.
func TestReply(t *testing.T) {
	t.Parallel()
	wrapped := func(err error) error {
		return &maildir.Error{Op: "deliver", Path: "/home/alice/Maildir", Err: err}
	}
	tests := []struct {
		name     string
		err      error
		code     pop3.ResponseCode
		message  string
		passThru bool
	}{
		{"locked by another session", fmt.Errorf("lock: %w", errInUse), pop3.CodeInUse, "Maildrop is locked by another session", false},
		{"quota", wrapped(maildir.ErrQuotaExceeded), pop3.CodeSysTemp, "Mailbox over quota, try again later", false},
		{"disk quota", wrapped(&fs.PathError{Op: "write", Path: "/x", Err: syscall.EDQUOT}), pop3.CodeSysTemp, "Mailbox over quota, try again later", false},
		{"disk full", &fs.PathError{Op: "write", Path: "/home/alice/Maildir/tmp/x", Err: syscall.ENOSPC}, pop3.CodeSysTemp, "Mail storage is full, try again later", false},
		{"uidlist lock", wrapped(maildir.ErrLocked), pop3.CodeSysTemp, "Maildrop is busy, try again later", false},
		{"no INBOX", wrapped(maildir.ErrNoFolder), pop3.CodeSysTemp, "Maildrop is not available, try again later", false},
		{"message gone", wrapped(maildir.ErrGone), "", "Message was removed by another client", false},
		{"corrupt file", fmt.Errorf("message 3: %w", errCorrupt), "", "Message cannot be read", false},
		{"unreadable file", &fs.PathError{Op: "open", Path: "/x", Err: syscall.EACCES}, "", "Message cannot be read", false},
		{"malformed uidlist", wrapped(maildir.ErrMalformed), pop3.CodeSysPerm, "Maildrop index is damaged", false},
		{"cancelled", context.Canceled, pop3.CodeSysTemp, "Interrupted, try again later", false},
		{"anything else", errors.New("disk on fire at /home/alice"), pop3.CodeSysTemp, "Mail storage error, try again later", false},
		{"pop3 error", &pop3.Error{Code: pop3.CodeLoginDelay, Message: "wait"}, pop3.CodeLoginDelay, "wait", true},
		{"auth", fmt.Errorf("ldap: %w", pop3.ErrAuthFailed), "", "", true},
	}
	b := &Backend{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := b.reply("test", tt.err)
			if tt.passThru {
				if got != tt.err {
					t.Fatalf("reply(%v) = %v, want it unchanged", tt.err, got)
				}
				return
			}
			var pe *pop3.Error
			if !errors.As(got, &pe) {
				t.Fatalf("reply(%v) = %v, not a *pop3.Error", tt.err, got)
			}
			if pe.Code != tt.code || pe.Message != tt.message {
				t.Errorf("reply(%v) = [%s] %q, want [%s] %q", tt.err, pe.Code, pe.Message, tt.code, tt.message)
			}
			if strings.Contains(pe.Message, "/") {
				t.Errorf("a path went into the reply: %q", pe.Message)
			}
		})
	}
	if b.reply("test", nil) != nil {
		t.Error("reply(nil) != nil")
	}
}
