package dkim

import "testing"

func TestRemoveFWS(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		{" ", ""},
		{"a", "a"},
		{" a", "a"},
		{"a ", "a"},
		{" a b ", "ab"},
		{"ab\r\n\tcd", "abcd"},
		{"\r\n", ""},
		{"a  b\t\tc", "abc"},
		{"\xff \xfe", "\xff\xfe"},
		{"dGVz\r\n dA==", "dGVzdA=="},
	} {
		if got := removeFWS(tt.in); got != tt.want {
			t.Errorf("removeFWS(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
