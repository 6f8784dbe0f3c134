package dkim

import (
	"bytes"
	"encoding/binary"
	"hash"
	"strings"
)

// appendHeader appends the canonical form of one header field to dst (RFC
// 6376 section 3.4.1 and 3.4.2). raw is the whole field as read: name,
// colon, value with its folding, and its line ending. A bare LF is taken as
// CRLF, as for a message read from a file. With crlf false the final line
// ending is left out, as for the DKIM-Signature field being verified.
func appendHeader(dst []byte, c Canonicalization, raw string, crlf bool) []byte {
	raw = strings.TrimRight(raw, "\r\n")
	if c == Simple {
		for i := 0; i < len(raw); i++ {
			if raw[i] == '\n' && (i == 0 || raw[i-1] != '\r') {
				dst = append(dst, '\r')
			}
			dst = append(dst, raw[i])
		}
		if crlf {
			dst = append(dst, '\r', '\n')
		}
		return dst
	}
	colon := strings.IndexByte(raw, ':')
	name, value := raw, ""
	if colon >= 0 {
		name, value = raw[:colon], raw[colon+1:]
	}
	name = strings.TrimRight(name, " \t")
	for i := 0; i < len(name); i++ {
		dst = append(dst, lower(name[i]))
	}
	dst = append(dst, ':')
	space := false
	started := false
	for i := 0; i < len(value); i++ {
		switch c := value[i]; c {
		case '\r', '\n':
		case ' ', '\t':
			space = true
		default:
			if space && started {
				dst = append(dst, ' ')
			}
			space = false
			started = true
			dst = append(dst, c)
		}
	}
	if crlf {
		dst = append(dst, '\r', '\n')
	}
	return dst
}

// bodyHasher canonicalizes a body as it streams (RFC 6376 section 3.4.3
// and 3.4.4) and hashes the first limit octets of the result. Lines may end
// in CRLF or a bare LF; a CR not followed by LF is an ordinary octet.
type bodyHasher struct {
	c     Canonicalization
	h     hash.Hash
	limit int64 // octets to hash, -1 for all
	n     int64 // octets hashed
	extra int64 // canonical octets beyond limit

	crlfs   int  // line ends held back: empty lines may end the body
	wsp     bool // relaxed: white space held back
	inLine  bool // the current line has content
	content bool // some line had content
	cr      bool // the last octet was a CR

	buf []byte
}

// bodyBufSize is the canonical output a bodyHasher gathers before hashing,
// and copyBufSize the input read at a time.
const (
	bodyBufSize = 2048
	copyBufSize = 8192
)

// runEnd returns the end of the run of octets from p[i] on that need no
// canonicalization: up to the next CR or LF, and in relaxed mode also up
// to the next tab, run of spaces, or space before a line end. p[i] itself
// is ordinary.
func runEnd(p []byte, i int, relaxed bool) int {
	if !relaxed {
		n := bytes.IndexByte(p[i:], '\n')
		if n < 0 {
			n = len(p) - i
		}
		if cr := bytes.IndexByte(p[i:i+n], '\r'); cr >= 0 {
			n = cr
		}
		return i + n
	}
	j := i
	for {
		// Eight octets at a time while they hold no control octet (tab,
		// CR and LF included), no two spaces in a row, and no space
		// last, whose successor would decide.
		for j+8 <= len(p) {
			x := binary.LittleEndian.Uint64(p[j:])
			ctl := (x - 0x2020202020202020) &^ x & 0x8080808080808080
			y := x ^ 0x2020202020202020
			sp := (y - 0x0101010101010101) &^ y & 0x8080808080808080
			if ctl != 0 || sp&(sp>>8) != 0 || p[j+7] == ' ' {
				break
			}
			j += 8
		}
		if j >= len(p) {
			return len(p)
		}
		switch d := p[j]; {
		case d > ' ':
			j++
		case d == ' ':
			if j+1 < len(p) && p[j+1] > ' ' {
				j += 2
				continue
			}
			return j
		case d == '\t' || d == '\r' || d == '\n':
			return j
		default:
			j++ // another control octet, ordinary
		}
	}
}

func newBodyHasher(c Canonicalization, h hash.Hash, limit int64) *bodyHasher {
	return &bodyHasher{c: c, h: h, limit: limit, buf: make([]byte, 0, bodyBufSize)}
}

// Write canonicalizes p. It never fails.
func (b *bodyHasher) Write(p []byte) (int, error) {
	relaxed := b.c == Relaxed
	buf := b.buf
	for i := 0; i < len(p); i++ {
		c := p[i]
		if b.cr {
			b.cr = false
			if c != '\n' {
				buf = b.contentByte(buf, '\r')
			}
		}
		switch {
		case c == '\n':
			b.wsp = false
			if b.inLine {
				b.inLine = false
				b.crlfs = 1
			} else {
				b.crlfs++
			}
			continue
		case c == '\r':
			b.cr = true
			continue
		case relaxed && (c == ' ' || c == '\t'):
			b.wsp = true
			continue
		}
		// Fast path: a run of ordinary octets on a line already started,
		// copied in one append. In relaxed mode a single space between two
		// ordinary octets is part of the run, so that the run ends only at
		// a line end, a tab, or two spaces, not at every word.
		if b.inLine && !b.wsp {
			j := runEnd(p, i, relaxed)
			buf = append(buf, p[i:j]...)
			if len(buf) >= bodyBufSize {
				buf = b.flush(buf)
			}
			i = j - 1
			continue
		}
		buf = b.contentByte(buf, c)
	}
	b.buf = buf
	return len(p), nil
}

// contentByte appends one octet of line content, with the line ends and
// white space held back before it.
func (b *bodyHasher) contentByte(buf []byte, c byte) []byte {
	for ; b.crlfs > 0; b.crlfs-- {
		buf = append(buf, '\r', '\n')
	}
	if b.wsp {
		b.wsp = false
		if b.inLine || b.c == Relaxed {
			buf = append(buf, ' ')
		}
	}
	b.inLine, b.content = true, true
	buf = append(buf, c)
	if len(buf) >= bodyBufSize {
		buf = b.flush(buf)
	}
	return buf
}

func (b *bodyHasher) flush(buf []byte) []byte {
	if len(buf) == 0 {
		return buf
	}
	n := int64(len(buf))
	if b.limit >= 0 && b.n+n > b.limit {
		keep := b.limit - b.n
		b.h.Write(buf[:keep])
		b.n += keep
		b.extra += n - keep
	} else {
		b.h.Write(buf)
		b.n += n
	}
	return buf[:0]
}

// sum ends the body and returns its hash. The body ends in exactly one
// CRLF; an empty body is CRLF in simple canonicalization and nothing in
// relaxed.
func (b *bodyHasher) sum() []byte {
	buf := b.buf
	if b.cr {
		b.cr = false
		buf = b.contentByte(buf, '\r')
	}
	if b.content || b.c == Simple {
		buf = append(buf, '\r', '\n')
	}
	b.buf = b.flush(buf)
	return b.h.Sum(nil)
}
