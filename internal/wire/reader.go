// Package wire holds the line-level codecs shared by Herald's text
// protocols (SMTP, LMTP, POP3): a bounded line reader whose idle buffer is
// small, and the dot-stuffing codec of RFC 5321 section 4.5.2 that rejects
// bare CR and bare LF.
package wire

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"sync"
)

// Errors returned by the readers and writers of this package.
var (
	// ErrLineTooLong means a line exceeded the caller's limit. The rest
	// of the line has been discarded, so the stream is in sync again.
	ErrLineTooLong = errors.New("line too long")
	// ErrBareLineEnding means a CR not followed by LF or an LF not
	// preceded by CR was found where only CRLF is allowed.
	ErrBareLineEnding = errors.New("bare CR or LF in data")
	// ErrMessageTooLarge means dot-encoded data exceeded its size limit.
	ErrMessageTooLarge = errors.New("message too large")
)

// Buffer sizes of a Reader. SmallSize is what an idle connection holds;
// LargeSize is borrowed from the pool for long lines and bulk data.
const (
	SmallSize = 1024
	LargeSize = 32 * 1024
)

// Reader is a buffered reader that keeps a small buffer while idle and
// borrows a large one from a pool while it moves bulk data. It is not safe
// for concurrent use.
type Reader struct {
	rd    io.Reader
	buf   []byte
	r, w  int
	err   error
	small []byte
	large *[]byte
	pool  *sync.Pool
}

// NewReader returns a Reader on rd. pool holds *[]byte buffers of
// LargeSize; it may be nil or empty (a zero sync.Pool is fine).
func NewReader(rd io.Reader, pool *sync.Pool) *Reader {
	r := &Reader{rd: rd, pool: pool}
	r.small = make([]byte, SmallSize)
	r.buf = r.small
	return r
}

// Reset makes r read from rd, keeping any buffered bytes. It is used when a
// connection is wrapped (TLS) after all buffered bytes have been discarded.
func (r *Reader) Reset(rd io.Reader) {
	r.rd = rd
	r.err = nil
}

// Buffered returns the number of bytes that can be read without I/O.
func (r *Reader) Buffered() int { return r.w - r.r }

// Discard drops every buffered byte and returns how many there were.
func (r *Reader) Discard() int {
	n := r.w - r.r
	r.r, r.w = 0, 0
	return n
}

// Grow switches to a large buffer from the pool, keeping buffered bytes.
func (r *Reader) Grow() {
	if r.large != nil {
		return
	}
	var p *[]byte
	if r.pool != nil {
		p, _ = r.pool.Get().(*[]byte)
	}
	if p == nil {
		b := make([]byte, LargeSize)
		p = &b
	}
	r.large = p
	n := copy(*p, r.buf[r.r:r.w])
	r.buf = *p
	r.r, r.w = 0, n
}

// Shrink returns the large buffer to the pool when its unread bytes fit in
// the small one. Call it before waiting for the next command.
func (r *Reader) Shrink() {
	if r.large == nil || r.w-r.r > len(r.small) {
		return
	}
	n := copy(r.small, r.buf[r.r:r.w])
	if r.pool != nil {
		r.pool.Put(r.large)
	}
	r.large = nil
	r.buf = r.small
	r.r, r.w = 0, n
}

// Release returns the large buffer to the pool and drops the small one.
// The Reader must not be used afterwards.
func (r *Reader) Release() {
	if r.large != nil && r.pool != nil {
		r.pool.Put(r.large)
	}
	r.large, r.buf, r.small = nil, nil, nil
	r.r, r.w = 0, 0
}

// fill reads at least one more byte into the buffer, compacting first.
func (r *Reader) fill() error {
	if r.err != nil {
		return r.err
	}
	if r.r > 0 {
		copy(r.buf, r.buf[r.r:r.w])
		r.w -= r.r
		r.r = 0
	}
	if r.w == len(r.buf) {
		if r.large != nil {
			return bufio.ErrBufferFull
		}
		r.Grow()
	}
	for range 100 {
		n, err := r.rd.Read(r.buf[r.w:])
		r.w += n
		if err != nil {
			r.err = err
			if n > 0 {
				return nil
			}
			return err
		}
		if n > 0 {
			return nil
		}
	}
	r.err = io.ErrNoProgress
	return r.err
}

