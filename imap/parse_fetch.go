package imap

import (
	"strconv"
	"strings"
)

// fetchItem is one FETCH data item the client asked for.
type fetchItem struct {
	name    string // FLAGS, UID, BODY[], BINARY.SIZE[] ... (upper case, no section)
	section section
	peek    bool
}

// section is a body section specification (RFC 9051 section 6.4.5).
type section struct {
	part      []int    // 1.2.3; empty for the whole message
	spec      string   // "", HEADER, HEADER.FIELDS, HEADER.FIELDS.NOT, TEXT, MIME
	fields    []string // for HEADER.FIELDS[.NOT]
	partial   bool
	offset    int64
	count     int64
	hasBrackt bool // the item had a section: BODY[] as opposed to BODY
}

// String formats the section as the response names it: the partial shows
// only its origin (RFC 9051 section 7.5.2).
func (s section) String() string {
	var b strings.Builder
	b.WriteByte('[')
	for i, p := range s.part {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.Itoa(p))
	}
	if s.spec != "" {
		if len(s.part) > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.spec)
	}
	if s.spec == "HEADER.FIELDS" || s.spec == "HEADER.FIELDS.NOT" {
		b.WriteString(" (")
		for i, f := range s.fields {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(quoteIfNeeded(f))
		}
		b.WriteByte(')')
	}
	b.WriteByte(']')
	if s.partial {
		b.WriteByte('<')
		b.WriteString(strconv.FormatInt(s.offset, 10))
		b.WriteByte('>')
	}
	return b.String()
}

func quoteIfNeeded(s string) string {
	for i := 0; i < len(s); i++ {
		if !isAtomChar(s[i]) {
			return quoteString(s)
		}
	}
	if s == "" || strings.EqualFold(s, "NIL") {
		return quoteString(s)
	}
	return s
}

func (d *decoder) fetchAtts() ([]fetchItem, error) {
	c, err := d.peek()
	if err != nil {
		return nil, err
	}
	if c != '(' {
		// A macro or a single item.
		name, err := d.fetchAttName()
		if err != nil {
			return nil, err
		}
		switch name {
		case "ALL":
			return macro("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"), nil
		case "FAST":
			return macro("FLAGS", "INTERNALDATE", "RFC822.SIZE"), nil
		case "FULL":
			return macro("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"), nil
		}
		it, err := d.fetchAtt(name)
		if err != nil {
			return nil, err
		}
		return []fetchItem{it}, nil
	}
	var items []fetchItem
	err = d.list(func() error {
		name, err := d.fetchAttName()
		if err != nil {
			return err
		}
		it, err := d.fetchAtt(name)
		items = append(items, it)
		return err
	})
	if err == nil && len(items) == 0 {
		err = syntaxErr("Empty FETCH list")
	}
	return items, err
}

func macro(names ...string) []fetchItem {
	items := make([]fetchItem, len(names))
	for i, n := range names {
		items[i].name = n
	}
	return items
}

// fetchAttName reads the name of a fetch item up to "[" or a delimiter.
func (d *decoder) fetchAttName() (string, error) {
	var b []byte
	for {
		c, err := d.peek()
		if err != nil {
			return "", err
		}
		if c == '[' || !isAtomChar(c) {
			break
		}
		d.readByte()
		b = append(b, c)
	}
	if len(b) == 0 {
		return "", syntaxErr("Expected FETCH item")
	}
	return strings.ToUpper(string(b)), nil
}

func (d *decoder) fetchAtt(name string) (fetchItem, error) {
	it := fetchItem{name: name}
	switch name {
	case "FLAGS", "UID", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODYSTRUCTURE",
		"RFC822", "RFC822.HEADER", "RFC822.TEXT", "MODSEQ", "SAVEDATE":
		return it, nil
	case "PREVIEW":
		return it, d.previewModifiers()
	case "BODY", "BODY.PEEK", "BINARY", "BINARY.PEEK", "BINARY.SIZE":
	default:
		return it, syntaxErr("Unknown FETCH item")
	}
	if c, _ := d.peek(); c != '[' {
		if name == "BODY" {
			return it, nil
		}
		return it, syntaxErr("Expected section")
	}
	d.readByte()
	it.section.hasBrackt = true
	if strings.HasSuffix(name, ".PEEK") {
		it.peek = true
		it.name = strings.TrimSuffix(name, ".PEEK")
	}
	binary := strings.HasPrefix(name, "BINARY")
	if err := d.sectionSpec(&it.section, binary); err != nil {
		return it, err
	}
	if c, _ := d.peek(); c == '<' && name != "BINARY.SIZE" {
		d.readByte()
		off, err := d.number64()
		if err != nil {
			return it, err
		}
		if err := d.expect('.', "'.'"); err != nil {
			return it, err
		}
		n, err := d.number64()
		if err != nil {
			return it, err
		}
		if n == 0 {
			return it, syntaxErr("Partial length must not be zero")
		}
		if err := d.expect('>', "'>'"); err != nil {
			return it, err
		}
		it.section.partial, it.section.offset, it.section.count = true, off, n
	}
	return it, nil
}

// sectionSpec reads what is between "[" and "]", and the "]".
func (d *decoder) sectionSpec(s *section, binary bool) error {
	for {
		c, err := d.peek()
		if err != nil {
			return err
		}
		if c < '1' || c > '9' {
			break
		}
		n, err := d.nzNumber()
		if err != nil {
			return err
		}
		if len(s.part) >= d.lim.depth {
			return limitErr("Section nested too deep")
		}
		s.part = append(s.part, int(n))
		c, err = d.peek()
		if err != nil {
			return err
		}
		if c != '.' {
			break
		}
		d.readByte()
		if c, _ := d.peek(); c < '0' || c > '9' {
			break
		}
	}
	c, err := d.peek()
	if err != nil {
		return err
	}
	if c == ']' {
		d.readByte()
		return nil
	}
	if binary {
		return syntaxErr("BINARY takes only a part number")
	}
	var b []byte
	for {
		c, err := d.peek()
		if err != nil {
			return err
		}
		if c == ']' || c == ' ' {
			break
		}
		if !isAtomChar(c) {
			return syntaxErr("Invalid section")
		}
		d.readByte()
		b = append(b, c)
	}
	s.spec = strings.ToUpper(string(b))
	switch s.spec {
	case "HEADER", "TEXT":
	case "MIME":
		if len(s.part) == 0 {
			return syntaxErr("MIME needs a part number")
		}
	case "HEADER.FIELDS", "HEADER.FIELDS.NOT":
		if err := d.sp(); err != nil {
			return err
		}
		err := d.list(func() error {
			f, err := d.astring()
			if err == nil && (f == "" || strings.ContainsAny(f, ": \t")) {
				err = syntaxErr("Invalid header field name")
			}
			s.fields = append(s.fields, f)
			return err
		})
		if err != nil {
			return err
		}
		if len(s.fields) == 0 {
			return syntaxErr("Empty header field list")
		}
	default:
		return syntaxErr("Invalid section")
	}
	return d.expect(']', "']'")
}
