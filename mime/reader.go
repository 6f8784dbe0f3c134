package mime

import (
	"bytes"
	"io"
	"strconv"
	"unsafe"

	"github.com/heraldmail/herald/message"
)

// Default limits of [Limits]. Each applies when the matching field is zero.
const (
	// DefaultMaxDepth bounds the nesting of multiparts and encapsulated
	// messages below the top-level entity.
	DefaultMaxDepth = 32
	// DefaultMaxParts bounds the number of entities in one message, the
	// top-level one included.
	DefaultMaxParts = 10000
	// DefaultMaxHeaderBytes bounds the header of each entity, as
	// message.DefaultMaxHeaderBytes bounds a message header.
	DefaultMaxHeaderBytes = message.DefaultMaxHeaderBytes
	// DefaultMaxHeaderFields bounds the number of fields in the header of
	// each entity.
	DefaultMaxHeaderFields = message.DefaultMaxFields
	// DefaultMaxPreambleBytes bounds how much of a multipart preamble or
	// epilogue is kept in memory; the rest is read and dropped.
	DefaultMaxPreambleBytes = 64 << 10
)

// Limits bounds what a [Reader] accepts. The zero value means the defaults;
// a negative value means no limit (not recommended for untrusted input).
type Limits struct {
	MaxDepth         int // DefaultMaxDepth
	MaxParts         int // DefaultMaxParts
	MaxHeaderBytes   int // DefaultMaxHeaderBytes
	MaxHeaderFields  int // DefaultMaxHeaderFields
	MaxPreambleBytes int // DefaultMaxPreambleBytes
}

func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		switch {
		case *v == 0:
			*v = d
		case *v < 0:
			*v = int(^uint(0) >> 1)
		}
	}
	def(&l.MaxDepth, DefaultMaxDepth)
	def(&l.MaxParts, DefaultMaxParts)
	def(&l.MaxHeaderBytes, DefaultMaxHeaderBytes)
	def(&l.MaxHeaderFields, DefaultMaxHeaderFields)
	def(&l.MaxPreambleBytes, DefaultMaxPreambleBytes)
	return l
}

// ReaderOptions configures a [Reader]. The zero value (or a nil pointer)
// means lenient reading, the default limits and the built-in charset table.
type ReaderOptions struct {
	// Strict turns the repairs of lenient reading into errors wrapping
	// [ErrSyntax]: a missing close delimiter, a multipart without a
	// boundary or without any delimiter, an unusable Content-Type, an
	// unknown transfer encoding, malformed header lines (as
	// message.Strict does) and bad base64 or quoted-printable.
	Strict bool
	// Limits bounds depth, part count and header size.
	Limits Limits
	// CharsetReader converts text in the named charset (lower case, never
	// UTF-8 or US-ASCII) to UTF-8. Nil means the built-in table on
	// golang.org/x/text. It is the hook of net/mail's WordDecoder and is
	// also used for RFC 2047 words and RFC 2231 parameter values.
	CharsetReader func(charset string, input io.Reader) (io.Reader, error)
}

// Reader walks the entities of one message depth first: the top-level
// entity, then each part of a multipart in order, entering multiparts and
// message/rfc822 (or message/global) parts. Call [Reader.Next] for each
// entity. A Reader reads its input once, in order, through one buffer of
// at most 32 KiB (less for a shorter *bytes.Reader or *strings.Reader);
// bodies are never buffered. A Part's header is a view of the buffer it
// was read from, so keeping a Part keeps that buffer. A Reader is not safe
// for concurrent use.
type Reader struct {
	s        *scanner
	scan     scanner  // s points here: one allocation for both
	stackBuf [4]frame // the stack's first frames
	opts     ReaderOptions
	lim      Limits
	stack    []frame
	cur      *Part
	gen      int
	parts    int
	err      error
	hbuf     []byte
	cands    []int // offsets of the Content-* fields in the last header read
	done     bool
}

type frame struct {
	part   *Part
	level  int // index in scanner.bounds for a multipart, -1 for a message
	nchild int
}

// NewReader returns a Reader of the message in r. Line endings may be CRLF
// or LF.
func NewReader(r io.Reader, opts *ReaderOptions) *Reader {
	rd := new(Reader)
	rd.s = &rd.scan
	rd.scan.init(r)
	rd.stack = rd.stackBuf[:0]
	if opts != nil {
		rd.opts = *opts
	}
	rd.lim = rd.opts.Limits.withDefaults()
	return rd
}

