package message

import (
	"bytes"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// Default limits of [ReadOptions]. Each applies when the matching field is
// zero.
const (
	// DefaultMaxHeaderBytes bounds the header section, 1 MiB.
	DefaultMaxHeaderBytes = 1 << 20
	// DefaultMaxFields bounds the number of header fields.
	DefaultMaxFields = 1000
	// DefaultMaxLineLength bounds one header line, without its line ending.
	// It is far above the 998 octets of RFC 5322 section 2.1.1 because real
	// mail exceeds that; strict mode enforces 998 as well.
	DefaultMaxLineLength = 16 << 10
	// MaxRFCLineLength is the RFC 5322 section 2.1.1 limit of a line,
	// without CRLF. [Header.WriteTo] never writes longer lines for fields it
	// folds itself, and strict mode rejects longer lines.
	MaxRFCLineLength = 998
)

// Mode selects how [ReadHeader] treats malformed header lines.
type Mode uint8

const (
	// Lenient, the default, accepts what real mail contains: a line that is
	// neither a field nor a continuation is joined to the previous field when
	// more fields follow it, and otherwise taken as the first line of the
	// body (the blank line was missing); if the very first line is not a
	// field the input is taken as a body without header; a leading byte
	// order mark goes to [Header.Preamble].
	Lenient Mode = iota
	// Strict reports every malformed line as an [*Error] wrapping
	// [ErrMalformedHeader], rejects NUL, bare CR and 8-bit bytes that are
	// not UTF-8 (RFC 6532), and lines longer than 998 octets with
	// [ErrLineTooLong]. Obsolete syntax (RFC 5322 section 4) is accepted in
	// both modes.
	Strict
)

// String returns "lenient" or "strict".
func (m Mode) String() string {
	if m == Strict {
		return "strict"
	}
	return "lenient"
}

// ReadOptions configures [ReadHeader] and [ReadMessage]. The zero value (or a
// nil pointer) means lenient mode with the default limits.
type ReadOptions struct {
	// Mode is Lenient (the zero value) or Strict.
	Mode Mode
	// MaxHeaderBytes bounds the header section, the blank line excluded; 0
	// means DefaultMaxHeaderBytes. Reading stops with [ErrHeaderTooLarge].
	// This and the other limits are capped at 1 GiB (or 2^30 fields).
	MaxHeaderBytes int
	// MaxFields bounds the number of fields; 0 means DefaultMaxFields.
	MaxFields int
	// MaxLineLength bounds one line without its ending; 0 means
	// DefaultMaxLineLength.
	MaxLineLength int
	// CharsetReader, if set, converts RFC 2047 encoded words in charsets
	// other than UTF-8 and US-ASCII for [Header.Text] and
	// [Header.AddressList], instead of the built-in lookup of every
	// charset golang.org/x/text knows. See [WordDecoder].
	CharsetReader func(charset string, input io.Reader) (io.Reader, error)
}

// maxLimit caps every limit a caller sets, 1 GiB.
const maxLimit = 1 << 30

type limits struct {
	mode                         Mode
	maxBytes, maxFields, maxLine int
}

func (o *ReadOptions) limits() limits {
	l := limits{maxBytes: DefaultMaxHeaderBytes, maxFields: DefaultMaxFields, maxLine: DefaultMaxLineLength}
	if o == nil {
		return l
	}
	l.mode = o.Mode
	if o.MaxHeaderBytes > 0 {
		l.maxBytes = o.MaxHeaderBytes
	}
	if o.MaxFields > 0 {
		l.maxFields = o.MaxFields
	}
	if o.MaxLineLength > 0 {
		l.maxLine = o.MaxLineLength
	}
	// Keep arithmetic on the limits far from overflow; field offsets are
	// int32.
	l.maxBytes = min(l.maxBytes, maxLimit)
	l.maxFields = min(l.maxFields, maxLimit)
	l.maxLine = min(l.maxLine, maxLimit)
	if l.mode == Strict && l.maxLine > MaxRFCLineLength {
		l.maxLine = MaxRFCLineLength
	}
	return l
}

// Message is a header and its body. Body is streamed: it reads the bytes
// after the header from the reader given to [ReadMessage] and can be consumed
// once.
type Message struct {
	Header Header
	Body   io.Reader

	body bodyReader
}

// ReadMessage reads the header section from r and returns it with a Body
// that streams the rest of r. Line endings may be CRLF or bare LF. Reading
// stops at the first empty line, which is consumed and not part of the body.
// ReadMessage reads ahead of the header in chunks, so r must not be used
// directly afterwards: read the body through Message.Body. Errors are
// [*Error] values for bad input (see [ReadOptions] for the limits and modes)
// or the error of r.
func ReadMessage(r io.Reader, opts *ReadOptions) (*Message, error) {
	m := new(Message)
	if err := m.read(r, opts); err != nil {
		return nil, err
	}
	return m, nil
}

// ReadHeader is [ReadMessage] for callers who want the header and the body
// reader separately, such as a MIME parser reading the header of each part.
func ReadHeader(r io.Reader, opts *ReadOptions) (*Header, io.Reader, error) {
	m, err := ReadMessage(r, opts)
	if err != nil {
		return nil, nil, err
	}
	return &m.Header, m.Body, nil
}

// bodyReader returns the bytes read ahead of the header, then the rest of r.
type bodyReader struct {
	prefix []byte
	r      io.Reader
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if len(b.prefix) > 0 {
		n := copy(p, b.prefix)
		b.prefix = b.prefix[n:]
		return n, nil
	}
	if b.r == nil {
		return 0, io.EOF
	}
	return b.r.Read(p)
}

// WriteTo lets io.Copy skip an intermediate buffer for the prefix.
func (b *bodyReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	if len(b.prefix) > 0 {
		n, err := w.Write(b.prefix)
		total += int64(n)
		b.prefix = b.prefix[n:]
		if err != nil {
			return total, err
		}
	}
	if b.r == nil {
		return total, nil
	}
	n, err := io.Copy(w, b.r)
	return total + n, err
}

const initialReadSize = 2 << 10

func readErr(line int, kind error, msg string) *Error {
	return &Error{Op: "read header", Err: kind, Line: line, Offset: -1, Msg: msg}
}

// read fills m from r: first it reads until the end of the header section
// is in its buffer, then it splits the fields.
func (m *Message) read(r io.Reader, opts *ReadOptions) error {
	l := opts.limits()
	if opts != nil {
		m.Header.charsetReader = opts.CharsetReader
	}
	// The buffer may hold the header, the blank line and some of the body.
	limit := l.maxBytes + 2
	size := initialReadSize
	if lr, ok := r.(interface{ Len() int }); ok {
		// bytes.Reader, strings.Reader, bytes.Buffer: a small message
		// fits exactly, with one byte to see the end.
		size = min(max(lr.Len()+1, 64), initialReadSize)
	}
	buf := make([]byte, 0, min(size, limit+1))
	pos, lines, starts := 0, 0, 0
	end, sepEnd := -1, -1
	eof := false
	empty := 0
	from := 0 // where the search for the end of the current line resumes
	for end < 0 {
		i := bytes.IndexByte(buf[from:], '\n')
		if i >= 0 {
			i += from - pos
		}
		if i < 0 {
			from = len(buf)
			if len(buf)-pos > l.maxLine+1 {
				return readErr(lines+1, ErrLineTooLong, "over "+strconv.Itoa(l.maxLine)+" bytes")
			}
			if eof {
				if len(buf) > l.maxBytes {
					return readErr(lines+1, ErrHeaderTooLarge, "over "+strconv.Itoa(l.maxBytes)+" bytes")
				}
				end, sepEnd = len(buf), len(buf)
				if pos < len(buf) {
					lines++
				}
				break
			}
			if len(buf) > l.maxBytes {
				return readErr(lines+1, ErrHeaderTooLarge, "over "+strconv.Itoa(l.maxBytes)+" bytes")
			}
			if len(buf) == cap(buf) {
				nb := make([]byte, len(buf), min(2*cap(buf), limit+1))
				copy(nb, buf)
				buf = nb
			}
			n, err := r.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			if err == io.EOF {
				eof = true
			} else if err != nil {
				return err
			}
			if n == 0 && err == nil {
				if empty++; empty > 100 {
					return io.ErrNoProgress
				}
			}
			continue
		}
		lineLen := i
		if i > 0 && buf[pos+i-1] == '\r' {
			lineLen--
		}
		if lineLen == 0 {
			end, sepEnd = pos, pos+i+1
			break
		}
		lines++
		if lineLen > l.maxLine {
			return readErr(lines, ErrLineTooLong, "over "+strconv.Itoa(l.maxLine)+" bytes")
		}
		pos += i + 1
		from = pos
		if pos > l.maxBytes {
			return readErr(lines, ErrHeaderTooLarge, "over "+strconv.Itoa(l.maxBytes)+" bytes")
		}
		if !isWSP(buf[pos-i-1]) {
			// Every field starts a line; one extra for a preamble line.
			if starts++; starts > l.maxFields+1 {
				return readErr(lines, ErrTooManyFields, "over "+strconv.Itoa(l.maxFields))
			}
		}
	}
	// From here on buf is never written again, so strings may share it.
	var s string
	if sepEnd > 0 {
		s = unsafe.String(unsafe.SliceData(buf), sepEnd)
	}
	bodyStart, err := m.Header.parse(s[:end], starts, l)
	if err != nil {
		return err
	}
	if bodyStart < end {
		// Lenient mode ended the header early: the blank line is missing.
		m.body.prefix = buf[bodyStart:]
	} else {
		m.Header.sep = s[end:sepEnd]
		m.body.prefix = buf[sepEnd:]
	}
	if !eof {
		m.body.r = r
	}
	m.Body = &m.body
	return nil
}

// parse splits the header section s into fields and returns where the body
// starts: len(s) unless lenient mode found the header to end early.
func (h *Header) parse(s string, nfields int, l limits) (int, error) {
	strict := l.mode == Strict
	h.fields = make([]Field, 0, nfields)
	p, line := 0, 0
	// A byte order mark and an mbox "From " line are kept as preamble.
	if !strict && len(s) >= 3 && s[:3] == "\xEF\xBB\xBF" {
		p = 3
	}
	if isMboxFromLine(s[p:]) {
		p = lineEnd(s, p)
		line++
	}
	preambleEnd := p
	cur := -1       // start of the current field, -1 if none
	colon := 0      // offset of its colon
	nameEnd := 0    // end of its name
	var flags uint8 // its flags
	pending := -1   // start of malformed lines not yet attributed
	// finish appends the current field, which ends at end.
	finish := func(end int) error {
		if cur < 0 {
			return nil
		}
		if len(h.fields) == l.maxFields {
			return readErr(line, ErrTooManyFields, "over "+strconv.Itoa(l.maxFields))
		}
		h.fields = append(h.fields, Field{raw: s[cur:end], nameEnd: int32(nameEnd - cur), valStart: int32(colon + 1 - cur), flags: flags})
		return nil
	}
	for p < len(s) {
		e := lineEnd(s, p)
		line++
		if strict {
			if err := checkStrictLine(s[p:e], line); err != nil {
				return 0, err
			}
		}
		if isWSP(s[p]) {
			if cur >= 0 && pending < 0 {
				flags |= fieldFolded
				p = e
				continue
			}
			// A continuation with nothing to continue.
			if strict {
				return 0, readErr(line, ErrMalformedHeader, "continuation line without a field")
			}
			if pending < 0 {
				pending = p
			}
			if cur < 0 {
				break // no field yet: this is a body without header
			}
			p = e
			continue
		}
		n, c := scanFieldName(s, p, e)
		if c < 0 {
			if strict {
				return 0, readErr(line, ErrMalformedHeader, "line is not a header field")
			}
			if pending < 0 {
				pending = p
			}
			if cur < 0 {
				break // no field yet: this is a body without header
			}
			p = e
			continue
		}
		if pending >= 0 {
			// Lenient: a field follows, so the malformed lines belong to
			// the previous field.
			flags |= fieldFolded | fieldRepaired
			pending = -1
		}
		if err := finish(p); err != nil {
			return 0, err
		}
		cur, nameEnd, colon, flags = p, n, c, 0
		p = e
	}
	bodyStart := len(s)
	if pending >= 0 {
		bodyStart = pending
	}
	if err := finish(bodyStart); err != nil {
		return 0, err
	}
	h.preamble = s[:preambleEnd]
	return bodyStart, nil
}

// lineEnd returns the index after the LF ending the line that starts at p, or
// len(s).
func lineEnd(s string, p int) int {
	if i := strings.IndexByte(s[p:], '\n'); i >= 0 {
		return p + i + 1
	}
	return len(s)
}

// scanFieldName parses "name WSP* :" at s[p:e] and returns the end of the
// name and the offset of the colon, or c < 0 if the line is not a field.
func scanFieldName(s string, p, e int) (nameEnd, colon int) {
	i := p
	for i < e {
		c := s[i]
		if c == ':' || c < 33 || c > 126 {
			break
		}
		i++
	}
	nameEnd = i
	for i < e && isWSP(s[i]) {
		i++
	}
	if nameEnd == p || i >= e || s[i] != ':' {
		return 0, -1
	}
	return nameEnd, i
}

// isMboxFromLine reports whether s starts with an mbox envelope line,
// "From " followed by something other than an obsolete "From :" field.
func isMboxFromLine(s string) bool {
	if len(s) < 5 || s[:5] != "From " {
		return false
	}
	i := 5
	for i < len(s) && isWSP(s[i]) {
		i++
	}
	return i < len(s) && s[i] != ':'
}

// checkStrictLine rejects NUL, bare CR, bytes that are not UTF-8 and
// over-long lines (RFC 5322 sections 2.1.1 and 2.2, RFC 6532 section 3).
func checkStrictLine(ln string, line int) error {
	body := ln
	if len(body) > 0 && body[len(body)-1] == '\n' {
		body = body[:len(body)-1]
		if len(body) > 0 && body[len(body)-1] == '\r' {
			body = body[:len(body)-1]
		}
	}
	if len(body) > MaxRFCLineLength {
		return readErr(line, ErrLineTooLong, "over 998 octets")
	}
	for i := 0; i < len(body); i++ {
		switch body[i] {
		case 0:
			return readErr(line, ErrMalformedHeader, "NUL byte")
		case '\r':
			return readErr(line, ErrMalformedHeader, "bare CR")
		}
	}
	if !utf8.ValidString(body) {
		// RFC 5322 allows US-ASCII and RFC 6532 UTF-8, nothing else.
		return readErr(line, ErrMalformedHeader, "8-bit text that is not UTF-8")
	}
	return nil
}
