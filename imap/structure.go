package imap

import (
	"bufio"
	"bytes"
	"io"

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
	header    *message.Header
	mt        hmime.MediaType
	children  []*part // parts of a multipart
	msg       *part   // the message inside message/rfc822
}

// structScanner reads a message line by line, tracking offsets.
type structScanner struct {
	br     *bufio.Reader
	off    int64
	nparts int
	// pending is a delimiter line read but not yet handled.
	pending     []byte
	pendingOff  int64
	pendingEOL  int
	havePending bool
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
		eol = 1
		if n > 1 && line[n-2] == '\r' {
			eol = 2
		}
	}
	return line, off, eol, false, err
}

// buildStructure scans the message in r (size bytes) and returns its tree.
func buildStructure(r io.ReaderAt, size int64) (*part, error) {
	s := &structScanner{br: bufio.NewReaderSize(io.NewSectionReader(r, 0, size), 4<<10)}
	p, _, _, err := s.entity(0, nil, false)
	if err != nil {
		return nil, err
	}
	return p, nil
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
	var hdr []byte
	atStart := true
	hdrDone := false
	for !hdrDone {
		line, off, _, cont, err := s.readLine()
		if len(line) == 0 && err != nil {
			if err != io.EOF {
				return nil, -1, false, err
			}
			p.bodyStart, p.end = s.off, s.off
			p.finishHeader(hdr, digest)
			return p, -1, false, nil
		}
		if atStart && !cont {
			if i, cl := matchDelimiter(line, bounds); i >= 0 {
				// A part without a blank line: all header, no body.
				p.bodyStart, p.end = off, off
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
			p.finishHeader(hdr, digest)
			return p, -1, false, nil
		}
	}
	p.bodyStart = s.off
	p.finishHeader(hdr, digest)

	boundary := p.mt.Params.Get("boundary")
	switch {
	case p.mt.IsMultipart() && boundary == "":
		// No boundary: no part can be found. The body is skipped and
		// the multipart gets one empty part, as RFC 9051 requires at
		// least one (Dovecot does the same).
		i, cl, err := s.leafBody(&part{bodyStart: s.off}, bounds)
		p.end = s.off
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
		p.end = inner.end
		p.lines = -1 // counted when needed, see countLines
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
				if prevEOL > 0 {
					// The last line ending belongs to the delimiter.
					p.lines--
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
			p.end = s.off
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
	}
	if i == own && cl {
		// Epilogue up to an outer delimiter.
		epi := &part{bodyStart: s.off}
		i, cl, err = s.leafBody(epi, bounds)
		if err != nil {
			return nil, -1, false, err
		}
		p.end = epi.end
	} else {
		// Ended by an outer delimiter or the end of input.
		p.end = p.children[len(p.children)-1].end
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

// countLines counts the lines of r between start and end: the line
// endings, as body-fld-lines counts them.
func countLines(r io.ReaderAt, start, end int64) int64 {
	var n int64
	buf := make([]byte, 4<<10)
	for off := start; off < end; {
		k, err := r.ReadAt(buf[:min(int64(len(buf)), end-off)], off)
		n += int64(bytes.Count(buf[:k], []byte{'\n'}))
		off += int64(k)
		if err != nil && k == 0 {
			break
		}
	}
	return n
}
