package authres

import (
	"strings"
	"testing"
)

func TestValueQuoteComment(t *testing.T) {
	for _, tc := range []struct{ in, value, comment string }{
		{"example.com", "example.com", "example.com"},
		{"user@example.com", `"user@example.com"`, "user@example.com"},
		{`a "b" \c`, `"a \"b\" \\c"`, `a "b" \\c`},
		{"(x)", `"(x)"`, `\(x\)`},
		{"bad\r\nHeader: x", `"bad??Header: x"`, "bad??Header: x"},
		{"\x7f\u0085\xff", `"???"`, "???"},
		{"Grüße", `"Grüße"`, "Grüße"},
		{"", `""`, ""},
		{".a", `".a"`, ".a"},
		{"a..b", `"a..b"`, "a..b"},
	} {
		var v, c strings.Builder
		Value(&v, tc.in)
		Comment(&c, tc.in)
		if v.String() != tc.value || c.String() != tc.comment {
			t.Errorf("%q: value %s comment %s, want %s and %s", tc.in, v.String(), c.String(), tc.value, tc.comment)
		}
	}
}

func TestIsDotAtom(t *testing.T) {
	for in, want := range map[string]bool{
		"a.b":     true,
		"a+b=c":   true,
		"":        false,
		".a":      false,
		"a.":      false,
		"a..b":    false,
		"a b":     false,
		"a:b":     false,
		"caf\xc3": false,
	} {
		if got := IsDotAtom(in); got != want {
			t.Errorf("IsDotAtom(%q) = %v", in, got)
		}
	}
}
