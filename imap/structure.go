package imap

import (
	"bufio"
	"bytes"
	"io"
	"sync"

	"github.com/heraldmail/herald/message"
	hmime "github.com/heraldmail/herald/mime"
)

// Bounds of the structure scan of one message.
const (
	// maxStructDepth bounds the nesting of multiparts and encapsulated
	// messages; deeper entities are treated as opaque bodies.
	maxStructDepth = hmime.DefaultMaxDepth
	// maxStructParts bounds the entities of one message; further
	// multiparts are treated as opaque bodies.
	maxStructParts = hmime.DefaultMaxParts
	// maxPartHeader bounds the bytes of one entity header that are
	// parsed; the rest of an oversized header is skipped.
	maxPartHeader = 256 << 10
)

// part is one entity of a message with its byte offsets, found by one scan
// over the message (RFC 9051 section 6.4.5 numbering is derived from it).
type part struct {
	start     int64 // first byte of the header
	bodyStart int64 // first byte after the blank line
	end       int64 // end of the body, the CRLF before a delimiter excluded
	lines     int64 // lines of the body
	nlBody    int64 // line endings before bodyStart
	nlEnd     int64 // line endings before end
	header    *message.Header
	mt        hmime.MediaType
	children  []*part // parts of a multipart
	msg       *part   // the message inside message/rfc822
}

// structScanner reads a message line by line, tracking offsets.
type structScanner struct {
	br     *bufio.Reader
	off    int64
	nl     int64 // line endings read
	nparts int
	// hdr is the buffer of the header being read, reused by each entity
	// (finishHeader keeps a copy).
	hdr []byte
}

// readLine returns the next line with its ending, its offset, and the
// length of its line ending. A line longer than the buffer comes in pieces;
// cont is true for the pieces after the first.
func (s *structScanner) readLine() (line []byte, off int64, eol int, cont bool, err error) {
	off = s.off
	line, err = s.br.ReadSlice('\n')
	s.off += int64(len(line))
	if err == bufio.ErrBufferFull {
		err = nil
		cont = true // this piece has no line ending
		return line, off, 0, cont, nil
	}
	if n := len(line); n > 0 && line[n-1] == '\n' {
		s.nl++
		eol = 1
		if n > 1 && line[n-2] == '\r' {
			eol = 2
		}
	}
	return line, off, eol, false, err
}

// buildStructure scans the message in r (size bytes) and returns its tree.
func buildStructure(r io.ReaderAt, size int64) (*part, error) {
	p, _, err := scanStructure(io.NewSectionReader(r, 0, size))
	return p, err
}

// structScanners are the scanners of scanStructure, with their buffers:
// a cold FETCH of BODYSTRUCTURE scans thousands of messages, and the tree
// it returns holds copies of what it keeps, never a buffer.
var structScanners = sync.Pool{New: func() any { return &structScanner{br: bufio.NewReaderSize(nil, 16<<10)} }}

// maxPooledHeader is the largest header buffer kept for the next scan.
const maxPooledHeader = 16 << 10

// scanStructure reads a message from r to its end and returns its tree
// and its size.
func scanStructure(r io.Reader) (*part, int64, error) {
	s := structScanners.Get().(*structScanner)
	s.br.Reset(r)
	defer func() {
		s.br.Reset(nil)
		hdr := s.hdr[:0]
		if cap(hdr) > maxPooledHeader {
			hdr = nil
		}
		*s = structScanner{br: s.br, hdr: hdr}
		structScanners.Put(s)
	}()
	p, _, _, err := s.entity(0, nil, false)
	if err != nil {
		return nil, 0, err
	}
	// Read what a delimiter of no known boundary left.
	n, err := io.Copy(io.Discard, s.br)
	if err != nil {
		return nil, 0, err
	}
	return p, s.off + n, nil
}

