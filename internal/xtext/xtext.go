// Package xtext implements the xtext encoding of RFC 3461 section 4, used
// by the SMTP DSN parameters ENVID and ORCPT and by the AUTH parameter of
// MAIL (RFC 4954 section 5).
//
//	xtext = *( xchar / hexchar )
//	xchar = any ASCII CHAR between "!" (33) and "~" (126) inclusive,
//	        except for "+" and "="
//	hexchar = "+" followed by two upper case hexadecimal digits
//
// Decoding accepts lower case hexadecimal digits as well, since nothing is
// ambiguous about them; encoding always writes upper case.
package xtext

import "errors"

// ErrSyntax means the input is not valid xtext.
var ErrSyntax = errors.New("xtext: invalid encoding")

const hexDigits = "0123456789ABCDEF"

// Encode returns the xtext encoding of s. Every byte outside "!".."~" and
// the bytes "+" and "=" are written as "+HH".
func Encode(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if !isXchar(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isXchar(c) {
			b = append(b, c)
			continue
		}
		b = append(b, '+', hexDigits[c>>4], hexDigits[c&15])
	}
	return string(b)
}

// Decode returns the bytes that xtext s encodes. It fails with ErrSyntax on
// a byte outside "!".."~", on "=", and on "+" not followed by two
// hexadecimal digits.
func Decode(s string) (string, error) {
	plus := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			plus++
		case !isXchar(c):
			return "", ErrSyntax
		}
	}
	if plus == 0 {
		return s, nil
	}
	b := make([]byte, 0, max(len(s)-2*plus, 0))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '+' {
			b = append(b, c)
			continue
		}
		if i+2 >= len(s) {
			return "", ErrSyntax
		}
		hi, ok1 := unhex(s[i+1])
		lo, ok2 := unhex(s[i+2])
		if !ok1 || !ok2 {
			return "", ErrSyntax
		}
		b = append(b, hi<<4|lo)
		i += 2
	}
	return string(b), nil
}

// Valid reports whether s is valid xtext.
func Valid(s string) bool {
	_, err := Decode(s)
	return err == nil
}

func isXchar(c byte) bool { return c >= '!' && c <= '~' && c != '+' && c != '=' }

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
