package mime

import (
	"bufio"
	"errors"
	"io"
	"strings"

	"github.com/heraldmail/herald/message"
)

// downgradePeek is how much of a body Downgrade reads ahead to tell
// whether it can pass unchanged.
const downgradePeek = 64 << 10

// Downgrade copies the message in r to w as a 7-bit message, for a peer
// that does not offer 8BITMIME (RFC 6152, RFC 2045 section 2.7). The MIME
// structure, boundaries, preambles and epilogues are kept (8-bit bytes in
// a preamble or epilogue, which readers ignore, become '?'). A leaf whose
// body is not 7-bit clean (8-bit bytes, NUL, bare CR, lines over 998
// octets) is re-encoded: as quoted-printable for text/*, as base64
// otherwise; a body that is clean passes unchanged. Multiparts and
// encapsulated messages labelled 8bit or binary are relabelled 7bit, and
// their parts are downgraded in turn. Unstructured header fields with
// non-ASCII text get RFC 2047 encoded words, address fields encoded
// display names; an address whose addr-spec is non-ASCII cannot be
// downgraded (it needs SMTPUTF8) and fails with an error wrapping
// [ErrSyntax]. Line breaks are written as CRLF. opts configures the
// reading, as for [NewReader].
func Downgrade(w io.Writer, r io.Reader, opts *ReaderOptions) error {
	out := &crlfWriter{w: w}
	rd := NewReader(r, opts)
	type open struct {
		part     *Part
		boundary string // as written: a non-ASCII one is replaced
		nchild   int
	}
	var stack []open
	closeTop := func() error {
		top := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		d := "\r\n--" + top.boundary + "--\r\n"
		if top.nchild == 0 {
			// No part at all: the whole body was the preamble.
			if _, err := out.Write(sanitize7bit(top.part.Preamble)); err != nil {
				return err
			}
			if len(top.part.Preamble) == 0 {
				d = d[2:]
			}
		}
		if _, err := io.WriteString(out, d); err != nil {
			return err
		}
		_, err := out.Write(sanitize7bit(top.part.Epilogue))
		return err
	}
	for {
		p, err := rd.Next()
		if errors.Is(err, io.EOF) {
			for len(stack) > 0 {
				if err := closeTop(); err != nil {
					return err
				}
			}
			return nil
		}
		if err != nil {
			return err
		}
		for len(stack) > 0 && !isAncestor(stack[len(stack)-1].part, p) {
			if err := closeTop(); err != nil {
				return err
			}
		}
		if len(stack) > 0 && p.Parent == stack[len(stack)-1].part {
			top := &stack[len(stack)-1]
			d := "\r\n--" + top.boundary + "\r\n"
			if top.nchild == 0 {
				// The preamble is known once the walk entered the
				// multipart, that is now.
				if _, err := out.Write(sanitize7bit(top.part.Preamble)); err != nil {
					return err
				}
				if len(top.part.Preamble) == 0 {
					d = d[2:]
				}
			}
			top.nchild++
			if _, err := io.WriteString(out, d); err != nil {
				return err
			}
		}
		if p.IsContainer() {
			boundary := p.Boundary()
			if !printableASCII(boundary) {
				boundary = NewBoundary()
			}
			if err := writeDowngradedHeader(out, p, "", boundary); err != nil {
				return err
			}
			if p.isMultipart() {
				stack = append(stack, open{part: p, boundary: boundary})
			}
			continue
		}
		if err := downgradeLeaf(out, p); err != nil {
			return err
		}
	}
}

func isAncestor(a, p *Part) bool {
	for q := p.Parent; q != nil; q = q.Parent {
		if q == a {
			return true
		}
	}
	return false
}

// downgradeLeaf writes a leaf's header and body, re-encoding the body
// when it is not 7-bit clean.
func downgradeLeaf(out io.Writer, p *Part) error {
	raw := bufio.NewReaderSize(p.Raw(), downgradePeek)
	head, err := raw.Peek(downgradePeek)
	whole := errors.Is(err, io.EOF)
	if err != nil && !whole && !errors.Is(err, bufio.ErrBufferFull) {
		return err
	}
	if whole && sevenBitClean(head) {
		// Clean: pass it on.
		if err := writeDowngradedHeader(out, p, cleanLabel(p.Encoding), ""); err != nil {
			return err
		}
		_, err := io.Copy(out, raw)
		return err
	}
	enc := EncodingBase64
	if p.MediaType.Type == "text" {
		enc = EncodingQuotedPrintable
	}
	if p.Encoding == EncodingBase64 || p.Encoding == EncodingQuotedPrintable {
		enc = p.Encoding
	}
	if err := writeDowngradedHeader(out, p, enc, ""); err != nil {
		return err
	}
	// An unknown encoding is taken as identity (RFC 2045 section 6.4):
	// its bytes are what gets encoded.
	dec, err := newDecoder(p.Encoding, raw, nil)
	if err != nil {
		dec = raw
	}
	ew, err := NewEncoder(enc, out)
	if err != nil {
		return err
	}
	if _, err := io.Copy(ew, dec); err != nil {
		return err
	}
	return ew.Close()
}

