package mime

import (
	"bytes"
	"io"
	"strings"

	"github.com/heraldmail/herald/internal/charset"
	"github.com/heraldmail/herald/message"
)

// Part is one entity of a message as a [Reader] walks it: the top-level
// message, a part of a multipart, or the message inside a message/rfc822
// part. Its body can be read until the next call to [Reader.Next].
type Part struct {
	// MediaType is the effective Content-Type: the header's value, or
	// the RFC 2045 default text/plain (message/rfc822 in a
	// multipart/digest) when it is missing or unusable.
	MediaType MediaType
	// Disposition is the parsed Content-Disposition; Type is "" when
	// there is none.
	Disposition MediaType
	// Encoding is the Content-Transfer-Encoding, 7bit when absent.
	Encoding Encoding
	// Path locates the entity in the tree: "" for the top-level entity,
	// "1", "2" for the parts of a multipart, "2.1" for the first part of
	// part 2, and "n.1" for the message inside a message/rfc822 part n.
	Path string
	// Depth is the number of containers (multiparts and encapsulated
	// messages) around the entity.
	Depth int
	// Parent is the enclosing multipart or message/rfc822 part, nil for
	// the top-level entity.
	Parent *Part
	// Preamble and Epilogue hold the text before the first and after the
	// last delimiter of a multipart, up to Limits.MaxPreambleBytes (the
	// whole body when there is no delimiter at all). The preamble is
	// filled when the walk enters the multipart, the epilogue when it
	// leaves it. They may share the reader's buffer: do not modify them.
	Preamble, Epilogue []byte
	// Defects lists what lenient reading repaired in this entity.
	Defects []Defect

	r         *Reader
	gen       int
	rawHeader []byte
	fields    int
	header    *message.Header
	boundary  string
	mtErr     error
	decoded   defects
	raw       partReader
}

func (p *Part) addDefect(d Defect) {
	for _, x := range p.Defects {
		if x == d {
			return
		}
	}
	p.Defects = append(p.Defects, d)
}

// Header returns the entity's header, raw bytes kept. It is parsed on
// first use (in strict mode while reading, so that errors surface from
// [Reader.Next]) and stays valid after the walk moves on.
func (p *Part) Header() *message.Header {
	if p.header == nil {
		h, err := parseHeader(p.rawHeader, p.fields, false)
		if err != nil || h == nil {
			// Limits were checked while reading; this cannot happen.
			h = new(message.Header)
		}
		p.header = h
	}
	return p.header
}

// RawHeader returns the header bytes exactly as read, the separating empty
// line excluded. The slice may share the reader's buffer: do not modify it.
func (p *Part) RawHeader() []byte { return p.rawHeader }

func (p *Part) isMultipart() bool { return p.boundary != "" }

func (p *Part) isMessage() bool {
	return p.MediaType.IsMessage() && (p.Encoding == Encoding7Bit || p.Encoding == Encoding8Bit || p.Encoding == EncodingBinary)
}

// IsContainer reports whether the walk enters this entity: a multipart
// with a boundary, or a message/rfc822 or message/global part (in an
// identity transfer encoding). A container has no body of its own.
func (p *Part) IsContainer() bool { return p.isMultipart() || p.isMessage() }

// Boundary returns the boundary of a multipart, "" otherwise.
func (p *Part) Boundary() string { return p.boundary }

// MediaTypeError returns the error that made MediaType fall back to the
// default, or nil.
func (p *Part) MediaTypeError() error { return p.mtErr }

// Charset returns the lower-case charset parameter; for text/* without one
// it is "us-ascii" (RFC 2045 section 5.2), otherwise "".
func (p *Part) Charset() string {
	cs := strings.ToLower(strings.TrimSpace(p.MediaType.Params.Get("charset")))
	if cs == "" && p.MediaType.Type == "text" {
		return "us-ascii"
	}
	return cs
}

// Raw returns the body as it is in the message, transfer encoding
// included. A container's body is empty: the walk reads it. The reader
// fails with [ErrClosed] once the walk has moved on.
func (p *Part) Raw() io.Reader {
	p.raw.p = p
	return &p.raw
}

