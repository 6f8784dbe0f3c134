package message

import (
	"strings"
)

// String formats the address for a header field in 7-bit form: a display
// name that is not a plain run of atoms is written as a quoted string, or as
// RFC 2047 encoded words when it holds non-ASCII text; the addr-spec is
// written as is (it is UTF-8 only for RFC 6532 addresses). A mailbox without
// a display name is written as a bare addr-spec. A group is written as
// "name: member, member;".
func (a Address) String() string {
	var b strings.Builder
	a.format(&b)
	return b.String()
}

func (a Address) format(b *strings.Builder) {
	if a.Group {
		b.WriteString(formatPhrase(a.Name))
		b.WriteByte(':')
		for i, m := range a.Members {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteByte(' ')
			m.format(b)
		}
		b.WriteByte(';')
		return
	}
	if a.Name == "" {
		b.WriteString(a.Addr)
		return
	}
	b.WriteString(formatPhrase(a.Name))
	b.WriteString(" <")
	b.WriteString(a.Addr)
	b.WriteByte('>')
}

// FormatAddressList formats a list for a header field such as To: the
// addresses of [Address.String] separated by ", ". Add the result with
// [Header.Add], which folds it.
func FormatAddressList(list []Address) string {
	var b strings.Builder
	for i, a := range list {
		if i > 0 {
			b.WriteString(", ")
		}
		a.format(&b)
	}
	return b.String()
}

// formatPhrase writes a display name as atoms, a quoted string or encoded
// words.
func formatPhrase(name string) string {
	if isAtomPhrase(name) {
		return name
	}
	ascii := true
	for i := 0; i < len(name); i++ {
		if c := name[i]; c >= 0x80 || (c < ' ' && c != '\t') || c == 0x7f {
			ascii = false
			break
		}
	}
	if ascii && !strings.Contains(name, "=?") {
		return quoteString(name)
	}
	return encodeWords(name, true)
}

// isAtomPhrase reports whether name is ASCII atoms separated by single
// spaces, safe to write unquoted.
func isAtomPhrase(name string) bool {
	if name == "" || name[0] == ' ' || name[len(name)-1] == ' ' || strings.Contains(name, "  ") || strings.Contains(name, "=?") {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c != ' ' && (c >= 0x80 || !isAtext(c)) {
			return false
		}
	}
	return true
}

// AddressList parses the fields named name as one address list in lenient
// mode (see [AddressParser]), decoding display names with the
// ReadOptions.CharsetReader the header was read with. RFC 5322 allows one
// To or Cc field, but when a message has several their lists are joined, as
// mail readers do. A missing field gives nil and no error.
func (h *Header) AddressList(name string) ([]Address, error) {
	var p AddressParser
	if h.charsetReader != nil {
		p.WordDecoder = &WordDecoder{CharsetReader: h.charsetReader}
	}
	var list []Address
	for _, f := range h.fields {
		if !strings.EqualFold(f.Name(), name) {
			continue
		}
		l, err := p.ParseList(f.Value())
		if err != nil {
			return list, err
		}
		list = append(list, l...)
	}
	return list, nil
}