// sanitize7bit makes a preamble or epilogue 7bit: MIME readers ignore
// that text, so 8-bit bytes and NUL become '?' and lines longer than 998
// octets are broken.
func sanitize7bit(b []byte) []byte {
	if sevenBitClean(b) {
		return b
	}
	out := make([]byte, 0, len(b)+len(b)/maxLine7Bit*2)
	line := 0
	for i, c := range b {
		switch {
		case c == '\n':
			line = -1
		case c == '\r' && (i+1 >= len(b) || b[i+1] != '\n'):
			c = '?'
		case c == 0 || c >= 0x80:
			c = '?'
		}
		if line == maxLine7Bit {
			out = append(out, '\r', '\n')
			line = 0
		}
		out = append(out, c)
		line++
	}
	return out
}

// cleanLabel is the label of a body that passes unchanged: 7bit for the
// identity encodings, the original otherwise.
func cleanLabel(e Encoding) Encoding {
	switch e {
	case Encoding8Bit, EncodingBinary:
		return Encoding7Bit
	}
	return ""
}

// sevenBitClean reports whether b is 7bit data (RFC 2045 section 2.7).
func sevenBitClean(b []byte) bool {
	line := 0
	for i, c := range b {
		switch {
		case c == '\n':
			line = 0
			continue
		case c == '\r':
			if i+1 < len(b) && b[i+1] != '\n' {
				return false
			}
			continue
		case c == 0 || c >= 0x80:
			return false
		}
		line++
		if line > maxLine7Bit {
			return false
		}
	}
	return true
}

// writeDowngradedHeader writes p's header with non-ASCII text encoded and,
// when enc is not "", the Content-Transfer-Encoding set to enc. For
// containers labelled 8bit or binary the label becomes 7bit. A multipart
// gets boundary in its Content-Type; a Content-Type or Content-Disposition
// with non-ASCII parameters is rewritten with RFC 2231 values.
func writeDowngradedHeader(out io.Writer, p *Part, enc Encoding, boundary string) error {
	h := p.Header()
	if p.IsContainer() && (p.Encoding == Encoding8Bit || p.Encoding == EncodingBinary) {
		enc = Encoding7Bit
	}
	cteDone := false
	for _, f := range h.All() {
		name := f.Name()
		if strings.EqualFold(name, "Content-Transfer-Encoding") && enc != "" {
			if cteDone {
				continue
			}
			cteDone = true
			if err := writeField(out, name, string(enc)); err != nil {
				return err
			}
			continue
		}
		if strings.EqualFold(name, "Content-Type") && (!clean7bitField(f.Raw()) || boundary != "" && boundary != p.Boundary()) {
			mt := p.MediaType
			if boundary != "" {
				mt.Params = append(Params(nil), mt.Params...)
				mt.Params.Set("boundary", boundary)
			}
			if err := writeField(out, name, FormatMediaType(mt)); err != nil {
				return err
			}
			continue
		}
		if strings.EqualFold(name, "Content-Disposition") && !clean7bitField(f.Raw()) {
			if err := writeField(out, name, FormatMediaType(p.Disposition)); err != nil {
				return err
			}
			continue
		}
		if clean7bitField(f.Raw()) {
			if longestLine(f.Raw()) <= maxLine7Bit {
				if _, err := io.WriteString(out, f.Raw()); err != nil {
					return err
				}
			} else if err := writeField(out, name, f.Value()); err != nil {
				// Refolded within 998 octets.
				return err
			}
			continue
		}
		v := f.Value()
		list, perr := message.ParseAddressList(v)
		if isAddressField(name) && perr == nil {
			for _, a := range list {
				if !isASCIIString(a.Addr) {
					return &Error{Part: p.Path, Op: "downgrade", Err: errDetail(ErrSyntax, "non-ASCII address needs SMTPUTF8")}
				}
			}
			v = message.FormatAddressList(list)
		} else {
			// Unstructured text, or an address field too broken to
			// parse: encoded words keep it readable and 7-bit.
			if dec, err := f.Text(); err == nil {
				v = dec
			}
			v = message.EncodeWord(v)
		}
		if err := writeField(out, name, v); err != nil {
			return err
		}
	}
	if enc != "" && !cteDone && enc != Encoding7Bit {
		if err := writeField(out, "Content-Transfer-Encoding", string(enc)); err != nil {
			return err
		}
	}
	_, err := io.WriteString(out, "\r\n")
	return err
}

// writeField writes one folded field.
func writeField(out io.Writer, name, value string) error {
	var h message.Header
	h.Add(name, value)
	s := h.String()
	_, err := io.WriteString(out, strings.TrimSuffix(s, "\r\n"))
	return err
}

// longestLine returns the length of the longest line of s, line endings
// excluded.
func longestLine(s string) int {
	longest := 0
	for len(s) > 0 {
		i := strings.IndexByte(s, '\n')
		line := s
		if i >= 0 {
			line, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		longest = max(longest, len(strings.TrimSuffix(line, "\r")))
	}
	return longest
}

// clean7bitField reports whether a raw header field is 7bit: no 8-bit
// byte and no NUL.
func clean7bitField(s string) bool {
	return isASCIIString(s) && !strings.Contains(s, "\x00")
}

// printableASCII reports whether s is printable US-ASCII, as a boundary
// written on a delimiter line must be.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
