package imap

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxQuoted is the longest string written quoted; longer ones are literals.
const maxQuoted = 1024

// quoteString returns s as a quoted string. The caller has checked that s
// holds no CR, LF or NUL.
func quoteString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// quotable reports whether s can be sent as a quoted string: no CR, LF or
// NUL, and 8-bit bytes only as valid UTF-8 to a client that accepts it.
func quotable(s string, utf8OK bool) bool {
	if len(s) > maxQuoted {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' || c == '\n' || c == 0 {
			return false
		}
		if c >= 0x80 && !utf8OK {
			return false
		}
	}
	return !utf8OK || utf8.ValidString(s)
}

// appendString appends s as a quoted string or, when it cannot be quoted,
// as a literal.
func appendString(b []byte, s string, utf8OK bool) []byte {
	if quotable(s, utf8OK) {
		b = append(b, '"')
		for i := 0; i < len(s); i++ {
			if s[i] == '"' || s[i] == '\\' {
				b = append(b, '\\')
			}
			b = append(b, s[i])
		}
		return append(b, '"')
	}
	b = append(b, '{')
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, "}\r\n"...)
	return append(b, s...)
}

// appendNString appends NIL for an empty s, else the string.
func appendNString(b []byte, s string, utf8OK bool) []byte {
	if s == "" {
		return append(b, "NIL"...)
	}
	return appendString(b, s, utf8OK)
}

// appendAString appends s as an atom when it is one, else as a string.
func appendAString(b []byte, s string, utf8OK bool) []byte {
	if s != "" && !strings.EqualFold(s, "NIL") {
		atom := true
		for i := 0; i < len(s); i++ {
			if !isAtomChar(s[i]) {
				atom = false
				break
			}
		}
		if atom {
			return append(b, s...)
		}
	}
	return appendString(b, s, utf8OK)
}

// appendFlags appends a parenthesised flag list.
func appendFlags(b []byte, flags []Flag) []byte {
	b = append(b, '(')
	for i, f := range flags {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, f...)
	}
	return append(b, ')')
}