// Next returns the next entity of the walk, or io.EOF after the last one.
// The body of the previous entity is skipped if it was not read. Errors for
// bad input or exceeded limits are *[Error] values; they are sticky.
func (r *Reader) Next() (*Part, error) {
	if r.err != nil {
		return nil, r.err
	}
	p, err := r.next()
	if err != nil {
		r.err = err
		if r.cur != nil {
			r.cur.gen = -1
		}
		r.cur = nil
		return nil, err
	}
	r.cur = p
	return p, nil
}

func (r *Reader) next() (*Part, error) {
	if r.done {
		return nil, io.EOF
	}
	if r.cur == nil {
		// The top-level entity.
		return r.readPart(nil, "")
	}
	prev := r.cur
	r.gen++
	switch {
	case prev.isMultipart():
		if err := r.push(prev, true); err != nil {
			return nil, err
		}
		// The preamble: everything before the first delimiter.
		prev.Preamble = r.capture(prev, prev.Preamble)
		if err := r.s.err; err != nil {
			return nil, err
		}
		return r.afterRegion()
	case prev.isMessage():
		if err := r.push(prev, false); err != nil {
			return nil, err
		}
		fr := &r.stack[len(r.stack)-1]
		fr.nchild++
		return r.readPart(prev, childPath(prev.Path, 1))
	}
	// A leaf: skip what is left of its body.
	if _, err := io.Copy(io.Discard, scanRegion{r.s}); err != nil {
		return nil, err
	}
	return r.afterRegion()
}

// push opens a container frame.
func (r *Reader) push(p *Part, multipart bool) error {
	if len(r.stack)+1 > r.lim.MaxDepth {
		return &Error{Part: p.Path, Op: "walk", Err: errDetail(ErrTooDeep, "over "+strconv.Itoa(r.lim.MaxDepth)+" levels")}
	}
	f := frame{part: p, level: -1}
	if multipart {
		// A read-only view of the boundary string: the scanner only
		// compares against it.
		r.s.bounds = append(r.s.bounds, unsafe.Slice(unsafe.StringData(p.boundary), len(p.boundary)))
		f.level = len(r.s.bounds) - 1
		// The preamble: when no delimiter follows, it is the whole body.
		r.s.startRegion(true)
	}
	r.stack = append(r.stack, f)
	return nil
}

// capture reads the rest of the region, keeping up to MaxPreambleBytes.
func (r *Reader) capture(p *Part, keep []byte) []byte {
	s := r.s
	for {
		c, err := s.chunk(scanBufSize)
		if room := r.lim.MaxPreambleBytes - len(keep); len(c) > 0 && room > 0 {
			c = c[:min(len(c), room)]
			if keep == nil {
				// Most preambles come in one piece: keep a view of the
				// buffer, which is then never overwritten. The capacity
				// is cut so that a second piece is appended to a copy.
				keep = c[:len(c):len(c)]
				s.shared = true
			} else {
				keep = append(keep, c...)
			}
		}
		if err != nil {
			return keep
		}
	}
}

// afterRegion decides what follows the region that just ended.
func (r *Reader) afterRegion() (*Part, error) {
	for {
		h := r.s.last
		if h.level < 0 {
			// End of input: every open multipart lacked its close.
			for i := len(r.stack) - 1; i >= 0; i-- {
				f := r.stack[i]
				if f.level >= 0 {
					if err := r.unclosed(f); err != nil {
						return nil, err
					}
				}
			}
			r.stack = r.stack[:0]
			r.s.bounds = r.s.bounds[:0]
			r.done = true
			return nil, io.EOF
		}
		// Close the frames inside the multipart whose delimiter this is.
		fi := len(r.stack) - 1
		for ; fi >= 0; fi-- {
			if r.stack[fi].level == h.level {
				break
			}
			if r.stack[fi].level >= 0 {
				if err := r.unclosed(r.stack[fi]); err != nil {
					return nil, err
				}
			}
		}
		if fi < 0 {
			return nil, &Error{Op: "walk", Err: errDetail(ErrSyntax, "delimiter without multipart")}
		}
		r.stack = r.stack[:fi+1]
		r.s.bounds = r.s.bounds[:h.level+1]
		f := &r.stack[fi]
		if !h.close {
			f.nchild++
			r.s.startRegion(false)
			return r.readPart(f.part, childPath(f.part.Path, f.nchild))
		}
		// Close delimiter: the epilogue runs to the next outer delimiter.
		mp := f.part
		if f.nchild == 0 {
			if err := r.defect(mp, DefectStartBoundaryNotFound); err != nil {
				return nil, err
			}
		}
		r.stack = r.stack[:fi]
		r.s.bounds = r.s.bounds[:h.level]
		r.s.startRegion(false)
		mp.Epilogue = r.capture(mp, mp.Epilogue)
		if err := r.s.err; err != nil {
			return nil, err
		}
	}
}

