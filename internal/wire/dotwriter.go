package wire

import (
	"bytes"
	"io"
)

// DotWriter dot-stuffs data for the DATA command (RFC 5321 section 4.5.2):
// a line that starts with "." gets a second dot, and Close ends the data
// with CRLF "." CRLF. Input lines must end with CRLF; a bare CR or bare LF
// makes Write fail with ErrBareLineEnding and nothing of that piece is
// written, so a message that a receiver could split differently is never
// sent. It is not safe for concurrent use.
type DotWriter struct {
	w      io.Writer
	state  int // dotBOL, dotMID or dotCR
	err    error
	closed bool
}

// NewDotWriter returns a DotWriter that writes to w.
func NewDotWriter(w io.Writer) *DotWriter { return &DotWriter{w: w} }

var dotDot = []byte{'.'}

// Write implements io.Writer.
func (d *DotWriter) Write(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	if d.closed {
		return 0, io.ErrClosedPipe
	}
	// Validate first so that nothing of a bad piece goes out.
	if err := validateEndings(p, d.state == dotCR); err != nil {
		return 0, err
	}
	n := 0
	for n < len(p) {
		rest := p[n:]
		if d.state == dotBOL && rest[0] == '.' {
			if _, err := d.w.Write(dotDot); err != nil {
				d.err = err
				return n, err
			}
		}
		end := len(rest)
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			end = i + 1
		}
		m, err := d.w.Write(rest[:end])
		n += m
		if err != nil {
			d.err = err
			return n, err
		}
		switch rest[end-1] {
		case '\n':
			d.state = dotBOL
		case '\r':
			d.state = dotCR
		default:
			d.state = dotMID
		}
	}
	return n, nil
}

// validateEndings reports ErrBareLineEnding if p has a CR not followed by
// LF or an LF not preceded by CR; prevCR says the byte before p was CR. A
// CR as the last byte of p is allowed (its LF may come next).
func validateEndings(p []byte, prevCR bool) error {
	if len(p) == 0 {
		return nil
	}
	if prevCR != (p[0] == '\n') {
		return ErrBareLineEnding
	}
	// Every LF must follow a CR. Each LF after the first byte then pairs
	// with the CR just before it, so the data is valid exactly when those
	// pairs account for every CR in p, leaving only a CR in the last byte,
	// whose LF may come next. Two single-byte scans, both vectorised, cost
	// far less than a scan for either byte per line.
	pairs := 0
	for i := 1; i < len(p); {
		j := bytes.IndexByte(p[i:], '\n')
		if j < 0 {
			break
		}
		k := i + j
		if p[k-1] != '\r' {
			return ErrBareLineEnding
		}
		pairs++
		i = k + 1
	}
	crs := bytes.Count(p, []byte{'\r'})
	if p[len(p)-1] == '\r' {
		crs--
	}
	if crs != pairs {
		return ErrBareLineEnding
	}
	return nil
}

// Close ends the data: it adds CRLF if the data did not end with one, then
// the line ".". It does not close the underlying writer. A trailing CR
// without its LF is completed to CRLF.
func (d *DotWriter) Close() error {
	if d.err != nil {
		return d.err
	}
	if d.closed {
		return nil
	}
	d.closed = true
	var end []byte
	switch d.state {
	case dotBOL:
		end = []byte(".\r\n")
	case dotCR:
		end = []byte("\n.\r\n")
	default:
		end = []byte("\r\n.\r\n")
	}
	_, err := d.w.Write(end)
	if err != nil {
		d.err = err
	}
	return err
}