// matchDelimiter reports whether line is a delimiter of one of bounds,
// innermost last, and which; close is true for a close delimiter.
func matchDelimiter(line []byte, bounds []string) (idx int, close bool) {
	if len(line) < 3 || line[0] != '-' || line[1] != '-' {
		return -1, false
	}
	rest := line[2:]
	for i := len(bounds) - 1; i >= 0; i-- {
		b := bounds[i]
		if !bytes.HasPrefix(rest, []byte(b)) {
			continue
		}
		tail := rest[len(b):]
		cl := false
		if bytes.HasPrefix(tail, []byte("--")) {
			cl = true
			tail = tail[2:]
		}
		if len(bytes.TrimRight(tail, " \t\r\n")) == 0 {
			return i, cl
		}
	}
	return -1, false
}

// entity reads one entity (header and body) until a delimiter of bounds or
// the end of input. It returns the delimiter that ended it (-1 for the end
// of input) and whether it was a close delimiter. digest makes the default
// type message/rfc822.
func (s *structScanner) entity(depth int, bounds []string, digest bool) (*part, int, bool, error) {
	s.nparts++
	p := &part{start: s.off}
	hdr := s.hdr[:0]
	defer func() { s.hdr = hdr[:0] }()
	atStart := true
	hdrDone := false
	for !hdrDone {
		line, off, eol, cont, err := s.readLine()
		if len(line) == 0 && err != nil {
			if err != io.EOF {
				return nil, -1, false, err
			}
			p.bodyStart, p.end = s.off, s.off
			p.nlBody, p.nlEnd = s.nl, s.nl
			p.finishHeader(hdr, digest)
			return p, -1, false, nil
		}
		if atStart && !cont {
			if i, cl := matchDelimiter(line, bounds); i >= 0 {
				// A part without a blank line: all header, no body.
				p.bodyStart, p.end = off, off
				p.nlBody = s.nl
				if eol > 0 {
					p.nlBody--
				}
				p.nlEnd = p.nlBody
				p.finishHeader(hdr, digest)
				return p, i, cl, nil
			}
			if len(bytes.TrimRight(line, "\r\n")) == 0 {
				hdrDone = true
				break
			}
		}
		if len(hdr)+len(line) <= maxPartHeader {
			hdr = append(hdr, line...)
		}
		atStart = !cont
		if err == io.EOF {
			p.bodyStart, p.end = s.off, s.off
			p.nlBody, p.nlEnd = s.nl, s.nl
			p.finishHeader(hdr, digest)
			return p, -1, false, nil
		}
	}
	p.bodyStart = s.off
	p.nlBody = s.nl
	p.finishHeader(hdr, digest)

	boundary := p.mt.Params.Get("boundary")
	switch {
	case p.mt.IsMultipart() && boundary == "":
		// No boundary: no part can be found. The body is skipped and
		// the multipart gets one empty part, as RFC 9051 requires at
		// least one (Dovecot does the same).
		skip := &part{bodyStart: s.off}
		i, cl, err := s.leafBody(skip, bounds)
		p.end, p.nlEnd = s.off, s.nl
		p.children = []*part{emptyPart(p.end)}
		return p, i, cl, err
	case p.mt.IsMultipart() && depth < maxStructDepth && s.nparts < maxStructParts:
		return s.multipart(p, depth, bounds, boundary)
	case p.mt.IsMessage() && depth < maxStructDepth && s.nparts < maxStructParts:
		inner, i, cl, err := s.entity(depth+1, bounds, false)
		if err != nil {
			return nil, -1, false, err
		}
		p.msg = inner
		p.end, p.nlEnd = inner.end, inner.nlEnd
		p.lines = p.nlEnd - p.nlBody
		return p, i, cl, nil
	}
	i, cl, err := s.leafBody(p, bounds)
	return p, i, cl, err
}

