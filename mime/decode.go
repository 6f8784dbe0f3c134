package mime

import (
	"bytes"
	"encoding/base64"
	"io"
	"strings"
)

// Encoding is a Content-Transfer-Encoding value (RFC 2045 section 6), lower
// case.
type Encoding string

// Transfer encodings.
const (
	Encoding7Bit            Encoding = "7bit"
	Encoding8Bit            Encoding = "8bit"
	EncodingBinary          Encoding = "binary"
	EncodingQuotedPrintable Encoding = "quoted-printable"
	EncodingBase64          Encoding = "base64"
	// EncodingUUEncode is the non-standard "x-uuencode" (also written
	// "uuencode", "x-uue" and "uue"), decoded as an extra.
	EncodingUUEncode Encoding = "x-uuencode"
)

// ParseEncoding normalises a Content-Transfer-Encoding header value:
// trimmed, lower case, a trailing comment dropped, and the uuencode
// spellings mapped to [EncodingUUEncode]. An empty value means 7bit.
func ParseEncoding(s string) Encoding {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, " \t(;"); i >= 0 {
		s = s[:i]
	}
	s = strings.Trim(s, "\"")
	s = strings.ToLower(s)
	switch s {
	case "":
		return Encoding7Bit
	case "uuencode", "x-uue", "uue", "x-uuencode":
		return EncodingUUEncode
	}
	return Encoding(s)
}

// Known reports whether e is an encoding [NewDecoder] decodes.
func (e Encoding) Known() bool {
	switch e {
	case Encoding7Bit, Encoding8Bit, EncodingBinary, EncodingQuotedPrintable, EncodingBase64, EncodingUUEncode:
		return true
	}
	return false
}

// NewDecoder returns a reader of r decoded from transfer encoding e. The
// decoders are tolerant, as mail clients are: base64 skips characters
// outside its alphabet, accepts missing padding and stops at the end of
// padding; quoted-printable keeps malformed escapes literally, joins soft
// line breaks (also when transport padding follows the "=") and drops
// trailing white space (RFC 2045 section 6.7); 7bit, 8bit and binary pass
// through. An unknown encoding returns r unchanged and an error wrapping
// [ErrUnknownEncoding].
func NewDecoder(e Encoding, r io.Reader) (io.Reader, error) {
	return newDecoder(e, r, nil)
}

func newDecoder(e Encoding, r io.Reader, d *defects) (io.Reader, error) {
	switch e {
	case Encoding7Bit, Encoding8Bit, EncodingBinary, "":
		return r, nil
	case EncodingBase64:
		return &base64Reader{src: newSource(r), defects: d}, nil
	case EncodingQuotedPrintable:
		return &qpReader{src: newSource(r), defects: d}, nil
	case EncodingUUEncode:
		return &uuReader{r: r}, nil
	}
	return r, errDetail(ErrUnknownEncoding, string(e))
}

// defects collects the defects of one part.
type defects struct{ list []Defect }

func (d *defects) add(x Defect) {
	if d == nil {
		return
	}
	for _, y := range d.list {
		if y == x {
			return
		}
	}
	d.list = append(d.list, x)
}

// b64val maps a byte to its base64 value, 0xfe for '=' and 0xff for
// anything outside the alphabet.
const b64val = "" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x3e\xff\xff\xff\x3f\x34\x35\x36\x37\x38\x39\x3a\x3b\x3c\x3d\xff\xff\xff\xfe\xff\xff" +
	"\xff\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\xff\xff\xff\xff\xff" +
	"\xff\x1a\x1b\x1c\x1d\x1e\x1f\x20\x21\x22\x23\x24\x25\x26\x27\x28\x29\x2a\x2b\x2c\x2d\x2e\x2f\x30\x31\x32\x33\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"

// chunker is implemented by sources that can hand out their buffered
// bytes without a copy (a part body read straight from the scanner). The
// slice is valid until the next call.
type chunker interface {
	chunk(max int) ([]byte, error)
}

// source gives a decoder input chunks: from a chunker without copying, or
// from any reader through a small buffer.
type source struct {
	r   io.Reader
	ch  chunker
	buf []byte
}

func newSource(r io.Reader) source {
	ch, _ := r.(chunker)
	return source{r: r, ch: ch}
}

