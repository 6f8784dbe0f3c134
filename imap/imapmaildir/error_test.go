package imapmaildir

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"syscall"
	"testing"

	"github.com/heraldmail/herald/imap"
	"github.com/heraldmail/herald/maildir"
)

func TestReplyError(t *testing.T) {
	wrapped := func(op string, err error) error { return &maildir.Error{Op: op, Path: "/x", Err: err} }
	tests := []struct {
		name string
		in   error
		code imap.ResponseCode // of an *imap.Error
		is   error             // else the imap sentinel it must match
	}{
		{"quota", wrapped("deliver", maildir.ErrQuotaExceeded), imap.CodeOverQuota, nil},
		{"fs quota", wrapped("deliver", syscall.EDQUOT), imap.CodeOverQuota, nil},
		{"too large", wrapped("deliver", maildir.ErrTooLarge), imap.CodeTooBig, nil},
		{"disk full", wrapped("deliver", &fs.PathError{Op: "write", Path: "/x/tmp/y", Err: syscall.ENOSPC}), imap.CodeUnavailable, nil},
		{"locked", wrapped("lock", maildir.ErrLocked), imap.CodeUnavailable, nil},
		{"keywords", wrapped("keyword", maildir.ErrTooManyKeywords), imap.CodeLimit, nil},
		{"bad keyword", wrapped("keyword", maildir.ErrInvalidName), imap.CodeCannot, nil},
		{"bad name", wrapped("folder", maildir.ErrInvalidName), imap.CodeCannot, nil},
		{"malformed", wrapped("read", fmt.Errorf("x: %w", maildir.ErrMalformed)), CodeCorruption, nil},
		{"no folder", wrapped("folder", maildir.ErrNoFolder), "", imap.ErrNoSuchMailbox},
		{"exists", wrapped("create folder", maildir.ErrFolderExists), "", imap.ErrMailboxExists},
		{"gone", wrapped("open message", maildir.ErrGone), "", imap.ErrNoSuchMessage},
		{"canceled", context.Canceled, "", context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := replyError(tt.in)
			if !errors.Is(got, tt.in) {
				t.Errorf("%v does not wrap its cause", got)
			}
			if tt.code != "" {
				var ie *imap.Error
				if !errors.As(got, &ie) || ie.Code != tt.code || ie.Type != imap.StatusNo {
					t.Fatalf("got %v, want NO [%s]", got, tt.code)
				}
				if ie.Text == "" || errors.Is(errors.New(ie.Text), tt.in) {
					t.Errorf("text %q", ie.Text)
				}
				return
			}
			var ie *imap.Error
			if errors.As(got, &ie) || !errors.Is(got, tt.is) {
				t.Errorf("got %v, want a plain %v", got, tt.is)
			}
		})
	}
	// An error the mapping does not know stays as it is, for the server
	// to log and answer NO [SERVERBUG].
	other := errors.New("something else")
	if got := replyError(other); got != other {
		t.Errorf("got %v", got)
	}
	if replyError(nil) != nil {
		t.Error("nil mapped")
	}
}