// leafBody reads a body up to a delimiter of bounds, counting lines.
func (s *structScanner) leafBody(p *part, bounds []string) (int, bool, error) {
	atStart := true
	var prevEOL int
	for {
		line, off, eol, cont, err := s.readLine()
		if len(line) > 0 && atStart && !cont {
			if i, cl := matchDelimiter(line, bounds); i >= 0 {
				p.end = max(off-int64(prevEOL), p.bodyStart)
				// s.nl counts the delimiter line's own ending.
				p.nlEnd = s.nl
				if eol > 0 {
					p.nlEnd--
				}
				if prevEOL > 0 {
					// The last line ending belongs to the delimiter.
					p.lines--
					p.nlEnd--
				}
				return i, cl, nil
			}
		}
		if eol > 0 {
			p.lines++
		}
		if cont {
			atStart = false
		} else {
			atStart = true
			prevEOL = eol
		}
		if err != nil {
			if err != io.EOF {
				return -1, false, err
			}
			p.end, p.nlEnd = s.off, s.nl
			return -1, false, nil
		}
	}
}

// multipart reads the preamble, the parts and the epilogue of p.
func (s *structScanner) multipart(p *part, depth int, bounds []string, boundary string) (*part, int, bool, error) {
	inner := append(bounds[:len(bounds):len(bounds)], boundary)
	own := len(inner) - 1
	digest := p.mt.Subtype == "digest"
	// Preamble.
	pre := &part{bodyStart: s.off}
	i, cl, err := s.leafBody(pre, inner)
	if err != nil {
		return nil, -1, false, err
	}
	for i == own && !cl {
		if s.nparts >= maxStructParts {
			// Too many parts: the rest is one opaque part's body.
			rest := &part{start: s.off, bodyStart: s.off}
			rest.mt = hmime.MediaType{Type: "text", Subtype: "plain"}
			i, cl, err = s.leafBody(rest, inner)
			if err != nil {
				return nil, -1, false, err
			}
			p.children = append(p.children, rest)
			continue
		}
		var c *part
		c, i, cl, err = s.entity(depth+1, inner, digest)
		if err != nil {
			return nil, -1, false, err
		}
		p.children = append(p.children, c)
	}
	if len(p.children) == 0 {
		p.children = []*part{emptyPart(pre.end)}
		p.children[0].nlBody, p.children[0].nlEnd = pre.nlEnd, pre.nlEnd
	}
	if i == own && cl {
		// Epilogue up to an outer delimiter.
		epi := &part{bodyStart: s.off}
		i, cl, err = s.leafBody(epi, bounds)
		if err != nil {
			return nil, -1, false, err
		}
		p.end, p.nlEnd = epi.end, epi.nlEnd
	} else {
		// Ended by an outer delimiter or the end of input.
		last := p.children[len(p.children)-1]
		p.end, p.nlEnd = last.end, last.nlEnd
	}
	if i == own {
		i = -1
	}
	return p, i, cl, nil
}

// emptyPart is the part given to a multipart in which none was found.
func emptyPart(off int64) *part {
	p := &part{start: off, bodyStart: off, end: off}
	p.finishHeader(nil, false)
	return p
}

// finishHeader parses the raw header and the Content-Type.
func (p *part) finishHeader(raw []byte, digest bool) {
	h, _, err := message.ReadHeader(bytes.NewReader(append(raw, "\r\n"...)), &message.ReadOptions{MaxHeaderBytes: maxPartHeader * 2})
	if err != nil || h == nil {
		h = &message.Header{}
	}
	p.header = h
	p.mt = hmime.MediaType{Type: "text", Subtype: "plain", Params: hmime.Params{{Name: "charset", Value: "us-ascii"}}}
	if digest {
		p.mt = hmime.MediaType{Type: "message", Subtype: "rfc822"}
	}
	if v, ok := h.Lookup("Content-Type"); ok {
		mt, err := hmime.ParseMediaType(v.Value())
		if err == nil && mt.Type != "" && mt.Subtype != "" {
			p.mt = mt
		}
	}
}
