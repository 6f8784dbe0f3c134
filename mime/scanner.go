package mime

import (
	"bytes"
	"io"
)

// The scanner's buffer holds scanBufSize bytes, or less for an input
// that says how long it is (a *bytes.Reader or *strings.Reader by what is
// left, an *io.SectionReader by its size, which nothing read can exceed),
// but never less than minScanBuf. A delimiter line must fit in it to be recognised,
// which leaves ample room: [maxBoundaryLen] caps the boundaries accepted.
const (
	scanBufSize = 32 << 10
	minScanBuf  = 1 << 10
)

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
	r         io.Reader
	buf       []byte
	r0, w     int
	eof       bool
	err       error
	bounds    [][]byte // active boundaries, outermost first
	boundsBuf [4][]byte

	lineStart bool // buf[r0] starts a line
	keepLast  bool // at the end of input, keep the region's last line break
	safe      int  // buf[r0:r0+safe] holds no delimiter candidate
	ended     bool // the current region is over
	last      hit  // how it ended
	mark      int  // when >= 0, compaction keeps buf[mark:]
	lineScan  int  // buf[r0:r0+lineScan] holds no line feed
	shared    bool // slices of buf were handed out: never overwrite it
	empty     int
}

// init prepares s to scan r.
func (s *scanner) init(r io.Reader) {
	size := scanBufSize
	switch l := r.(type) {
	case interface{ Len() int }:
		size = min(max(l.Len()+1, minScanBuf), scanBufSize)
	case interface{ Size() int64 }:
		size = int(min(max(l.Size()+1, minScanBuf), scanBufSize))
	}
	*s = scanner{r: r, buf: make([]byte, size), lineStart: true, mark: -1}
	s.bounds = s.boundsBuf[:0]
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
	keep := s.r0
	if s.mark >= 0 {
		keep = s.mark
	}
	if keep > 0 && s.w == len(s.buf) {
		if s.shared {
			// Part headers refer to this buffer: leave it to them and
			// move on to a new one.
			nb := make([]byte, len(s.buf))
			s.buf, nb = nb, s.buf
			copy(s.buf, nb[keep:s.w])
			s.shared = false
		} else {
			copy(s.buf, s.buf[keep:s.w])
		}
		s.w -= keep
		s.r0 -= keep
		if s.mark >= 0 {
			s.mark = 0
		}
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
	s.lineScan = 0
	s.r0 += n
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
	c, err := s.chunk(len(p))
	n := copy(p, c)
	return n, err
}

// chunk returns up to max bytes of region content straight from the
// buffer, consumed; the slice is valid until the next call. It returns
// io.EOF once the region has ended.
func (s *scanner) chunk(max int) ([]byte, error) {
	if max <= 0 {
		return nil, nil
	}
	for {
		if s.ended {
			return nil, io.EOF
		}
		c, again := s.content()
		if len(c) > 0 {
			if len(c) > max {
				c = c[:max]
			}
			s.advance(len(c))
			s.lineStart = false
			return c, nil
		}
		if !again {
			continue
		}
		if !s.more() {
			if s.r0 == s.w && s.eof {
				if s.err != nil {
					return nil, s.err
				}
				s.end(-1, false)
				return nil, io.EOF
			}
			// Buffer full and still undecided (a line of nothing but
			// transport padding after a boundary): give out one byte.
			if s.r0 < s.w {
				c := s.buf[s.r0 : s.r0+1]
				s.advance(1)
				s.lineStart = false
				return c, nil
			}
		}
	}
}

// content returns the longest run of region content at the read position
// that is known not to hold or start a delimiter, without consuming it. A
// delimiter right at the read position is consumed and ends the region. It
// returns again when more input is needed to decide.
func (s *scanner) content() ([]byte, bool) {
	data := s.buf[s.r0:s.w]
	if len(data) == 0 {
		return nil, true
	}
	if len(s.bounds) == 0 {
		return data, false
	}
	if s.safe > 0 {
		return data[:min(s.safe, len(data))], false
	}
	// A delimiter at the very start of the region.
	if s.lineStart {
		if len(data) < 2 {
			if !s.eof {
				return nil, true
			}
		} else if data[0] == '-' && data[1] == '-' {
			lv, cl, ln, und := s.match(data)
			if lv >= 0 {
				s.advance(ln)
				s.end(lv, cl)
				return nil, false
			}
			if und {
				return nil, true
			}
		}
	}
	pos := 0
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
			// Content before the delimiter's line break first.
			s.safe = eol
			return data[:eol], false
		}
		if und {
			return nil, true
		}
		s.advance(cand + ln)
		s.end(lv, cl)
		return nil, false
	}
	// No candidate: all but a tail that could start one.
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
			return nil, true
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
		return nil, true
	}
	s.safe = avail
	return data[:avail], false
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
		// Bytes up to lineScan were searched already (input that trickles
		// in must not make this quadratic).
		if i := bytes.IndexByte(data[min(s.lineScan, len(data)):], '\n'); i >= 0 && s.lineScan+i < max {
			return data[:s.lineScan+i+1], false, true
		}
		s.lineScan = len(data)
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
