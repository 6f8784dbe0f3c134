package charset

import (
	"io"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
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
// undeclared-charset rule as it is read. Valid UTF-8 is read straight into
// the caller's buffer, without copying or allocating.
func NewUndeclaredReader(r io.Reader) io.Reader {
	return &utf8Reader{r: r, bad: func(b []byte, c byte) []byte {
		return utf8.AppendRune(b, charmap.Windows1252.DecodeByte(c))
	}}
}

// NewUTF8Reader returns a reader of r, declared UTF-8, in which each byte
// that is not part of a valid UTF-8 sequence becomes U+FFFD. Valid UTF-8
// is read straight into the caller's buffer.
func NewUTF8Reader(r io.Reader) io.Reader {
	return &utf8Reader{r: r, bad: func(b []byte, _ byte) []byte {
		return utf8.AppendRune(b, utf8.RuneError)
	}}
}

// utf8Reader passes valid UTF-8 through and replaces every other byte with
// what bad appends.
type utf8Reader struct {
	r       io.Reader
	bad     func([]byte, byte) []byte
	carry   [utf8.UTFMax]byte // an incomplete sequence at the end of a read
	ncarry  int
	pending []byte // converted bytes that did not fit the caller's buffer
	scratch []byte
	err     error
}

func (u *utf8Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if len(u.pending) > 0 {
		n := copy(p, u.pending)
		u.pending = u.pending[n:]
		return n, nil
	}
	if u.err != nil {
		return 0, u.err
	}
	buf := p
	if len(buf) < 2*utf8.UTFMax {
		// Too small to hold a carried sequence and progress: read
		// through the scratch buffer and hand out from pending.
		if u.scratch == nil {
			u.scratch = make([]byte, 512)
		}
		buf = u.scratch
	}
	n := copy(buf, u.carry[:u.ncarry])
	u.ncarry = 0
	m, err := u.r.Read(buf[n:])
	n += m
	u.err = err
	data := buf[:n]
	if err == nil {
		// Keep a sequence cut by the end of this read for the next.
		for k := 1; k < utf8.UTFMax && k <= len(data); k++ {
			c := data[len(data)-k]
			if c < utf8.RuneSelf {
				break
			}
			if utf8.RuneStart(c) {
				if !utf8.FullRune(data[len(data)-k:]) {
					u.ncarry = copy(u.carry[:], data[len(data)-k:])
					data = data[:len(data)-k]
				}
				break
			}
		}
	}
	if utf8.Valid(data) && &buf[0] == &p[0] {
		return len(data), u.retErr()
	}
	out := u.convert(data)
	k := copy(p, out)
	if k < len(out) {
		u.pending = append(u.pending[:0], out[k:]...)
		return k, nil
	}
	return k, u.retErr()
}

// retErr returns the reader's error once nothing is held back.
func (u *utf8Reader) retErr() error {
	if u.ncarry > 0 || len(u.pending) > 0 {
		return nil
	}
	return u.err
}

// convert returns data with its invalid bytes replaced, in a new slice
// unless data is valid.
func (u *utf8Reader) convert(data []byte) []byte {
	if utf8.Valid(data) {
		return data
	}
	out := make([]byte, 0, len(data)+len(data)/2+4)
	for i := 0; i < len(data); {
		c := data[i]
		if c < utf8.RuneSelf {
			out = append(out, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n == 1 {
			out = u.bad(out, c)
		} else {
			out = append(out, data[i:i+n]...)
		}
		i += n
	}
	return out
}
