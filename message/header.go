package message

import (
	"io"
	"iter"
	"strings"
)

// Field is one header field. A field read by [ReadHeader] keeps its exact
// bytes (name, colon, value, folding and line endings) in [Field.Raw], so a
// DKIM signature over them stays valid; [Field.Value] gives the unfolded
// value. A Field is a small value that refers to the header's buffer; copying
// it is cheap.
type Field struct {
	raw      string // the field as read or formatted, with its line ending(s)
	nameEnd  int32  // raw[:nameEnd] is the name
	valStart int32  // raw[valStart:] is the value and line ending
	flags    uint8
}

const (
	fieldFolded   uint8 = 1 << iota // value holds line breaks to remove
	fieldRepaired                   // a continuation line lacked leading WSP
)

// Name returns the field name as it appeared, for example "Subject".
// Obsolete whitespace between the name and the colon (RFC 5322 section 4.5)
// is not part of the name.
func (f Field) Name() string { return f.raw[:f.nameEnd] }

// Value returns the unfolded value: line breaks before continuation lines are
// removed (RFC 5322 section 2.2.3) and leading and trailing white space is
// trimmed. Encoded words are not decoded; see [Field.Text] and
// [WordDecoder]. Value allocates only when the field was folded.
func (f Field) Value() string {
	if f.flags&fieldFolded == 0 {
		return trimWSP(f.RawValue())
	}
	return unfold(f.RawValue(), f.flags&fieldRepaired != 0)
}

// RawValue returns the value exactly as it appears after the colon, folding
// included, without the final line ending.
func (f Field) RawValue() string {
	v := f.raw[f.valStart:]
	if n := len(v); n > 0 && v[n-1] == '\n' {
		v = v[:n-1]
		if n := len(v); n > 0 && v[n-1] == '\r' {
			v = v[:n-1]
		}
	}
	return v
}

// Raw returns the whole field exactly as read, including its final line
// ending. For a field added with [Header.Add] or [Header.Set] it is the
// folded form that [Header.WriteTo] writes.
func (f Field) Raw() string { return f.raw }

// Text returns the value with RFC 2047 encoded words decoded by the
// built-in charset lookup, as unstructured text (RFC 5322 section 3.2.5) such
// as a Subject. An encoded word that
// cannot be decoded is kept as it is and the first such error is returned
// with the best-effort text. Raw 8-bit bytes (text whose charset nobody
// declared) are read by the rule in the package doc: valid UTF-8 stays,
// every other byte is windows-1252.
func (f Field) Text() (string, error) {
	var d WordDecoder
	s, err := d.DecodeHeader(f.Value())
	return toValidUTF8(s), err
}

// Header is an ordered list of header fields. Duplicates are kept in order;
// lookups by name ignore ASCII case. The zero value is an empty header ready
// to use. A Header is not safe for concurrent modification; copy it with
// [Header.Clone], not by assignment.
type Header struct {
	fields   []Field
	preamble string
	sep      string
	// charsetReader is ReadOptions.CharsetReader, for Text and AddressList.
	charsetReader func(charset string, input io.Reader) (io.Reader, error)
}

// Len returns the number of fields.
func (h *Header) Len() int { return len(h.fields) }

// Field returns the i-th field, 0 <= i < Len().
func (h *Header) Field(i int) Field { return h.fields[i] }

// All iterates over the fields in order, with their index.
func (h *Header) All() iter.Seq2[int, Field] {
	return func(yield func(int, Field) bool) {
		for i, f := range h.fields {
			if !yield(i, f) {
				return
			}
		}
	}
}

// Lookup returns the first field named name (ASCII case ignored) and whether
// there is one.
func (h *Header) Lookup(name string) (Field, bool) {
	for _, f := range h.fields {
		if strings.EqualFold(f.Name(), name) {
			return f, true
		}
	}
	return Field{}, false
}

// Get returns the unfolded value of the first field named name, or "" if
// there is none. Use [Header.Has] to tell an empty field from a missing one.
func (h *Header) Get(name string) string {
	f, _ := h.Lookup(name)
	return f.Value()
}

// Has reports whether a field named name is present.
func (h *Header) Has(name string) bool {
	_, ok := h.Lookup(name)
	return ok
}

// Values returns the unfolded values of every field named name, in order.
func (h *Header) Values(name string) []string {
	var vs []string
	for _, f := range h.fields {
		if strings.EqualFold(f.Name(), name) {
			vs = append(vs, f.Value())
		}
	}
	return vs
}

// Add appends a field. The value is unfolded text; CR, LF and NUL in it are
// replaced by spaces so no field can be injected, leading and trailing white
// space is dropped, a run of more than 100 white space characters becomes
// one space, and it is folded when written (see [Header.WriteTo]). Non-ASCII text is kept as UTF-8 (RFC 6532);
// encode it with [EncodeWord] first for a 7-bit header. A name that is not a
// valid field name makes WriteTo fail with [ErrInvalidField].
func (h *Header) Add(name, value string) {
	h.fields = append(h.fields, newField(name, value))
}

