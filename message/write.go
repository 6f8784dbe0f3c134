package message

import (
	"io"
	"strings"
	"unicode/utf8"
)

// foldWidth is the line length RFC 5322 section 2.1.1 recommends.
const foldWidth = 78

// WriteTo writes the header section to w: every field and then the empty
// line that ends the header. A field read by [ReadHeader] is written back
// byte for byte, with its original folding and line endings, as is the empty
// line that ended it (a read header missing one gets CRLF). A field added
// with [Header.Add], [Header.Set] or [Header.Prepend] is written with CRLF,
// folded at white space so that lines stay within 78 characters where
// possible and never exceed 998; a run of more than about 990 octets without
// white space is split, which inserts a space into the unfolded value. The
// preamble is not written. WriteTo returns an [*Error] wrapping
// [ErrInvalidField], before writing anything, if an added field has an
// invalid name.
func (h *Header) WriteTo(w io.Writer) (int64, error) {
	size := 2
	for _, f := range h.fields {
		if f.raw == "" || !validFieldName(f.Name()) {
			return 0, &Error{Op: "write header", Err: ErrInvalidField, Offset: -1, Msg: "name " + quoteForError(f.Name())}
		}
		size += len(f.raw) + 2
	}
	buf := make([]byte, 0, size)
	for _, f := range h.fields {
		buf = append(buf, f.raw...)
		if f.raw[len(f.raw)-1] != '\n' {
			buf = append(buf, "\r\n"...)
		}
	}
	if h.sep != "" {
		buf = append(buf, h.sep...)
	} else {
		buf = append(buf, "\r\n"...)
	}
	n, err := w.Write(buf)
	return int64(n), err
}

// String returns the header as [Header.WriteTo] writes it, or "" if a field
// name is invalid.
func (h *Header) String() string {
	var b strings.Builder
	if _, err := h.WriteTo(&b); err != nil {
		return ""
	}
	return b.String()
}

func quoteForError(s string) string {
	if len(s) > 40 {
		s = s[:40]
	}
	return "\"" + strings.ToValidUTF8(s, "?") + "\""
}

// formatField folds "name: value" with CRLF endings. Fold points are the
// white space characters that follow a non-white-space character; each
// continuation line starts with the white space it was folded before.
func formatField(name, value string) string {
	var b strings.Builder
	b.Grow(len(name) + len(value) + 4 + len(value)/foldWidth*3)
	b.WriteString(name)
	b.WriteByte(':')
	lineLen := len(name) + 1
	// Leading and trailing white space is not part of the value as read
	// back; dropping it keeps a trailing run from ending up alone on a line.
	if value = trimWSP(value); value != "" {
		b.WriteByte(' ')
		lineLen++
		for seg, rest := nextSegment(value); seg != ""; seg, rest = nextSegment(rest) {
			// Fold before seg if it does not fit and the current line holds
			// more than white space.
			if lineLen+len(seg) > foldWidth && lineLen > 1 && isWSP(seg[0]) && strings.TrimLeft(seg, " \t") != "" {
				b.WriteString("\r\n")
				lineLen = 0
			}
			for lineLen+len(seg) > MaxRFCLineLength {
				// No white space to fold at: split the run.
				cut := MaxRFCLineLength - lineLen
				if lineLen > 0 && cut < 20 {
					b.WriteString("\r\n ")
					lineLen = 1
					continue
				}
				if c := cut; c > 0 {
					for cut > c-utf8.UTFMax && cut > 0 && !utf8.RuneStart(seg[cut]) {
						cut-- // keep a character whole
					}
					if !utf8.RuneStart(seg[cut]) || cut == 0 {
						cut = c // not UTF-8: split anywhere
					}
				}
				b.WriteString(seg[:cut])
				b.WriteString("\r\n ")
				seg = seg[cut:]
				lineLen = 1
			}
			b.WriteString(seg)
			lineLen += len(seg)
		}
	}
	b.WriteString("\r\n")
	return b.String()
}

// nextSegment splits off the first segment of v: leading white space plus
// the following run of non-white-space.
func nextSegment(v string) (seg, rest string) {
	i := 0
	for i < len(v) && isWSP(v[i]) {
		i++
	}
	for i < len(v) && !isWSP(v[i]) {
		i++
	}
	return v[:i], v[i:]
}
