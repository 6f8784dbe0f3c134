package managesieve

import (
	"strconv"
	"unicode/utf8"
)

// maxQuoted is the longest string sent quoted (RFC 5804 section 4 allows
// up to 1024 octets); longer ones go as literals.
const maxQuoted = 1024

// quotable reports whether s can be sent as a quoted string.
func quotable(s string) bool {
	if len(s) > maxQuoted || !utf8.ValidString(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == 0 || c == '\r' || c == '\n' {
			return false
		}
	}
	return true
}

// appendString appends s as a quoted string when it can be one, else as a
// literal "{n}" CRLF s.
func appendString(b []byte, s string) []byte {
	if !quotable(s) {
		b = append(b, '{')
		b = strconv.AppendInt(b, int64(len(s)), 10)
		b = append(b, "}\r\n"...)
		return append(b, s...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

// appendLiteralString appends s as a client-to-server literal "{n+}"
// CRLF s, or quoted when it is short and quotable.
func appendClientString(b []byte, s string) []byte {
	if quotable(s) {
		return appendString(b, s)
	}
	b = append(b, '{')
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, "+}\r\n"...)
	return append(b, s...)
}

// Response is an OK, NO or BYE response line of RFC 5804 section 4.
type Response struct {
	// Status is "OK", "NO" or "BYE".
	Status string
	// Code is the response code; empty means none.
	Code ResponseCode
	// CodeArg is the string after TAG or SASL.
	CodeArg string
	// Text is the human-readable string; empty means none.
	Text string
}

// appendTo appends the response with its CRLF.
func (r Response) appendTo(b []byte) []byte {
	b = append(b, r.Status...)
	if r.Code != "" {
		b = append(b, " ("...)
		b = append(b, r.Code...)
		if r.Code == CodeTag || r.Code == CodeSASL {
			b = append(b, ' ')
			b = appendString(b, r.CodeArg)
		}
		b = append(b, ')')
	}
	if r.Text != "" {
		b = append(b, ' ')
		b = appendString(b, r.Text)
	}
	return append(b, "\r\n"...)
}

// String returns the response as sent, without the CRLF.
func (r Response) String() string {
	b := r.appendTo(nil)
	return string(b[:len(b)-2])
}