// Read reads into p, from the buffer first. Large reads with an empty
// buffer go straight to the underlying reader.
func (r *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if r.r == r.w {
		if r.err != nil {
			return 0, r.err
		}
		if len(p) >= len(r.buf) {
			n, err := r.rd.Read(p)
			if err != nil {
				r.err = err
			}
			return n, err
		}
		if err := r.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.buf[r.r:r.w])
	r.r += n
	return n, nil
}

// ReadByte reads one byte.
func (r *Reader) ReadByte() (byte, error) {
	for r.r == r.w {
		if err := r.fill(); err != nil {
			return 0, err
		}
	}
	c := r.buf[r.r]
	r.r++
	return c, nil
}

// Peek returns the next n bytes without consuming them. n must not exceed
// SmallSize. The slice is valid until the next read.
func (r *Reader) Peek(n int) ([]byte, error) {
	for r.w-r.r < n {
		if err := r.fill(); err != nil {
			return r.buf[r.r:r.w], err
		}
	}
	return r.buf[r.r : r.r+n], nil
}

// buffered returns the unread bytes, filling the buffer when it is empty.
func (r *Reader) buffered() ([]byte, error) {
	if r.r == r.w {
		if err := r.fill(); err != nil {
			return nil, err
		}
	}
	return r.buf[r.r:r.w], nil
}

// ReadLine returns the next line without its line ending. A line ends with
// LF; a CR right before the LF is removed, and crlf reports whether it was
// there. Lines longer than max bytes (not counting the ending) are consumed
// up to their LF and reported as ErrLineTooLong. The returned slice is valid
// until the next read. At end of input without a final LF the partial line
// is returned together with io.ErrUnexpectedEOF (or the read error).
func (r *Reader) ReadLine(max int) (line []byte, crlf bool, err error) {
	start := 0 // bytes of r.buf[r.r:] already scanned
	for {
		if i := bytes.IndexByte(r.buf[r.r+start:r.w], '\n'); i >= 0 {
			end := r.r + start + i
			line = r.buf[r.r:end]
			r.r = end + 1
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
				crlf = true
			}
			if len(line) > max {
				return nil, crlf, ErrLineTooLong
			}
			return line, crlf, nil
		}
		start = r.w - r.r
		if start > max+1 {
			// Too long already: discard up to the next LF.
			r.r = r.w
			return nil, false, r.skipLine()
		}
		if err := r.fill(); err != nil {
			if err == bufio.ErrBufferFull {
				r.r = r.w
				return nil, false, r.skipLine()
			}
			if r.w > r.r && err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			line = r.buf[r.r:r.w]
			r.r = r.w
			return line, false, err
		}
	}
}

// skipLine discards input up to and including the next LF and returns
// ErrLineTooLong, or the read error that stopped it.
func (r *Reader) skipLine() error {
	for {
		b, err := r.buffered()
		if err != nil {
			return err
		}
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			r.r += i + 1
			return ErrLineTooLong
		}
		r.r = r.w
	}
}

// ReadLineBufio reads one line from a bufio.Reader with the same rules as
// Reader.ReadLine. The returned slice is valid until the next read.
func ReadLineBufio(br *bufio.Reader, max int) (line []byte, crlf bool, err error) {
	line, err = br.ReadSlice('\n')
	if err == bufio.ErrBufferFull || (err == nil && len(line) > max+2) {
		for err == bufio.ErrBufferFull {
			_, err = br.ReadSlice('\n')
		}
		if err != nil {
			return nil, false, err
		}
		return nil, false, ErrLineTooLong
	}
	if err != nil {
		if len(line) > 0 && err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return line, false, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
		crlf = true
	}
	if len(line) > max {
		return nil, crlf, ErrLineTooLong
	}
	return line, crlf, nil
}
