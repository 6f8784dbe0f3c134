package mime

import (
	"bytes"
	"crypto/rand"
	"io"

	"github.com/heraldmail/herald/message"
)

// NewBoundary returns a fresh boundary: "=_" followed by 26 random
// characters (crypto/rand.Text). "=_" cannot occur in quoted-printable or
// base64 output, so a body in either encoding never contains the boundary.
func NewBoundary() string {
	return "=_" + rand.Text()
}

// MultipartWriter writes a multipart body (RFC 2046 section 5.1): each
// part's header and content, delimiter lines with CRLF, and the close
// delimiter. It checks everything written into a part for the boundary and
// fails with [ErrBoundaryInContent] if it occurs, so a delimiter can never
// be forged by content. It is not safe for concurrent use.
type MultipartWriter struct {
	w        io.Writer
	boundary string
	delim    []byte // "--" + boundary
	part     *partWriter
	started  bool
	closed   bool
	err      error
}

// NewMultipartWriter returns a writer of a multipart body to w with the
// given boundary; "" means [NewBoundary]. The boundary must be 1 to 70
// characters (RFC 2046 section 5.1.1); a longer or empty one is replaced
// by a fresh one.
func NewMultipartWriter(w io.Writer, boundary string) *MultipartWriter {
	if boundary == "" || len(boundary) > 70 {
		boundary = NewBoundary()
	}
	return &MultipartWriter{w: w, boundary: boundary, delim: []byte("--" + boundary)}
}

// Boundary returns the boundary, for the Content-Type of the multipart.
func (m *MultipartWriter) Boundary() string { return m.boundary }

// WritePreamble writes text before the first part; MUAs that do not
// understand MIME show it. It must be called before CreatePart.
func (m *MultipartWriter) WritePreamble(text string) error {
	if m.started || m.closed {
		return &Error{Op: "write multipart", Err: errDetail(ErrSyntax, "preamble after the first part")}
	}
	if bytes.Contains([]byte(text), m.delim) {
		return &Error{Op: "write multipart", Err: ErrBoundaryInContent}
	}
	_, err := io.WriteString(m.w, text+"\r\n")
	return err
}

// CreatePart writes a delimiter and h, and returns a writer for the
// part's content, valid until the next CreatePart or Close. The content
// is written as given: encode it first (see [NewEncoder]).
func (m *MultipartWriter) CreatePart(h *message.Header) (io.Writer, error) {
	if m.err != nil {
		return nil, m.err
	}
	if m.closed {
		return nil, &Error{Op: "write multipart", Err: ErrClosed}
	}
	if m.part != nil && m.part.err != nil {
		return nil, m.part.err
	}
	var d []byte
	if m.started {
		d = append(d, "\r\n"...)
	}
	d = append(d, m.delim...)
	d = append(d, "\r\n"...)
	m.started = true
	if _, err := m.w.Write(d); err != nil {
		m.err = err
		return nil, err
	}
	if h == nil {
		h = new(message.Header)
	}
	if _, err := h.WriteTo(m.w); err != nil {
		m.err = err
		return nil, err
	}
	m.part = &partWriter{m: m}
	return m.part, nil
}

// Close writes the close delimiter. It does not close the underlying
// writer.
func (m *MultipartWriter) Close() error {
	if m.closed {
		return m.err
	}
	m.closed = true
	if m.err != nil {
		return m.err
	}
	if m.part != nil && m.part.err != nil {
		return m.part.err
	}
	var d []byte
	if m.started {
		d = append(d, "\r\n"...)
	}
	d = append(d, m.delim...)
	d = append(d, "--\r\n"...)
	_, err := m.w.Write(d)
	m.err = err
	return err
}

// partWriter writes part content, watching for the boundary across
// writes.
type partWriter struct {
	m    *MultipartWriter
	tail []byte // the last len(delim)-1 bytes written
	err  error
}

func (p *partWriter) Write(b []byte) (int, error) {
	if p.err != nil {
		return 0, p.err
	}
	if p.m.part != p || p.m.closed {
		return 0, &Error{Op: "write multipart", Err: ErrClosed}
	}
	d := p.m.delim
	// Check the junction with the previous write, then b itself.
	if len(p.tail) > 0 {
		j := append(append([]byte(nil), p.tail...), b[:min(len(b), len(d)-1)]...)
		if bytes.Contains(j, d) {
			p.err = &Error{Op: "write multipart", Err: ErrBoundaryInContent}
			return 0, p.err
		}
	}
	if bytes.Contains(b, d) {
		p.err = &Error{Op: "write multipart", Err: ErrBoundaryInContent}
		return 0, p.err
	}
	n, err := p.m.w.Write(b)
	if err != nil {
		p.err = err
		p.m.err = err
		return n, err
	}
	keep := len(d) - 1
	if len(b) >= keep {
		p.tail = append(p.tail[:0], b[len(b)-keep:]...)
	} else {
		p.tail = append(p.tail, b...)
		if len(p.tail) > keep {
			p.tail = p.tail[len(p.tail)-keep:]
		}
	}
	return n, nil
}