// unclosed records that a multipart ended without its close delimiter.
func (r *Reader) unclosed(f frame) error {
	if f.nchild == 0 {
		return r.defect(f.part, DefectStartBoundaryNotFound)
	}
	return r.defect(f.part, DefectCloseBoundaryNotFound)
}

// defect records d on p, or fails in strict mode.
func (r *Reader) defect(p *Part, d Defect) error {
	if r.opts.Strict {
		return &Error{Part: p.Path, Op: "walk", Err: errDetail(ErrSyntax, string(d))}
	}
	p.addDefect(d)
	return nil
}

func childPath(parent string, n int) string {
	if parent == "" {
		return strconv.Itoa(n)
	}
	return parent + "." + strconv.Itoa(n)
}

// readPart reads an entity header from the current region and returns the
// Part, its body being the rest of the region.
func (r *Reader) readPart(parent *Part, path string) (*Part, error) {
	r.parts++
	if r.parts > r.lim.MaxParts {
		return nil, &Error{Part: path, Op: "walk", Err: errDetail(ErrTooManyParts, "over "+strconv.Itoa(r.lim.MaxParts))}
	}
	p := &Part{r: r, gen: r.gen, Path: path, Parent: parent, Depth: len(r.stack)}
	raw, fields, sep, err := r.readHeader(path)
	if err != nil {
		return nil, err
	}
	p.rawHeader, p.fields = raw, fields
	if r.opts.Strict {
		if p.header, err = parseHeader(raw, fields, true); err != nil {
			return nil, &Error{Part: path, Op: "header", Err: err}
		}
	}
	if !sep && len(raw) > 0 && !r.s.ended {
		// A body line follows the header without the empty line.
		if err := r.defect(p, DefectMissingHeaderSeparator); err != nil {
			return nil, err
		}
	}
	if err := r.classify(p, parent); err != nil {
		return nil, err
	}
	return p, nil
}

