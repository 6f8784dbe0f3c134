package sieve

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, src string
		want      string // the whole error text
		cat       error
	}{
		{"unknown test", "if true {\n  keep;\n}\nif hedaer :is \"a\" \"b\" { keep; }", `sieve: line 4, column 4: unknown test "hedaer"`, ErrSyntax},
		{"unknown test in the brief", "require \"fileinto\";\n\nif header :is \"a\" \"b\" {\n}\nif  \n      hedaer \"x\" \"y\" {}", `sieve: line 6, column 7: unknown test "hedaer"`, ErrSyntax},
		{"unknown command", "keep;\nfrobnicate;", `sieve: line 2, column 1: unknown command "frobnicate"`, ErrSyntax},
		{"fileinto without require", `fileinto "x";`, `sieve: line 1, column 1: command "fileinto" requires "fileinto": add require "fileinto"`, ErrUnsupported},
		{"unknown extension", `require ["fileinto", "x-frob"];`, `sieve: line 1, column 9: unsupported extension "x-frob"`, ErrUnsupported},
		{"require late", "keep;\nrequire \"fileinto\";", `sieve: line 2, column 1: require must come before every other command`, ErrSyntax},
		{"missing semicolon", "keep\n", `sieve: line 2, column 1: expected ';' or '{', found end of script`, ErrSyntax},
		{"unterminated string", "redirect \"a@b.c;\n", `sieve: line 1, column 10: unterminated string`, ErrSyntax},
		{"unterminated comment", "keep; /* x", `sieve: line 1, column 7: unterminated comment`, ErrSyntax},
		{"unknown tag", `if header :isnt "a" "b" { keep; }`, `sieve: line 1, column 11: unknown tag :isnt for test "header"`, ErrSyntax},
		{"two match types", `if header :is :contains "a" "b" { keep; }`, `sieve: line 1, column 15: test "header": :contains after :is, only one match type allowed`, ErrSyntax},
		{"relational without require", `if header :count "gt" "a" "b" { keep; }`, `sieve: line 1, column 11: tag :count of test "header" requires "relational"`, ErrUnsupported},
		{"unknown comparator", `if header :comparator "i;frob" "a" "b" { keep; }`, `sieve: line 1, column 23: unknown comparator "i;frob"`, ErrUnsupported},
		{"numeric needs require", `if header :comparator "i;ascii-numeric" "a" "b" { keep; }`, `sieve: line 1, column 23: comparator "i;ascii-numeric" requires "comparator-i;ascii-numeric"`, ErrUnsupported},
		{"numeric contains", "require \"comparator-i;ascii-numeric\";\nif header :contains :comparator \"i;ascii-numeric\" \"a\" \"1\" { keep; }", `sieve: line 2, column 11: comparator "i;ascii-numeric" does not support :contains`, ErrSyntax},
		{"too many args", `if address :is "from" "a" "b" { keep; }`, `sieve: line 1, column 4: test "address" takes 2 positional arguments, found 3`, ErrSyntax},
		{"not an address header", `if address :is "subject" "a" { keep; }`, `sieve: line 1, column 16: address test: header "subject" does not hold addresses`, ErrSyntax},
		{"elsif alone", `elsif true { keep; }`, `sieve: line 1, column 1: elsif without a preceding if`, ErrSyntax},
		{"bad redirect", `redirect "not an address";`, `sieve: line 1, column 10: redirect: invalid address "not an address"`, ErrSyntax},
		{"bad mailbox", "require \"fileinto\";\nfileinto \"../../etc\";", `sieve: line 2, column 10: fileinto: mailbox name "../../etc" starts with '/' or '.'`, ErrSyntax},
		{"size without tag", `if size 100 { keep; }`, `sieve: line 1, column 4: size needs :over or :under`, ErrSyntax},
		{"bad number", `if size :over 10X { keep; }`, `sieve: line 1, column 15: invalid number`, ErrSyntax},
		{"unknown envelope part", "require \"envelope\";\nif envelope :is \"frm\" \"a\" { keep; }", `sieve: line 2, column 17: unknown envelope part "frm"`, ErrSyntax},
		{"unknown date part", "require \"date\";\nif currentdate :is \"yeer\" \"2020\" { keep; }", `sieve: line 2, column 20: unknown date part "yeer"`, ErrSyntax},
		{"last without index", "require [\"index\"];\nif header :last :is \"a\" \"b\" { keep; }", `sieve: line 2, column 11: :last needs :index`, ErrSyntax},
		{"set bad name", "require \"variables\";\nset \"a-b\" \"c\";", `sieve: line 2, column 5: invalid variable name "a-b"`, ErrSyntax},
		{"set two lower", "require \"variables\";\nset :lower :upper \"a\" \"c\";", `sieve: line 2, column 12: modifiers :lower and :upper have the same precedence`, ErrSyntax},
		{"column counts characters", "# ééé\nif header :is \"subject\" \"é\" { kep; }", `sieve: line 2, column 31: unknown command "kep"`, ErrSyntax},
		{"tag twice", "require \"copy\";\nredirect :copy :copy \"a@b.c\";", `sieve: line 2, column 16: tag :copy given twice`, ErrSyntax},
		{"unicode out of range", "require \"encoded-character\";\nif header :contains \"subject\" \"${unicode:200000}\" { keep; }", `sieve: line 2, column 31: invalid unicode character 0x200000 in encoded character`, ErrSyntax},
		{"surrogate", "require \"encoded-character\";\nkeep;\nif header :is \"x\" \"${Unicode:DF01}\" { keep; }", `sieve: line 3, column 19: invalid unicode character 0xDF01 in encoded character`, ErrSyntax},
		{"nesting", strings.Repeat("if true {", 40) + strings.Repeat("}", 40), `sieve: line 1, column 292: nesting deeper than 32`, ErrLimit},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.src), nil)
			require.Error(t, err)
			assert.Equal(t, c.want, err.Error())
			assert.True(t, errors.Is(err, c.cat), "%v is not %v", err, c.cat)
			var e *Error
			require.True(t, errors.As(err, &e))
		})
	}
}