func (s *source) next(max int) ([]byte, error) {
	if max < 4 {
		max = 4
	}
	if s.ch != nil {
		return s.ch.chunk(max)
	}
	if s.buf == nil {
		s.buf = make([]byte, 4096)
	}
	n, err := s.r.Read(s.buf[:min(max, len(s.buf))])
	return s.buf[:n], err
}

// smallRead is the size under which decoders decode into their own buffer
// and copy, rather than straight into the caller's.
const smallRead = 1024

// base64Reader decodes base64 leniently. Clean lines take the standard
// library's fast path; anything odd falls back to a byte loop that skips
// characters outside the alphabet.
type base64Reader struct {
	src     source
	defects *defects
	out     []byte // decoded, not yet returned
	outBuf  []byte
	quad    [4]byte
	qn      int
	pads    int
	done    bool // padding seen: the rest is ignored
	eof     bool
	err     error
}

func (b *base64Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if len(b.out) > 0 {
			n := copy(p, b.out)
			b.out = b.out[n:]
			return n, nil
		}
		if b.eof || b.done {
			if b.done {
				b.drain()
			}
			if b.qn > 0 {
				b.out = b.tail(b.outBuf[:0])
				continue
			}
			if b.err != nil {
				return 0, b.err
			}
			return 0, io.EOF
		}
		dst := p[:len(p):len(p)]
		small := len(p) < smallRead
		if small {
			if b.outBuf == nil {
				b.outBuf = make([]byte, smallRead)
			}
			dst = b.outBuf
		}
		in, err := b.src.next((len(dst)/3 - 1) * 4)
		if err != nil {
			b.eof = true
			if err != io.EOF {
				b.err = err
			}
		}
		out := b.decode(dst[:0], in)
		if small {
			b.out = out
			continue
		}
		if len(out) > 0 {
			return len(out), nil
		}
	}
}

// drain consumes the rest of the input after the padding so that the
// part is read to its end.
func (b *base64Reader) drain() {
	for !b.eof {
		_, err := b.src.next(4096)
		if err != nil {
			b.eof = true
			if err != io.EOF {
				b.err = err
			}
		}
	}
}

// decode appends the decoding of in to out. out has room for all of it.
func (b *base64Reader) decode(out, in []byte) []byte {
	for len(in) > 0 && !b.done {
		line := in
		if i := bytes.IndexByte(in, '\n'); i >= 0 {
			line = in[:i]
			in = in[i+1:]
		} else {
			in = nil
		}
		for len(line) > 0 && (line[len(line)-1] == '\r' || line[len(line)-1] == ' ' || line[len(line)-1] == '\t') {
			line = line[:len(line)-1]
		}
		if b.qn == 0 && len(line)%4 == 0 && len(line) > 0 {
			if m, err := base64.StdEncoding.Decode(out[len(out):cap(out)], line); err == nil {
				out = out[:len(out)+m]
				if line[len(line)-1] == '=' {
					b.done = true
				}
				continue
			}
		}
		out = b.slow(out, line)
	}
	return out
}

// slow decodes line byte by byte, skipping anything outside the alphabet.
func (b *base64Reader) slow(out, line []byte) []byte {
	for _, c := range line {
		v := b64val[c]
		switch {
		case v < 64:
			b.pads = 0
			b.quad[b.qn] = v
			b.qn++
			if b.qn == 4 {
				out = append(out, b.quad[0]<<2|b.quad[1]>>4, b.quad[1]<<4|b.quad[2]>>2, b.quad[2]<<6|b.quad[3])
				b.qn = 0
			}
		case v == 0xfe:
			if b.qn >= 2 {
				b.pads++
				if b.qn+b.pads >= 4 {
					out = b.tail(out)
					b.done = true
					return out
				}
			}
		default:
			if c != '\r' && c != '\n' && c != ' ' && c != '\t' {
				b.defects.add(DefectInvalidBase64)
			}
		}
	}
	return out
}