// readHeader collects the header lines of one entity: fields and
// continuation lines, up to the empty line, a line that is neither (the
// body then starts there, as a missing separator) or the end of the region.
// It returns a copy of the raw header and the number of field lines.
func (r *Reader) readHeader(path string) (raw []byte, fields int, sep bool, err error) {
	s := r.s
	// The header is kept in the scanner's buffer from the mark on and
	// copied once at the end. When it outgrows the buffer, what was read
	// is spilled to hbuf and the rest appended there.
	buf := r.hbuf[:0]
	r.cands = r.cands[:0]
	s.mark = s.r0
	defer func() { s.mark = -1 }()
	endOff := 0 // end of the header lines, relative to the mark
	n := 0
	first := true
	inLong := false
	for {
		if s.mark == 0 && s.w == len(s.buf) && s.r0 > 0 {
			buf = append(buf, s.buf[:s.r0]...)
			s.mark = -1
		}
		var line []byte
		var partial, ok bool
		if data := s.buf[s.r0:s.w]; !inLong && !s.ended && len(data) > 0 && data[0] != '-' {
			// Fast path: a whole line in the buffer that cannot be a
			// delimiter.
			if i := bytes.IndexByte(data, '\n'); i >= 0 {
				line, ok = data[:i+1], true
			}
		}
		if !ok {
			line, partial, ok = s.headerLine(len(s.buf))
			if !ok {
				break
			}
		}
		if !inLong {
			if isEmptyLine(line) {
				s.consumeLine(line, partial)
				sep = true
				break
			}
			// A UTF-8 byte order mark before the first line, which
			// package message skips too (in lenient mode).
			hl, at := line, n
			if first && !r.opts.Strict && bytes.HasPrefix(hl, utf8BOM) && len(hl) > len(utf8BOM) {
				hl, at = hl[len(utf8BOM):], n+len(utf8BOM)
			}
			if !isHeaderLine(hl, first) {
				break // the body starts here
			}
			if hl[0] != ' ' && hl[0] != '\t' {
				fields++
				if fields > r.lim.MaxHeaderFields {
					return nil, 0, false, &Error{Part: path, Op: "header", Err: errDetail(ErrHeaderTooLarge, "over "+strconv.Itoa(r.lim.MaxHeaderFields)+" fields")}
				}
				// Note where the Content-* fields start, so that they
				// need not be searched for again.
				if hl[0]|0x20 == 'c' && len(hl) >= 12 && asciiEqualFold(hl[:8], "content-") && len(r.cands) < maxCands {
					r.cands = append(r.cands, at)
				}
			}
		}
		if n+len(line) > r.lim.MaxHeaderBytes {
			return nil, 0, false, &Error{Part: path, Op: "header", Err: errDetail(ErrHeaderTooLarge, "over "+strconv.Itoa(r.lim.MaxHeaderBytes)+" bytes")}
		}
		n += len(line)
		if s.mark >= 0 {
			endOff = s.r0 + len(line) - s.mark
		} else {
			buf = append(buf, line...)
		}
		s.consumeLine(line, partial)
		inLong = partial
		first = false
	}
	if s.err != nil {
		return nil, 0, false, s.err
	}
	if s.mark >= 0 {
		if endOff == 0 {
			return nil, 0, sep, nil
		}
		// The part keeps a view of the scanner's buffer, which is then
		// never overwritten (see scanner.more). The capacity is cut so
		// that appending cannot write into the buffer.
		raw = s.buf[s.mark : s.mark+endOff : s.mark+endOff]
		s.shared = true
	} else {
		// The spilled header becomes the part's; the next one starts
		// a new buffer.
		raw, r.hbuf = buf, nil
	}
	if raw[len(raw)-1] != '\n' {
		raw = append(raw, '\n')
	}
	return raw, fields, sep, nil
}

// parseHeader turns the raw header of an entity into a message.Header.
// The limits were enforced while collecting it, so in lenient mode it
// cannot fail.
func parseHeader(raw []byte, fields int, strict bool) (*message.Header, error) {
	if len(raw) == 0 {
		return new(message.Header), nil
	}
	opt := message.ReadOptions{MaxHeaderBytes: len(raw) + 1, MaxFields: fields + 1, MaxLineLength: len(raw) + 1}
	if strict {
		opt.Mode = message.Strict
		opt.MaxLineLength = 0
	}
	h, _, err := message.ReadHeader(bytes.NewReader(raw), &opt)
	return h, err
}

// maxCands bounds the Content-* fields noted per header; later ones are
// ignored (the first of each name counts).
const maxCands = 16

// mimeFields holds the unfolded values of the MIME fields of a raw header.
type mimeFields struct {
	ctype, disp, cte          string
	hasCType, hasDisp, hasCTE bool
}

// rawMIMEFields finds the first Content-Type, Content-Disposition and
// Content-Transfer-Encoding fields of a raw header among the lines at the
// offsets cands, without building a message.Header.
func rawMIMEFields(raw []byte, cands []int) mimeFields {
	var f mimeFields
	for _, i := range cands {
		e := bytes.IndexByte(raw[i:], '\n')
		if e < 0 {
			e = len(raw)
		} else {
			e += i + 1
		}
		line := raw[i:e]
		i = e
		// Every field of interest starts with "content-" (any case).
		if len(line) < 12 || line[0]|0x20 != 'c' || !asciiEqualFold(line[:8], "content-") {
			continue
		}
		var val *string
		var has *bool
		var name string
		switch line[8] | 0x20 {
		case 't':
			if line[9]|0x20 == 'y' {
				name, val, has = "content-type", &f.ctype, &f.hasCType
			} else {
				name, val, has = "content-transfer-encoding", &f.cte, &f.hasCTE
			}
		case 'd':
			name, val, has = "content-disposition", &f.disp, &f.hasDisp
		default:
			continue
		}
		if *has || len(line) <= len(name) || !asciiEqualFold(line[:len(name)], name) {
			continue
		}
		rest := bytes.TrimLeft(line[len(name):], " \t")
		if len(rest) == 0 || rest[0] != ':' {
			continue
		}
		*val, *has = unfoldAt(raw, rest[1:], &i), true
		if f.hasCType && f.hasDisp && f.hasCTE {
			break
		}
	}
	return f
}

