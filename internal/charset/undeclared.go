package charset

import (
	"io"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/transform"
)

// Text whose charset nobody declared (an 8-bit body without a charset
// parameter or labelled US-ASCII, raw 8-bit bytes in a header value or in
// a file name) is read by one rule, the one mail clients apply:
//
//   - bytes that form valid UTF-8 stay as they are;
//   - every other byte is read as windows-1252 (the superset of ISO-8859-1
//     that the WHATWG Encoding Standard uses for "iso-8859-1" and
//     "us-ascii"), one byte, one character.
//
// The rule is applied byte by byte, so it streams and a message that mixes
// UTF-8 header fields with a Latin-1 one reads right in both. A Latin-1
// text that happens to form valid UTF-8 (such as "Ã©") is read as UTF-8;
// that takes two or more high bytes in a row in exactly the UTF-8 pattern,
// which real Latin-1 text almost never has. [DecodeUndeclared] and
// [NewUndeclaredReader] are the two forms of the rule.

// DecodeUndeclared returns s read by the undeclared-charset rule: valid
// UTF-8 sequences as they are, every other byte as windows-1252. Valid
// UTF-8 comes back unchanged and without copying.
func DecodeUndeclared(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			if utf8.ValidString(s[i:]) {
				return s
			}
			b := make([]byte, i, len(s)+8)
			copy(b, s[:i])
			return string(appendUndeclared(b, s[i:]))
		}
	}
	return s
}

func appendUndeclared(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			b = append(b, c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = utf8.AppendRune(b, charmap.Windows1252.DecodeByte(c))
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return b
}

// NewUndeclaredReader returns a reader that converts r to UTF-8 by the
// undeclared-charset rule as it is read.
func NewUndeclaredReader(r io.Reader) io.Reader {
	return transform.NewReader(r, &undeclared{})
}

// undeclared is the undeclared-charset rule as a transformer.
type undeclared struct{ transform.NopResetter }

func (undeclared) Transform(dst, src []byte, atEOF bool) (nDst, nSrc int, err error) {
	for nSrc < len(src) {
		c := src[nSrc]
		if c < utf8.RuneSelf {
			// Copy the ASCII run in one go.
			end := nSrc + 1
			for end < len(src) && src[end] < utf8.RuneSelf {
				end++
			}
			start := nSrc
			n := copy(dst[nDst:], src[start:end])
			nDst += n
			nSrc += n
			if n < end-start {
				return nDst, nSrc, transform.ErrShortDst
			}
			continue
		}
		if !atEOF && !utf8.FullRune(src[nSrc:]) {
			return nDst, nSrc, transform.ErrShortSrc
		}
		r, n := utf8.DecodeRune(src[nSrc:])
		if r == utf8.RuneError && n == 1 {
			r = charmap.Windows1252.DecodeByte(c)
			if len(dst)-nDst < utf8.RuneLen(r) {
				return nDst, nSrc, transform.ErrShortDst
			}
			nDst += utf8.EncodeRune(dst[nDst:], r)
			nSrc++
			continue
		}
		if len(dst)-nDst < n {
			return nDst, nSrc, transform.ErrShortDst
		}
		nDst += copy(dst[nDst:], src[nSrc:nSrc+n])
		nSrc += n
	}
	return nDst, nSrc, nil
}
