package wire

import (
	"bytes"
	"io"
)

// DotReader decodes the dot-stuffed data of RFC 5321 section 4.5.2 from a
// Reader: it removes the leading dot of stuffed lines and returns io.EOF at
// the line "." that ends the data.
//
// Only CRLF ends a line. A CR not followed by LF, or an LF not preceded by
// CR, anywhere in the data is ErrBareLineEnding, and the end of data is
// recognised only as CRLF "." CRLF. No other sequence (LF "." LF,
// CR "." CR, LF "." CRLF, CRLF "." LF, ...) can end the data early, which
// is what makes SMTP smuggling impossible. Errors are sticky: after one,
// every Read returns it again and the caller must not trust where the
// stream is.
type DotReader struct {
	r     *Reader
	max   int64 // limit on decoded bytes; <0 means none
	n     int64 // decoded bytes so far
	state int
	err   error
}

const (
	dotBOL    = iota // at the beginning of a line; must be zero
	dotMID           // inside a line
	dotCR            // inside a line, last byte returned was CR
	dotDone          // end of data seen
	dotFailed        // sticky error
)

// NewDotReader returns a DotReader on r that fails with ErrMessageTooLarge
// once more than max decoded bytes have been read; max < 0 means no limit.
// It borrows a large buffer of r for the duration of the data.
func NewDotReader(r *Reader, max int64) *DotReader {
	r.Grow()
	return &DotReader{r: r, max: max}
}

// Size returns the number of decoded bytes returned so far.
func (d *DotReader) Size() int64 { return d.n }

// Done reports whether the terminating line "." has been consumed.
func (d *DotReader) Done() bool { return d.state == dotDone }

// Err returns the sticky error: nil while reading is possible or after a
// clean end of data.
func (d *DotReader) Err() error { return d.err }

func (d *DotReader) fail(err error) (int, error) {
	if d.err == nil {
		d.err = err
		d.state = dotFailed
	}
	return 0, d.err
}

// Read implements io.Reader.
func (d *DotReader) Read(p []byte) (int, error) {
	n := 0
	if d.err != nil {
		return 0, d.err
	}
	for n < len(p) {
		switch d.state {
		case dotDone:
			if n > 0 {
				return n, nil
			}
			return 0, io.EOF
		case dotFailed:
			return n, d.err
		case dotBOL:
			if n > 0 && d.r.Buffered() < 3 {
				// Return what we have rather than block on a peek.
				return n, nil
			}
			b, err := d.r.Peek(1)
			if err != nil {
				return d.failRead(n, err)
			}
			if b[0] == '.' {
				if b, err = d.r.Peek(2); err != nil {
					return d.failRead(n, err)
				}
				switch b[1] {
				case '\n':
					d.fail(ErrBareLineEnding)
					return n, d.err
				case '\r':
					if b, err = d.r.Peek(3); err != nil {
						return d.failRead(n, err)
					}
					if b[2] != '\n' {
						d.fail(ErrBareLineEnding)
						return n, d.err
					}
					d.r.r += 3
					d.state = dotDone
					continue
				}
				d.r.r++ // a stuffed dot
			}
			d.state = dotMID
		}
		if d.state == dotDone || d.state == dotFailed {
			continue
		}
		if n > 0 && d.r.Buffered() == 0 {
			return n, nil
		}
		region, err := d.r.buffered()
		if err != nil {
			return d.failRead(n, err)
		}
		if len(region) > len(p)-n {
			region = region[:len(p)-n]
		}
		// Take as many lines as the region holds in one copy. Stop at the
		// end of the region or before a line that starts with a dot,
		// which the dotBOL case handles.
		st, end := d.state, 0
		for {
			piece := region[end:]
			if i := bytes.IndexByte(piece, '\n'); i >= 0 {
				piece = piece[:i+1]
			}
			if err := check(piece, st); err != nil {
				d.fail(err)
				return n, d.err
			}
			end += len(piece)
			switch piece[len(piece)-1] {
			case '\n':
				st = dotBOL
			case '\r':
				st = dotCR
			default:
				st = dotMID
			}
			if st != dotBOL || end == len(region) || region[end] == '.' {
				break
			}
			st = dotMID // the next line starts with an ordinary byte
		}
		if d.max >= 0 && d.n+int64(end) > d.max {
			// Nothing of the region is consumed and the state is kept, so
			// Drain can go on from here.
			d.err = ErrMessageTooLarge
			return n, d.err
		}
		copy(p[n:], region[:end])
		n += end
		d.n += int64(end)
		d.r.r += end
		d.state = st
	}
	return n, nil
}

// check validates the line endings in b, a non-empty piece of one line
// that ends with LF or runs to the end of b. st is the state before b: it
// says whether the byte before b was a CR.
func check(b []byte, st int) error {
	if b[0] == '\n' {
		if st != dotCR {
			return ErrBareLineEnding
		}
	} else if st == dotCR {
		return ErrBareLineEnding
	}
	i := bytes.IndexByte(b, '\r')
	if i < 0 {
		if last := len(b) - 1; b[last] == '\n' && last > 0 {
			return ErrBareLineEnding
		}
		return nil
	}
	// The only CR allowed is the one right before the final LF, or the
	// last byte of b (its LF comes in the next piece).
	switch {
	case i == len(b)-1:
		return nil
	case i == len(b)-2 && b[i+1] == '\n':
		return nil
	}
	return ErrBareLineEnding
}

// failRead turns a read error into the sticky error; EOF before the end
// of data is io.ErrUnexpectedEOF.
func (d *DotReader) failRead(n int, err error) (int, error) {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	d.fail(err)
	return n, d.err
}

// Drain discards the rest of the data up to the terminating line, ignoring
// the size limit. It returns nil when the end of data was reached cleanly,
// or the first error other than ErrMessageTooLarge.
func (d *DotReader) Drain() error {
	if d.err == ErrMessageTooLarge {
		// The limit is checked before a piece is consumed, so the line
		// state is still right.
		d.err = nil
	}
	d.max = -1
	var buf [512]byte
	for {
		_, err := d.Read(buf[:])
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
