package mime

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime/quotedprintable"
)

// NewEncoder returns a writer that encodes what is written to it in
// transfer encoding e and writes it to w, in lines of at most 76
// characters plus CRLF for base64 and quoted-printable (RFC 2045 sections
// 6.7 and 6.8). Quoted-printable treats the input as text: CRLF or LF
// becomes a hard CRLF line break. 7bit and 8bit write text with bare LF
// turned into CRLF; binary writes bytes unchanged. The caller must Close
// the writer to flush the last line; Close does not close w. An unknown
// encoding returns an error wrapping [ErrUnknownEncoding].
func NewEncoder(e Encoding, w io.Writer) (io.WriteCloser, error) {
	switch e {
	case EncodingBase64:
		return &base64Writer{w: w}, nil
	case EncodingQuotedPrintable:
		return quotedprintable.NewWriter(w), nil
	case Encoding7Bit, Encoding8Bit:
		return &crlfWriter{w: w}, nil
	case EncodingBinary:
		return nopCloser{w}, nil
	}
	return nil, errDetail(ErrUnknownEncoding, string(e))
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// base64Writer writes base64 in 76-character lines ended by CRLF.
type base64Writer struct {
	w    io.Writer
	in   [57]byte // one line's worth of input
	n    int
	line [78]byte
	err  error
}

func (b *base64Writer) Write(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	total := len(p)
	for len(p) > 0 {
		if b.n == 0 && len(p) >= 57 {
			// Whole lines straight from p.
			k := len(p) / 57 * 57
			if err := b.lines(p[:k]); err != nil {
				return total - len(p), err
			}
			p = p[k:]
			continue
		}
		c := copy(b.in[b.n:], p)
		b.n += c
		p = p[c:]
		if b.n == 57 {
			if err := b.lines(b.in[:]); err != nil {
				return total - len(p), err
			}
			b.n = 0
		}
	}
	return total, nil
}

// lines encodes src, a multiple of 57 bytes, as full lines.
func (b *base64Writer) lines(src []byte) error {
	var buf [78 * 32]byte
	for len(src) > 0 {
		k := min(len(src)/57, 32)
		out := buf[:0]
		for i := 0; i < k; i++ {
			var l [76]byte
			base64.StdEncoding.Encode(l[:], src[i*57:(i+1)*57])
			out = append(out, l[:]...)
			out = append(out, '\r', '\n')
		}
		if _, err := b.w.Write(out); err != nil {
			b.err = err
			return err
		}
		src = src[k*57:]
	}
	return nil
}

func (b *base64Writer) Close() error {
	if b.err != nil {
		return b.err
	}
	if b.n > 0 {
		m := base64.StdEncoding.EncodedLen(b.n)
		base64.StdEncoding.Encode(b.line[:m], b.in[:b.n])
		b.line[m], b.line[m+1] = '\r', '\n'
		b.n = 0
		if _, err := b.w.Write(b.line[:m+2]); err != nil {
			b.err = err
			return err
		}
	}
	return nil
}

// crlfWriter turns bare LF into CRLF.
type crlfWriter struct {
	w      io.Writer
	lastCR bool
}

func (c *crlfWriter) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			if _, err := c.w.Write(p); err != nil {
				return total - len(p), err
			}
			c.lastCR = p[len(p)-1] == '\r'
			return total, nil
		}
		prevCR := c.lastCR
		if i > 0 {
			prevCR = p[i-1] == '\r'
		}
		if prevCR {
			if _, err := c.w.Write(p[:i+1]); err != nil {
				return total - len(p), err
			}
		} else {
			if _, err := c.w.Write(p[:i]); err != nil {
				return total - len(p), err
			}
			if _, err := c.w.Write([]byte("\r\n")); err != nil {
				return total - len(p), err
			}
		}
		c.lastCR = false
		p = p[i+1:]
	}
	return total, nil
}

func (c *crlfWriter) Close() error { return nil }

// maxLine7Bit is the longest line RFC 5322 section 2.1.1 and RFC 2045
// section 2.7 allow, CRLF excluded.
const maxLine7Bit = 998

// ChooseEncoding picks the transfer encoding for content: 7bit when it is
// US-ASCII without NUL or bare CR and with lines of at most 998 octets
// (RFC 2045 section 2.7), and, unless it is text, without bare LF (which
// the 7bit encoder turns into CRLF); otherwise, for text,
// quoted-printable when fewer than one byte in six needs escaping;
// otherwise base64.
func ChooseEncoding(content []byte, text bool) Encoding {
	escapes := 0
	line := 0
	clean := true
	for i, c := range content {
		switch {
		case c == '\n':
			if !text && (i == 0 || content[i-1] != '\r') {
				clean = false // a bare LF would become CRLF
			}
			line = 0
			continue
		case c == '\r':
			if i+1 >= len(content) || content[i+1] != '\n' {
				clean = false
			}
			continue
		case c == 0 || c >= 0x80:
			clean = false
			escapes++
		case c < ' ' && c != '\t':
			escapes++
		}
		line++
		if line > maxLine7Bit {
			clean = false
		}
	}
	if clean {
		return Encoding7Bit
	}
	if text && escapes*6 < len(content) {
		return EncodingQuotedPrintable
	}
	return EncodingBase64
}
