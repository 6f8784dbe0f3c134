package main

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func TestSanitizeReason(t *testing.T) {
	for _, c := range []struct {
		in       string
		utf8     bool
		want     string
		wantUTF8 string
	}{
		{in: "Go away", want: "Go away"},
		{in: "  line one\r\nline two\r\n", want: "line one line two"},
		{in: "tab\there\x00nul\x7fdel", want: "tab here nul del"},
		{in: "Grüße", want: "Gr??e", wantUTF8: "Grüße"},
		{in: "bad \xff\xfe utf-8", want: "bad ? utf-8"},
		{in: "sep\u2028line\u0085next", want: "sep line next"},
		{in: "", want: "Rejected by the recipient's mail filter"},
		{in: "\r\n\t ", want: "Rejected by the recipient's mail filter"},
	} {
		require.Equal(t, c.want, sanitizeReason(c.in, false), "%q", c.in)
		w := c.wantUTF8
		if w == "" {
			w = c.want
		}
		require.Equal(t, w, sanitizeReason(c.in, true), "%q utf8", c.in)
	}
	long := sanitizeReason(strings.Repeat("é", 1000), true)
	require.LessOrEqual(t, len(long), maxRejectReason)
	require.True(t, utf8.ValidString(long))
	r := sieveRejectReply("x", false)
	require.Equal(t, 550, int(r.Code))
	require.Equal(t, "5.7.1", r.Enhanced.String())
}