// Prepend inserts a field before all others, as trace fields (Received,
// DKIM-Signature) are added. Value rules are those of [Header.Add].
func (h *Header) Prepend(name, value string) {
	h.fields = append(h.fields, Field{})
	copy(h.fields[1:], h.fields)
	h.fields[0] = newField(name, value)
}

// Set replaces the first field named name with one holding value, in place,
// and deletes any other field of that name; without such a field it appends
// one. Value rules are those of [Header.Add].
func (h *Header) Set(name, value string) {
	nf := newField(name, value)
	j := 0
	done := false
	for _, f := range h.fields {
		if strings.EqualFold(f.Name(), name) {
			if done {
				continue
			}
			f = nf
			done = true
		}
		h.fields[j] = f
		j++
	}
	clear(h.fields[j:])
	h.fields = h.fields[:j]
	if !done {
		h.fields = append(h.fields, nf)
	}
}

// Del deletes every field named name.
func (h *Header) Del(name string) {
	j := 0
	for _, f := range h.fields {
		if !strings.EqualFold(f.Name(), name) {
			h.fields[j] = f
			j++
		}
	}
	clear(h.fields[j:])
	h.fields = h.fields[:j]
}

// Preamble returns what [ReadHeader] found before the first field and kept
// out of the fields: an mbox "From " line (RFC 4155) or, in lenient mode, a
// UTF-8 byte order mark. It is "" for most messages and is not written by
// [Header.WriteTo].
func (h *Header) Preamble() string { return h.preamble }

// Clone returns a deep copy of h that can be modified independently.
func (h *Header) Clone() *Header {
	c := &Header{preamble: h.preamble, sep: h.sep, charsetReader: h.charsetReader}
	if h.fields != nil {
		c.fields = append(make([]Field, 0, len(h.fields)), h.fields...)
	}
	return c
}

// newField formats a field. Its value reads back through the same
// unfolding as a field read from a message.
func newField(name, value string) Field {
	raw := formatField(name, sanitizeValue(value))
	f := Field{raw: raw, nameEnd: int32(len(name)), valStart: int32(len(name) + 1)}
	if strings.Count(raw, "\n") > 1 {
		f.flags = fieldFolded
	}
	return f
}

// maxWSPRun is the longest run of white space Add keeps in a value; a
// longer run could only be folded into a line of nothing but white space,
// which RFC 5322 section 3.2.2 forbids generating and which some readers
// take for the end of the header.
const maxWSPRun = 100

// sanitizeValue replaces CR, LF and NUL with spaces and shortens runs of
// white space longer than maxWSPRun to one space.
func sanitizeValue(v string) string {
	clean, run := true, 0
	for i := 0; i < len(v) && clean; i++ {
		switch c := v[i]; {
		case c == '\r' || c == '\n' || c == 0:
			clean = false
		case isWSP(c):
			if run++; run > maxWSPRun {
				clean = false
			}
		default:
			run = 0
		}
	}
	if clean {
		return v
	}
	b := make([]byte, 0, len(v))
	start := -1 // start in b of the current white space run
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\r' || c == '\n' || c == 0 {
			c = ' '
		}
		if !isWSP(c) {
			if start >= 0 && len(b)-start > maxWSPRun {
				b = append(b[:start], ' ')
			}
			start = -1
		} else if start < 0 {
			start = len(b)
		}
		b = append(b, c)
	}
	if start >= 0 && len(b)-start > maxWSPRun {
		b = append(b[:start], ' ')
	}
	return string(b)
}

func isWSP(c byte) bool { return c == ' ' || c == '\t' }

func trimWSP(s string) string {
	i, j := 0, len(s)
	for i < j && isWSP(s[i]) {
		i++
	}
	for j > i && isWSP(s[j-1]) {
		j--
	}
	return s[i:j]
}

// unfold removes each line break (CRLF or LF) of a folded value. A line that
// was repaired because it lacked leading white space is joined with one
// space so that words do not run together.
func unfold(v string, repaired bool) string {
	var b strings.Builder
	b.Grow(len(v))
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '\r' && i+1 < len(v) && v[i+1] == '\n':
			continue
		case c == '\n':
			if repaired && i+1 < len(v) && !isWSP(v[i+1]) {
				b.WriteByte(' ')
			}
			continue
		}
		b.WriteByte(c)
	}
	return trimWSP(b.String())
}

// validFieldName reports whether name is a non-empty run of ftext: printable
// US-ASCII except colon (RFC 5322 section 3.6.8), short enough to fit on a
// line with its colon.
func validFieldName(name string) bool {
	if name == "" || len(name) > MaxRFCLineLength-1 {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 33 || c > 126 || c == ':' {
			return false
		}
	}
	return true
}

// Text returns the value of the first field named name as unstructured text
// with RFC 2047 encoded words decoded (see [Field.Text]), using the
// ReadOptions.CharsetReader the header was read with; "" if absent.
func (h *Header) Text(name string) (string, error) {
	f, ok := h.Lookup(name)
	if !ok {
		return "", nil
	}
	d := WordDecoder{CharsetReader: h.charsetReader}
	s, err := d.DecodeHeader(f.Value())
	return toValidUTF8(s), err
}