// Body returns the body decoded from its transfer encoding (see
// [NewDecoder]); an application/* part in 7bit or 8bit whose first line
// is a uuencode "begin 644 name" line is decoded as uuencode. An unknown
// encoding returns the raw body; strict mode returns an error wrapping
// [ErrUnknownEncoding] instead. Body and Raw read the same bytes: use only
// one of them.
func (p *Part) Body() (io.Reader, error) {
	d, err := newDecoder(p.Encoding, p.Raw(), p.defectSink())
	if err != nil {
		if p.r != nil && p.r.opts.Strict {
			return nil, &Error{Part: p.Path, Op: "decode", Err: err}
		}
		p.addDefect(DefectUnknownEncoding)
		return p.Raw(), nil
	}
	if (p.Encoding == Encoding7Bit || p.Encoding == Encoding8Bit) && p.MediaType.Type == "application" {
		// A binary attachment sent as uuencoded text: decode it when
		// it plainly is one.
		d = &uuSniffer{r: d}
	}
	if p.r != nil && p.r.opts.Strict {
		return &strictDecoder{r: d, p: p}, nil
	}
	return d, nil
}

// uuSniffer looks at the first line of a body: when it is a uuencode
// "begin <mode> <name>" line, the body is decoded as uuencode, otherwise
// passed through.
type uuSniffer struct {
	r   io.Reader
	out io.Reader
}