// tail appends the decoding of an incomplete final group (padding missing
// or just seen) to out.
func (b *base64Reader) tail(out []byte) []byte {
	q := b.quad
	switch b.qn {
	case 2:
		out = append(out, q[0]<<2|q[1]>>4)
	case 3:
		out = append(out, q[0]<<2|q[1]>>4, q[1]<<4|q[2]>>2)
	case 1:
		b.defects.add(DefectInvalidBase64)
	}
	b.qn = 0
	b.pads = 0
	return out
}

// maxCarry bounds the unfinished line a quoted-printable decoder holds
// between chunks; a longer line is decoded in pieces.
const maxCarry = 4096

// qpReader decodes quoted-printable leniently, line by line.
type qpReader struct {
	src     source
	defects *defects
	carry   []byte // an unfinished line from the previous chunk
	out     []byte
	outBuf  []byte
	eof     bool
	err     error
}

func (q *qpReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if len(q.out) > 0 {
			n := copy(p, q.out)
			q.out = q.out[n:]
			return n, nil
		}
		if q.eof {
			if len(q.carry) > 0 {
				q.out = q.decodeLine(q.outBuf[:0], q.carry, true, false)
				q.carry = q.carry[:0]
				continue
			}
			if q.err != nil {
				return 0, q.err
			}
			return 0, io.EOF
		}
		small := len(p) < smallRead+maxCarry
		dst := p[:len(p):len(p)]
		if small {
			if q.outBuf == nil {
				q.outBuf = make([]byte, smallRead+maxCarry)
			}
			dst = q.outBuf
		}
		// Output never exceeds input, so size the chunk to what dst
		// can take next to the carried line.
		in, err := q.src.next(len(dst) - len(q.carry))
		if err != nil {
			q.eof = true
			if err != io.EOF {
				q.err = err
			}
		}
		out := q.decode(dst[:0], in)
		if small {
			q.out = out
			continue
		}
		if len(out) > 0 {
			return len(out), nil
		}
	}
}

// decode appends the decoding of the complete lines of in (with any
// carried beginning) to out and carries the unfinished last line.
func (q *qpReader) decode(out, in []byte) []byte {
	if len(q.carry) > 0 {
		i := bytes.IndexByte(in, '\n')
		if i < 0 {
			q.carry = append(q.carry, in...)
			if len(q.carry) > maxCarry {
				out = q.flushLong(out)
			}
			return out
		}
		q.carry = append(q.carry, in[:i+1]...)
		out = q.decodeLine(out, q.carry, true, true)
		q.carry = q.carry[:0]
		in = in[i+1:]
	}
	for len(in) > 0 {
		i := bytes.IndexByte(in, '\n')
		if i < 0 {
			q.carry = append(q.carry, in...)
			if len(q.carry) > maxCarry {
				out = q.flushLong(out)
			}
			break
		}
		out = q.decodeLine(out, in[:i+1], true, true)
		in = in[i+1:]
	}
	return out
}

// flushLong decodes most of an over-long carried line, keeping a tail that
// could be an escape or trailing white space.
func (q *qpReader) flushLong(out []byte) []byte {
	c := q.carry
	cut := len(c) - 3
	// Back off so the piece ends neither in white space nor inside an
	// escape.
	for cut > 0 && (c[cut-1] == ' ' || c[cut-1] == '\t' || c[cut-1] == '=' || cut >= 2 && c[cut-2] == '=') {
		cut--
	}
	if cut <= 0 {
		// A run of white space or '=' longer than maxCarry: it cannot
		// all be padding worth keeping apart; decode it as it is.
		cut = len(c) - 3
	}
	out = q.decodeLine(out, c[:cut], false, false)
	n := copy(q.carry, c[cut:])
	q.carry = q.carry[:n]
	return out
}

