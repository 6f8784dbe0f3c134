package mime

import (
	"io"
	"strings"

	"github.com/heraldmail/herald/internal/charset"
)

// charsetReader converts r from charset cs to UTF-8 with lookup, or with
// the built-in table when lookup is nil. UTF-8 and US-ASCII pass through.
// For an unknown charset it returns r itself and a *CharsetError.
func charsetReader(cs string, r io.Reader, lookup func(string, io.Reader) (io.Reader, error)) (io.Reader, error) {
	cs = strings.ToLower(strings.TrimSpace(cs))
	if cs == "" || charset.IsUTF8(cs) {
		return r, nil
	}
	if lookup != nil {
		cr, err := lookup(cs, r)
		if err != nil || cr == nil {
			return r, &CharsetError{Charset: cs}
		}
		return cr, nil
	}
	cr, err := charset.NewReader(cs, r)
	if err != nil {
		return r, &CharsetError{Charset: cs}
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