func (u *uuSniffer) Read(b []byte) (int, error) {
	if u.out == nil {
		head := make([]byte, 0, 128)
		var err error
		for len(head) < cap(head) && bytes.IndexByte(head, '\n') < 0 {
			var n int
			n, err = u.r.Read(head[len(head):cap(head)])
			head = head[:len(head)+n]
			if err != nil {
				break
			}
		}
		var src io.Reader = bytes.NewReader(head)
		if err == nil {
			src = io.MultiReader(src, u.r)
		} else if err != io.EOF {
			src = io.MultiReader(src, errReader{err})
		}
		if isUUBegin(head) {
			u.out = &uuReader{r: src}
		} else {
			u.out = src
		}
	}
	return u.out.Read(b)
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// isUUBegin reports whether b starts with a uuencode header line,
// "begin" then an octal mode of three or four digits and a file name.
func isUUBegin(b []byte) bool {
	rest, ok := bytes.CutPrefix(b, []byte("begin "))
	if !ok {
		return false
	}
	n := 0
	for n < len(rest) && rest[n] >= '0' && rest[n] <= '7' {
		n++
	}
	return (n == 3 || n == 4) && n < len(rest) && rest[n] == ' ' && len(bytes.TrimSpace(rest[n:])) > 0
}

// strictDecoder fails on the first defect the decoder records.
type strictDecoder struct {
	r io.Reader
	p *Part
}

func (s *strictDecoder) Read(b []byte) (int, error) {
	n, err := s.r.Read(b)
	if list := s.p.DecodeDefects(); len(list) > 0 {
		return n, &Error{Part: s.p.Path, Op: "decode", Err: errDetail(ErrSyntax, string(list[0]))}
	}
	return n, err
}

// defectSink returns where decoders record defects: the part itself.
func (p *Part) defectSink() *defects { return &p.decoded }

// DecodeDefects returns the defects the transfer decoder found so far
// (invalid base64 characters, malformed quoted-printable escapes).
func (p *Part) DecodeDefects() []Defect { return p.decoded.list }

// Text returns the body decoded from its transfer encoding and converted
// from its charset to UTF-8; what it reads is always valid UTF-8. A body
// without a charset parameter, labelled US-ASCII (the RFC 2045 default) or
// in an unknown charset is read by the undeclared-charset rule of the
// package doc (valid UTF-8 stays, other bytes are windows-1252); for an
// unknown charset that reader comes with a *[CharsetError]. Invalid bytes
// in a body labelled UTF-8 become U+FFFD.
func (p *Part) Text() (io.Reader, error) {
	body, err := p.Body()
	if err != nil {
		return nil, err
	}
	var lookup func(string, io.Reader) (io.Reader, error)
	if p.r != nil {
		lookup = p.r.opts.CharsetReader
	}
	return charsetReader(p.Charset(), body, lookup)
}

// Filename returns the file name of the part: the Content-Disposition
// filename parameter, else the Content-Type name parameter, with RFC 2231
// values converted from their charset and RFC 2047 encoded words (which
// many mailers put in quoted parameters) decoded. Directory components
// are not removed. Raw 8-bit bytes that no charset labels are read by the
// undeclared-charset rule of the package doc.
func (p *Part) Filename() string {
	prm, ok := p.Disposition.Params.Lookup("filename")
	if !ok || prm.Value == "" {
		prm, ok = p.MediaType.Params.Lookup("name")
	}
	if !ok {
		return ""
	}
	return p.paramText(prm)
}

// paramText converts a parameter value to UTF-8.
func (p *Part) paramText(prm Param) string {
	var lookup func(string, io.Reader) (io.Reader, error)
	if p.r != nil {
		lookup = p.r.opts.CharsetReader
	}
	v := prm.Value
	if prm.Raw {
		if s, err := convertString(prm.Charset, v, lookup); err == nil {
			v = s
		}
	}
	if strings.Contains(v, "=?") {
		d := message.WordDecoder{CharsetReader: lookup}
		if s, err := d.DecodeHeader(v); err == nil {
			v = s
		}
	}
	return charset.DecodeUndeclared(v)
}

// Kind tells how a mail client presents a part.
type Kind uint8

const (
	// KindContainer is a multipart: its parts are presented, not itself.
	KindContainer Kind = iota
	// KindText is a text body: text/plain or text/html shown as the
	// message (or one of its alternatives).
	KindText
	// KindInline is content shown within the message: an image with an
	// inline disposition, or a part referenced from multipart/related.
	KindInline
	// KindAttachment is a file offered for download.
	KindAttachment
)

// String returns "container", "text", "inline" or "attachment".
func (k Kind) String() string {
	switch k {
	case KindContainer:
		return "container"
	case KindText:
		return "text"
	case KindInline:
		return "inline"
	}
	return "attachment"
}

// Kind classifies the part the way mail clients do: an explicit
// "attachment" disposition makes an attachment; text/plain and text/html
// without a file name are text; an "inline" disposition, or any part of a
// multipart/related other than its root, is inline; everything else
// (other types, or text with a file name) is an attachment. An
// encapsulated message is inline unless it is marked as an attachment or
// has a file name.
func (p *Part) Kind() Kind {
	if p.isMultipart() {
		return KindContainer
	}
	disp := p.Disposition.Type
	if disp == "attachment" {
		return KindAttachment
	}
	hasName := p.Filename() != ""
	mt := p.MediaType
	if mt.Type == "text" && (mt.Subtype == "plain" || mt.Subtype == "html") && !hasName {
		return KindText
	}
	if mt.IsMessage() && !hasName {
		return KindInline
	}
	if disp == "inline" {
		if mt.Type == "text" {
			return KindText
		}
		return KindInline
	}
	if par := p.Parent; par != nil && par.MediaType.Type == "multipart" && par.MediaType.Subtype == "related" && !strings.HasSuffix(p.Path, ".1") && p.Path != "1" {
		return KindInline
	}
	if mt.Type == "text" && !hasName {
		return KindText
	}
	return KindAttachment
}

// partReader reads a part's raw body from the scanner while the walk is
// still at that part.
type partReader struct {
	p *Part
}

func (pr *partReader) Read(b []byte) (int, error) {
	p := pr.p
	r := p.r
	if r == nil || r.cur != p || p.gen != r.gen {
		return 0, &Error{Part: p.Path, Op: "read body", Err: ErrClosed}
	}
	if p.IsContainer() || len(b) == 0 {
		return 0, io.EOF
	}
	return r.s.read(b)
}

// WriteTo writes the rest of the body to w straight from the scanner's
// buffer, so io.Copy makes no intermediate copy.
func (pr *partReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		c, err := pr.chunk(scanBufSize)
		if len(c) > 0 {
			n, werr := w.Write(c)
			total += int64(n)
			if werr != nil {
				return total, werr
			}
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// chunk hands the body to a decoder without copying.
func (pr *partReader) chunk(max int) ([]byte, error) {
	p := pr.p
	r := p.r
	if r == nil || r.cur != p || p.gen != r.gen {
		return nil, &Error{Part: p.Path, Op: "read body", Err: ErrClosed}
	}
	if p.IsContainer() {
		return nil, io.EOF
	}
	return r.s.chunk(max)
}
