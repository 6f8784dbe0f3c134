package mime

import (
	"io"
	"strings"

	"github.com/heraldmail/herald/internal/charset"
)

// charsetReader converts r from charset cs to UTF-8 with lookup, or with
// the built-in table when lookup is nil. No charset, US-ASCII (the RFC 2045
// default, so no real declaration for 8-bit bytes) and an unknown charset
// are read by the undeclared-charset rule (valid UTF-8 stays, other bytes
// are windows-1252); an unknown charset also gives a *CharsetError. UTF-8
// is checked: invalid bytes become U+FFFD.
func charsetReader(cs string, r io.Reader, lookup func(string, io.Reader) (io.Reader, error)) (io.Reader, error) {
	cs = strings.ToLower(strings.TrimSpace(cs))
	switch cs {
	case "", "us-ascii", "ascii":
		return charset.NewUndeclaredReader(r), nil
	case "utf-8", "utf8":
		return charset.NewUTF8Reader(r), nil
	}
	if lookup != nil {
		cr, err := lookup(cs, r)
		if err != nil || cr == nil {
			return charset.NewUndeclaredReader(r), &CharsetError{Charset: cs}
		}
		return cr, nil
	}
	cr, err := charset.NewReader(cs, r)
	if err != nil {
		return charset.NewUndeclaredReader(r), &CharsetError{Charset: cs}
	}
	return cr, nil
}

// convertString converts s from charset cs to UTF-8.
func convertString(cs, s string, lookup func(string, io.Reader) (io.Reader, error)) (string, error) {
	cr, err := charsetReader(cs, strings.NewReader(s), lookup)
	if err != nil {
		return s, err
	}
	b, err := io.ReadAll(io.LimitReader(cr, int64(len(s))*4+16))
	if err != nil {
		return s, err
	}
	return string(b), nil
}
