package maildir

import (
	"errors"
	"fmt"
	"syscall"
	"testing"
)

func TestSentinelErrno(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		match syscall.Errno
		not   []error
	}{
		{"quota", ErrQuotaExceeded, syscall.EDQUOT, []error{syscall.EFBIG, syscall.ENOSPC, ErrTooLarge}},
		{"too large", ErrTooLarge, syscall.EFBIG, []error{syscall.EDQUOT, syscall.ENOSPC, ErrQuotaExceeded}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wrapped := &Error{Op: "deliver", Path: "/x", Err: fmt.Errorf("check: %w", tt.err)}
			if !errors.Is(wrapped, tt.err) || !errors.Is(wrapped, tt.match) {
				t.Errorf("%v does not match itself and %v", wrapped, tt.match)
			}
			for _, n := range tt.not {
				if errors.Is(wrapped, n) {
					t.Errorf("%v matches %v", wrapped, n)
				}
			}
			// The bare errno must not pass for the sentinel.
			if errors.Is(tt.match, tt.err) {
				t.Errorf("%v matches %v", tt.match, tt.err)
			}
		})
	}
}