// unfoldAt returns the field value v (the rest of its first line) with the
// continuation lines that follow at *i, which it consumes. The value is a
// view of raw, folding line breaks included: the MIME value parsers take
// CR and LF as white space, so nothing needs copying. The raw header is
// never written after it is read, so the view stays valid.
func unfoldAt(raw, v []byte, i *int) string {
	end := *i
	for end < len(raw) && (raw[end] == ' ' || raw[end] == '\t') {
		n := bytes.IndexByte(raw[end:], '\n')
		if n < 0 {
			end = len(raw)
			break
		}
		end += n + 1
	}
	if end > *i {
		// v ends where the continuation lines begin: extend it.
		start := len(raw[:*i]) - len(v)
		v = raw[start:end]
		*i = end
	}
	v = bytes.Trim(v, " \t\r\n")
	if len(v) == 0 {
		return ""
	}
	return unsafe.String(&v[0], len(v))
}

func asciiEqualFold(b []byte, s string) bool {
	for i := 0; i < len(s); i++ {
		c, d := b[i], s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if 'A' <= d && d <= 'Z' {
			d += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}

var utf8BOM = []byte("\xEF\xBB\xBF")

func isEmptyLine(b []byte) bool {
	return len(b) == 1 && b[0] == '\n' || len(b) == 2 && b[0] == '\r' && b[1] == '\n'
}

// isHeaderLine reports whether line can belong to a header: a field
// ("name:" with printable name characters, obsolete white space before
// the colon allowed), a continuation line, or an mbox "From " (or
// ">From ") line first.
func isHeaderLine(line []byte, first bool) bool {
	if line[0] == ' ' || line[0] == '\t' {
		return true
	}
	if first && (bytes.HasPrefix(line, []byte("From ")) || bytes.HasPrefix(line, []byte(">From "))) {
		// An mbox separator, escaped or not, left at the top of a
		// message (often one forwarded as message/rfc822).
		return true
	}
	for i, c := range line {
		switch {
		case c == ':':
			return i > 0
		case c == ' ' || c == '\t':
			// Only white space may follow, then the colon.
			rest := bytes.TrimLeft(line[i:], " \t")
			return i > 0 && len(rest) > 0 && rest[0] == ':'
		case c < 33 || c > 126:
			return false
		}
	}
	return false
}

// classify sets the media type, disposition and encoding of p from its
// header, applying the RFC 2045 defaults.
func (r *Reader) classify(p *Part, parent *Part) error {
	fields := rawMIMEFields(p.rawHeader, r.cands)
	ct, hasCT := fields.ctype, fields.hasCType
	var mt MediaType
	if hasCT {
		var err error
		mt, err = ParseMediaType(ct)
		if err != nil {
			if r.opts.Strict {
				return &Error{Part: p.Path, Op: "media type", Err: err}
			}
			p.addDefect(DefectInvalidMediaType)
			p.mtErr = err
			if mt.Type == "text" && mt.Subtype == "" {
				mt.Subtype = "plain"
			} else {
				mt = MediaType{Type: "text", Subtype: "plain", Params: mt.Params}
			}
		}
	} else if parent != nil && parent.MediaType.Type == "multipart" && parent.MediaType.Subtype == "digest" {
		mt = MediaType{Type: "message", Subtype: "rfc822"}
	} else {
		mt = MediaType{Type: "text", Subtype: "plain"}
	}
	p.MediaType = mt
	if fields.hasDisp {
		p.Disposition, _ = ParseDisposition(fields.disp)
	}
	p.Encoding = ParseEncoding(fields.cte)
	if mt.Type == "multipart" {
		b := mt.Params.Get("boundary")
		if b == "" || len(b) > maxBoundaryLen {
			if err := r.defect(p, DefectNoBoundary); err != nil {
				return err
			}
		} else {
			p.boundary = b
		}
	}
	return nil
}

// scanRegion reads the current region of a scanner.
type scanRegion struct{ s *scanner }

func (sr scanRegion) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return sr.s.read(p)
}
