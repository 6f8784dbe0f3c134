package mime

import (
	"bytes"
	"io"
)

// scanBufSize is the scanner's buffer. A delimiter line must fit in it to
// be recognised, which leaves ample room: RFC 2046 boundaries are at most
// 70 characters and [maxBoundaryLen] caps what the reader accepts.
const scanBufSize = 64 << 10

// maxBoundaryLen is the longest boundary parameter accepted. Longer ones
// are treated as missing (the multipart is read as a single body).
const maxBoundaryLen = 998

// hit says how the current region ended.
type hit struct {
	level int  // index in scanner.bounds of the boundary found; -1 for EOF
	close bool // close delimiter ("--boundary--")
}

// scanner splits one input stream into regions: the content between
// delimiter lines of any enclosing multipart. It checks each line start
// against every active boundary, innermost first, so a close delimiter that
// is missing at an inner level is made up for by an outer delimiter (RFC
// 2046 section 5.1.2).
type scanner struct {
	r      io.Reader
	buf    []byte
	r0, w  int
	eof    bool
	err    error
	bounds [][]byte // active boundaries, outermost first

	lineStart bool // buf[r0] starts a line
	keepLast  bool // at the end of input, keep the region's last line break
	safe      int  // buf[r0:r0+safe] holds no delimiter candidate
	ended     bool // the current region is over
	last      hit  // how it ended
	consumed  int64
	empty     int
}

func newScanner(r io.Reader) *scanner {
	return &scanner{r: r, buf: make([]byte, scanBufSize), lineStart: true}
}

// startRegion begins a new region at the current position.
func (s *scanner) startRegion(keepLast bool) {
	s.keepLast = keepLast
	s.ended = false
	s.lineStart = true
	s.safe = 0
}

// more reads into the buffer, compacting first. It reports false when
// nothing more can come.
func (s *scanner) more() bool {
	if s.eof {
		return false
	}
	if s.r0 > 0 && (s.r0 == s.w || s.w == len(s.buf)) {
		copy(s.buf, s.buf[s.r0:s.w])
		s.w -= s.r0
		s.r0 = 0
	}
	if s.w == len(s.buf) {
		return false
	}
	n, err := s.r.Read(s.buf[s.w:])
	s.w += n
	if err != nil {
		s.eof = true
		if err != io.EOF {
			s.err = err
		}
	} else if n == 0 {
		if s.empty++; s.empty > 100 {
			s.eof = true
			s.err = io.ErrNoProgress
		}
	} else {
		s.empty = 0
	}
	return true
}

func (s *scanner) advance(n int) {
	s.r0 += n
	s.consumed += int64(n)
	s.safe -= n
	if s.safe < 0 {
		s.safe = 0
	}
}

// match checks whether b (which starts at a line start with "--") is a
// delimiter line of an active boundary. It returns the level, whether it is
// a close delimiter, the length of the line including its ending, and
// undecided when more input is needed to tell.
func (s *scanner) match(b []byte) (level int, close bool, n int, undecided bool) {
	rest := b[2:]
	for lv := len(s.bounds) - 1; lv >= 0; lv-- {
		bd := s.bounds[lv]
		if len(rest) < len(bd) {
			if !s.eof && bytes.HasPrefix(bd, rest) {
				undecided = true
			}
			continue
		}
		if !bytes.Equal(rest[:len(bd)], bd) {
			continue
		}
		i := 2 + len(bd)
		cl := false
		if i+1 < len(b) && b[i] == '-' && b[i+1] == '-' {
			cl = true
			i += 2
		} else if i+1 >= len(b) && !s.eof && (i == len(b) || b[i] == '-') {
			undecided = true
			continue
		}
		for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
			i++
		}
		switch {
		case i == len(b):
			if !s.eof {
				undecided = true
				continue
			}
			return lv, cl, i, false
		case b[i] == '\n':
			return lv, cl, i + 1, false
		case b[i] == '\r':
			if i+1 < len(b) && b[i+1] == '\n' {
				return lv, cl, i + 2, false
			}
			if i+1 == len(b) && !s.eof {
				undecided = true
				continue
			}
			return lv, cl, i + 1, false
		}
	}
	return -1, false, 0, undecided
}

// read copies region content into p. It returns io.EOF once the region has
// ended; s.last then says how.
func (s *scanner) read(p []byte) (int, error) {
	for {
		if s.ended {
			return 0, io.EOF
		}
		n, again := s.step(p)
		if n > 0 {
			return n, nil
		}
		if !again {
			continue
		}
		if !s.more() {
			if s.r0 == s.w && s.eof {
				if s.err != nil {
					return 0, s.err
				}
				s.ended = true
				s.last = hit{level: -1}
				return 0, io.EOF
			}
			// Buffer full but undecided: cannot happen with bounded
			// boundaries; emit a byte to make progress.
			if s.r0 < s.w {
				p[0] = s.buf[s.r0]
				s.advance(1)
				s.lineStart = p[0] == '\n'
				return 1, nil
			}
		}
	}
}

