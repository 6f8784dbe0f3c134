package sasl

import (
	"context"
	"errors"
	"testing"
)

func TestError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		is   error
		text string
	}{
		{malformed(Plain, "missing NUL separator"), ErrMalformed, "sasl PLAIN: malformed response: missing NUL separator"},
		{authFailed(ScramSHA256, "invalid proof"), ErrAuthFailed, "sasl SCRAM-SHA-256: authentication failed: invalid proof"},
		{unexpected(Login, ""), ErrUnexpected, "sasl LOGIN: unexpected message"},
		{&Error{Mechanism: "X"}, nil, "sasl X: error"},
		{&OAuthError{Status: "invalid_token"}, ErrAuthFailed, "sasl: oauth error invalid_token"},
	}
	for _, tt := range tests {
		if tt.is != nil && !errors.Is(tt.err, tt.is) {
			t.Errorf("%v does not match %v", tt.err, tt.is)
		}
		if got := tt.err.Error(); got != tt.text {
			t.Errorf("Error() = %q, want %q", got, tt.text)
		}
	}
	var e *Error
	if !errors.As(checkErr(Plain, &OAuthError{}), &e) || e.Err != ErrAuthFailed {
		t.Errorf("a refusal from a check is not an *Error for ErrAuthFailed")
	}
	if err := checkErr(Plain, context.DeadlineExceeded); !errors.Is(err, context.DeadlineExceeded) || errors.As(err, &e) {
		t.Errorf("checkErr(deadline) = %v", err)
	}
}