// decodeLine decodes one line. complete is false for a piece of an
// over-long line; hasEOL is true when line ends in "\n".
func (q *qpReader) decodeLine(out, line []byte, complete, hasEOL bool) []byte {
	var eol []byte
	if hasEOL {
		n := len(line) - 1
		if n > 0 && line[n-1] == '\r' {
			n--
		}
		eol = line[n:]
		line = line[:n]
	}
	if complete {
		// Trailing white space is transport padding (RFC 2045 6.7 (3)).
		for len(line) > 0 && (line[len(line)-1] == ' ' || line[len(line)-1] == '\t') {
			line = line[:len(line)-1]
		}
	}
	soft := false
	if complete && len(line) > 0 && line[len(line)-1] == '=' {
		soft = true
		line = line[:len(line)-1]
	}
	for len(line) > 0 {
		i := bytes.IndexByte(line, '=')
		if i < 0 {
			out = append(out, line...)
			break
		}
		out = append(out, line[:i]...)
		line = line[i:]
		if len(line) >= 3 {
			h, ok1 := unhex(line[1])
			l, ok2 := unhex(line[2])
			if ok1 && ok2 {
				out = append(out, h<<4|l)
				line = line[3:]
				continue
			}
		}
		q.defects.add(DefectInvalidQuotedPrintable)
		out = append(out, '=')
		line = line[1:]
	}
	if !soft {
		out = append(out, eol...)
	}
	return out
}

// uuReader decodes a uuencoded body: lines up to "begin mode name" are
// skipped, data lines decoded, and reading stops at "end".
type uuReader struct {
	r      io.Reader
	br     *lineReader
	state  int // 0 before begin, 1 in data, 2 done
	out    []byte
	outBuf []byte
}

func (u *uuReader) Read(p []byte) (int, error) {
	if u.br == nil {
		u.br = &lineReader{r: u.r, buf: make([]byte, 4096)}
	}
	for len(u.out) == 0 {
		if u.state == 2 {
			u.br.discard()
			if u.br.err != nil && u.br.err != io.EOF {
				return 0, u.br.err
			}
			return 0, io.EOF
		}
		line, ok := u.br.line()
		if !ok {
			u.state = 2
			continue
		}
		line = bytes.TrimRight(line, "\r\n")
		switch u.state {
		case 0:
			if bytes.HasPrefix(line, []byte("begin ")) {
				u.state = 1
			}
		case 1:
			if bytes.Equal(bytes.TrimSpace(line), []byte("end")) {
				u.state = 2
				continue
			}
			u.out = uudecodeLine(u.outBuf[:0], line)
			u.outBuf = u.out[:0]
		}
	}
	n := copy(p, u.out)
	u.out = u.out[n:]
	return n, nil
}

func uudecodeLine(out, line []byte) []byte {
	if len(line) == 0 {
		return out
	}
	n := int((line[0] - ' ') & 63)
	line = line[1:]
	start := len(out)
	for len(line) > 0 && len(out)-start < n {
		var g [4]byte
		for k := 0; k < 4; k++ {
			if k < len(line) {
				g[k] = (line[k] - ' ') & 63
			}
		}
		out = append(out, g[0]<<2|g[1]>>4, g[1]<<4|g[2]>>2, g[2]<<6|g[3])
		if len(line) < 4 {
			break
		}
		line = line[4:]
	}
	if len(out)-start > n {
		out = out[:start+n]
	}
	return out
}

// lineReader hands out lines of bounded length (longer ones in pieces).
type lineReader struct {
	r          io.Reader
	buf        []byte
	start, end int
	scanned    int // buf[start:start+scanned] holds no line feed
	err        error
}

func (l *lineReader) line() ([]byte, bool) {
	for {
		if i := bytes.IndexByte(l.buf[l.start+l.scanned:l.end], '\n'); i >= 0 {
			s := l.buf[l.start : l.start+l.scanned+i+1]
			l.start += l.scanned + i + 1
			l.scanned = 0
			return s, true
		}
		l.scanned = l.end - l.start
		if l.err != nil {
			l.scanned = 0
			if l.start < l.end {
				s := l.buf[l.start:l.end]
				l.start = l.end
				return s, true
			}
			return nil, false
		}
		if l.start > 0 {
			copy(l.buf, l.buf[l.start:l.end])
			l.end -= l.start
			l.start = 0
		}
		if l.end == len(l.buf) {
			s := l.buf[:l.end]
			l.start, l.end, l.scanned = 0, 0, 0
			return s, true
		}
		n, err := l.r.Read(l.buf[l.end:])
		l.end += n
		if err != nil {
			l.err = err
		}
	}
}

func (l *lineReader) discard() {
	if l.err == nil {
		_, l.err = io.Copy(io.Discard, l.r)
		if l.err == nil {
			l.err = io.EOF
		}
	}
}