// step does one scan of the buffered data. It returns bytes copied, or
// again when more input is needed before anything can be returned.
func (s *scanner) step(p []byte) (int, bool) {
	data := s.buf[s.r0:s.w]
	if len(data) == 0 {
		return 0, true
	}
	if len(s.bounds) == 0 {
		n := copy(p, data)
		s.advance(n)
		return n, false
	}
	// A delimiter at the very start of the region or of the buffer.
	if s.lineStart && s.safe == 0 {
		if len(data) < 2 {
			if !s.eof {
				return 0, true
			}
		} else if data[0] == '-' && data[1] == '-' {
			lv, cl, ln, und := s.match(data)
			if lv >= 0 {
				s.advance(ln)
				s.end(lv, cl)
				return 0, false
			}
			if und {
				return 0, true
			}
		}
	}
	pos := s.safe
	if pos == 0 {
		pos = 0
	}
	for {
		j := bytes.Index(data[pos:], delimStart)
		if j < 0 {
			break
		}
		cand := pos + j + 1
		lv, cl, ln, und := s.match(data[cand:])
		if lv < 0 && !und {
			pos = cand
			continue
		}
		eol := cand - 1
		if eol > 0 && data[eol-1] == '\r' {
			eol--
		}
		if eol > 0 {
			// Content before the delimiter first.
			n := copy(p, data[:eol])
			s.safe = n
			s.advance(n)
			s.lineStart = false
			return n, false
		}
		if und {
			return 0, true
		}
		s.advance(cand + ln)
		s.end(lv, cl)
		return 0, false
	}
	// No candidate: emit all but a tail that could start one.
	keep := 0
	if s.eof && !s.keepLast {
		// Input ends inside a multipart: the last line break belongs to
		// the missing delimiter, as it would to a present one.
		e := 0
		if data[len(data)-1] == '\n' {
			e = 1
			if len(data) > 1 && data[len(data)-2] == '\r' {
				e = 2
			}
		}
		if e == len(data) {
			s.advance(e)
			return 0, true
		}
		keep = e
	} else if !s.eof {
		switch {
		case bytes.HasSuffix(data, []byte("\r\n-")):
			keep = 3
		case bytes.HasSuffix(data, []byte("\n-")), bytes.HasSuffix(data, []byte("\r\n")):
			keep = 2
		case data[len(data)-1] == '\n' || data[len(data)-1] == '\r':
			keep = 1
		}
	}
	avail := len(data) - keep
	if avail <= 0 {
		return 0, true
	}
	n := copy(p, data[:avail])
	s.safe = avail
	s.advance(n)
	s.lineStart = data[n-1] == '\n'
	if s.safe > 0 {
		s.lineStart = false
	}
	return n, false
}

var delimStart = []byte("\n--")

func (s *scanner) end(level int, close bool) {
	s.ended = true
	s.last = hit{level: level, close: close}
	s.safe = 0
	s.lineStart = true
}

// headerLine returns the next line of the region, with its ending, without
// consuming it. A line longer than max (or than the buffer) is returned in
// pieces, with partial set. ok is false when the region has ended: at a
// delimiter line (which is consumed) or at the end of input.
func (s *scanner) headerLine(max int) (line []byte, partial, ok bool) {
	for {
		if s.ended {
			return nil, false, false
		}
		data := s.buf[s.r0:s.w]
		if s.lineStart && len(s.bounds) > 0 && len(data) >= 2 && data[0] == '-' && data[1] == '-' {
			lv, cl, ln, und := s.match(data)
			if lv >= 0 {
				s.advance(ln)
				s.end(lv, cl)
				return nil, false, false
			}
			if und && s.more() {
				continue
			}
		} else if s.lineStart && len(s.bounds) > 0 && len(data) < 2 && !s.eof && s.more() {
			continue
		}
		if i := bytes.IndexByte(data, '\n'); i >= 0 && i < max {
			return data[:i+1], false, true
		}
		if len(data) >= max {
			return data[:max], true, true
		}
		if s.eof {
			if len(data) == 0 {
				if s.err == nil {
					s.end(-1, false)
				}
				return nil, false, false
			}
			return data, false, true
		}
		if !s.more() {
			return data, true, true
		}
	}
}

// consumeLine consumes a line returned by headerLine.
func (s *scanner) consumeLine(line []byte, partial bool) {
	s.advance(len(line))
	s.lineStart = !partial
	s.safe = 0
}