func TestParseLimits(t *testing.T) {
	t.Parallel()
	_, err := Parse([]byte(strings.Repeat("keep;", 100)), &Options{Limits: Limits{MaxScriptBytes: 100}})
	assert.ErrorIs(t, err, ErrLimit)
	_, err = Parse([]byte("keep;\xff"), nil)
	assert.ErrorIs(t, err, ErrSyntax)
	// Only the extensions offered may be required.
	_, err = Parse([]byte(`require "vacation";`), &Options{Extensions: []string{"fileinto"}})
	assert.ErrorIs(t, err, ErrUnsupported)
	_, err = Parse([]byte(`require "fileinto"; fileinto "a";`), &Options{Extensions: []string{"fileinto"}})
	assert.NoError(t, err)
}

func TestParseAccepts(t *testing.T) {
	t.Parallel()
	for _, src := range []string{
		"",
		"# only a comment",
		"keep;",
		"KEEP;",
		`if HEADER :CONTAINS "Subject" "x" { Discard; }`,
		`require "comparator-i;octet"; if header :comparator "i;octet" :is "a" "b" { keep; }`,
		"if size :over 1G { discard; }",
		"require \"reject\";\nreject text: # comment\nline one\n..dot\n.\n;",
		`if anyof (true) {}`,
		`if not not not not true { stop; }`,
		`require ["imap4flags"]; keep :flags ["\\Seen"];`,
		`require "vacation-seconds"; vacation :seconds 0 "x";`,
		`require ["editheader"]; deleteheader :index 1 :last "X-A" ["a", "b"];`,
	} {
		_, err := Parse([]byte(src), nil)
		assert.NoError(t, err, "%s", src)
	}
}

func TestMultilineString(t *testing.T) {
	t.Parallel()
	s := mustParse(t, "require \"reject\";\nreject text: # comment\nline one\n..dot\n.\n;")
	res := runOn(t, s, "From: a@b.c\r\n\r\n", Envelope{}, nil)
	assert.Equal(t, Reject{Reason: "line one\r\n.dot\r\n"}, res.Actions[0])
}

func TestExtensions(t *testing.T) {
	t.Parallel()
	ext := Extensions()
	assert.True(t, slices.IsSorted(ext))
	for _, name := range []string{"fileinto", "envelope", "imap4flags", "variables", "subaddress", "copy", "body", "relational", "reject", "ereject", "vacation", "mailbox", "date", "index", "editheader", "spamtest", "spamtestplus", "comparator-i;ascii-numeric", "encoded-character", "vacation-seconds"} {
		assert.Contains(t, ext, name)
		_, err := Parse([]byte(`require "`+name+`";`), nil)
		assert.NoError(t, err, name)
	}
}

// TestEncodedCharacter checks the table of RFC 5228 section 2.4.2.4.
func TestEncodedCharacter(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"$${hex:40}":         "$@",
		"${hex: 40 }":        "@",
		"${HEX: 40}":         "@",
		"${hex:40":           "${hex:40",
		"${hex:400}":         "${hex:400}",
		"${hex:4${hex:30}}":  "${hex:40}",
		"${unicode:40}":      "@",
		"${ unicode:40}":     "${ unicode:40}",
		"${UNICODE:40}":      "@",
		"${UnICoDE:0000040}": "@",
		"${Unicode:40}":      "@",
		"${Unicode:Cool}":    "${Unicode:Cool}",
		"${hex:\r\n41\r\n}":  "A",
	} {
		got, bad := decodeEncodedCharacters(in)
		assert.Equal(t, want, got, in)
		assert.Empty(t, bad, in)
	}
	for _, in := range []string{"${unicode:200000}", "${Unicode:DF01}"} {
		_, bad := decodeEncodedCharacters(in)
		assert.NotEmpty(t, bad, in)
	}
}
