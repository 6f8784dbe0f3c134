package mime

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MediaType is a parsed Content-Type or Content-Disposition value: the type
// and subtype (lower case) and the parameters in the order they appeared,
// with RFC 2231 continuations already joined. For Content-Disposition the
// disposition type is in Type and Subtype is empty.
type MediaType struct {
	Type    string
	Subtype string
	Params  Params
}

// Param is one parameter. Name is lower case without any RFC 2231 "*" or
// "*N" suffix. For an RFC 2231 extended value, Charset and Language carry
// what the value declared; Value is then the percent-decoded text converted
// to UTF-8 when the charset is UTF-8, US-ASCII or ISO-8859-1, and Raw is
// true when the charset is another one and Value still holds its bytes
// (Part.Filename converts those with the reader's charset lookup).
type Param struct {
	Name     string
	Value    string
	Charset  string
	Language string
	Raw      bool
}

// Params is an ordered parameter list.
type Params []Param

// Get returns the value of the first parameter called name (any case), or
// "" when there is none.
func (p Params) Get(name string) string {
	v, _ := p.Lookup(name)
	return v.Value
}

// Lookup returns the first parameter called name (any case).
func (p Params) Lookup(name string) (Param, bool) {
	for _, x := range p {
		if strings.EqualFold(x.Name, name) {
			return x, true
		}
	}
	return Param{}, false
}

// Set replaces the value of the parameter called name or appends it.
func (p *Params) Set(name, value string) {
	name = strings.ToLower(name)
	for i := range *p {
		if (*p)[i].Name == name {
			(*p)[i] = Param{Name: name, Value: value}
			return
		}
	}
	*p = append(*p, Param{Name: name, Value: value})
}

// Essence returns "type/subtype" (or just the type for a disposition).
func (m MediaType) Essence() string {
	if m.Subtype == "" {
		return m.Type
	}
	return m.Type + "/" + m.Subtype
}

// IsMultipart reports whether the type is multipart/*.
func (m MediaType) IsMultipart() bool { return m.Type == "multipart" }

// IsMessage reports whether the type encapsulates a whole message:
// message/rfc822 or message/global (RFC 6532 section 3.7).
func (m MediaType) IsMessage() bool {
	return m.Type == "message" && (m.Subtype == "rfc822" || m.Subtype == "global")
}

// String formats the media type as a header value, see [FormatMediaType].
func (m MediaType) String() string { return FormatMediaType(m) }

// ParseMediaType parses a Content-Type value (RFC 2045 section 5.1) with
// RFC 2231 parameter continuations, charsets and languages. It is lenient
// about what real mail gets wrong: unquoted values with specials or spaces
// ("name=My File.doc", "boundary=----=_Part_1"), a missing ";" between
// parameters, comments, unterminated quotes, stray separators, and duplicate
// parameters (the first wins, an RFC 2231 form wins over a plain one). A
// type without a subtype ("text") returns Type set, Subtype empty and an
// error wrapping [ErrSyntax]; the parameters are still returned, so callers
// can apply the RFC 2045 section 5.2 default and keep them, as [Reader] does.
func ParseMediaType(s string) (MediaType, error) {
	var m MediaType
	p := paramParser{s: s}
	p.skipCFWS()
	typ := p.token()
	var err error
	if typ == "" {
		err = errDetail(ErrSyntax, "no media type in "+strconv.Quote(clip(s)))
	}
	m.Type = strings.ToLower(typ)
	p.skipCFWS()
	if p.peek() == '/' {
		p.i++
		p.skipCFWS()
		sub := p.token()
		if sub == "" && err == nil {
			err = errDetail(ErrSyntax, "no subtype in "+strconv.Quote(clip(s)))
		}
		m.Subtype = strings.ToLower(sub)
	} else if err == nil {
		err = errDetail(ErrSyntax, "no subtype in "+strconv.Quote(clip(s)))
	}
	m.Params = p.params()
	return m, err
}

// ParseDisposition parses a Content-Disposition value (RFC 2183) with the
// same leniency as [ParseMediaType]. The disposition type is returned lower
// case in Type; an empty or missing type returns an error wrapping
// [ErrSyntax] with the parameters still parsed.
func ParseDisposition(s string) (MediaType, error) {
	var m MediaType
	p := paramParser{s: s}
	p.skipCFWS()
	typ := p.token()
	m.Type = strings.ToLower(typ)
	m.Params = p.params()
	if typ == "" {
		return m, errDetail(ErrSyntax, "no disposition type in "+strconv.Quote(clip(s)))
	}
	return m, nil
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// isTokenChar reports whether c may appear in an RFC 2045 token.
func isTokenChar(c byte) bool {
	if c <= ' ' || c >= 0x7f {
		return false
	}
	switch c {
	case '(', ')', '<', '>', '@', ',', ';', ':', '\\', '"', '/', '[', ']', '?', '=':
		return false
	}
	return true
}

type paramParser struct {
	s string
	i int
}

func (p *paramParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

// skipCFWS skips white space and (nested) comments.
func (p *paramParser) skipCFWS() {
	for p.i < len(p.s) {
		switch c := p.s[p.i]; c {
		case ' ', '\t', '\r', '\n':
			p.i++
		case '(':
			p.skipComment()
		default:
			return
		}
	}
}

func (p *paramParser) skipComment() {
	depth := 0
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case '\\':
			if p.i+1 < len(p.s) {
				p.i++ // the quoted character
			}
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				p.i++
				return
			}
		}
		p.i++
	}
}

func (p *paramParser) token() string {
	start := p.i
	for p.i < len(p.s) && isTokenChar(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i]
}

// rawParam is one name=value pair before RFC 2231 assembly.
type rawParam struct {
	name   string // lower case, suffix included ("title*1*")
	value  string
	quoted bool
}

// params reads "; name=value" pairs to the end of the input.
func (p *paramParser) params() Params {
	var stack [6]rawParam // most values have few parameters: no allocation
	raws := stack[:0]
	for p.i < len(p.s) {
		p.skipCFWS()
		if p.i >= len(p.s) {
			break
		}
		if p.s[p.i] == ';' {
			p.i++
			continue
		}
		start := p.i
		// Attribute: token characters, plus '*' already a token char.
		name := p.token()
		p.skipCFWS()
		if name == "" || p.peek() != '=' {
			// Not a parameter: skip to the next ';'.
			if p.i == start {
				p.i++
			}
			for p.i < len(p.s) && p.s[p.i] != ';' {
				if p.s[p.i] == '"' {
					p.quoted()
					continue
				}
				p.i++
			}
			continue
		}
		p.i++ // '='
		p.skipWS()
		var rp rawParam
		rp.name = strings.ToLower(name)
		if p.peek() == '"' {
			rp.value = p.quoted()
			rp.quoted = true
		} else {
			rp.value = p.bareValue()
		}
		raws = append(raws, rp)
	}
	return assemble(raws)
}

func (p *paramParser) skipWS() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\r' || p.s[p.i] == '\n') {
		p.i++
	}
}

// quoted reads a quoted-string starting at '"'. A backslash escapes only
// '"' and '\' (as MUAs write Windows paths unescaped); an unterminated
// string runs to the end of the input.
func (p *paramParser) quoted() string {
	p.i++ // opening quote
	var b strings.Builder
	start := p.i
	simple := true
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			if simple {
				return p.s[start : p.i-1]
			}
			return b.String()
		case c == '\\' && p.i+1 < len(p.s) && (p.s[p.i+1] == '"' || p.s[p.i+1] == '\\'):
			if simple {
				b.WriteString(p.s[start:p.i])
				simple = false
			}
			b.WriteByte(p.s[p.i+1])
			p.i += 2
		case c == '\r' || c == '\n':
			// Folding inside a quoted string: drop the line break.
			if simple {
				b.WriteString(p.s[start:p.i])
				simple = false
			}
			p.i++
		default:
			if !simple {
				b.WriteByte(c)
			}
			p.i++
		}
	}
	if simple {
		return p.s[start:]
	}
	return b.String()
}

// bareValue reads an unquoted value leniently: everything up to the next
// ';', trimmed, with a trailing comment removed. Values with white space
// inside ("My File.doc") are kept whole.
func (p *paramParser) bareValue() string {
	start := p.i
	for p.i < len(p.s) && p.s[p.i] != ';' {
		if p.s[p.i] == '"' {
			// A quote in the middle of a bare value: stop the value here.
			break
		}
		p.i++
	}
	v := strings.TrimRight(p.s[start:p.i], " \t\r\n")
	// "us-ascii (Plain Text)": drop a comment after white space.
	if j := strings.IndexAny(v, " \t\r\n"); j > 0 {
		rest := strings.TrimLeft(v[j:], " \t\r\n")
		if strings.HasPrefix(rest, "(") {
			v = v[:j]
		} else if k := strings.IndexByte(v, '='); k > j {
			// "text/plain charset=x format=flowed" style junk where the ';'
			// is missing: keep the first word and reparse the rest.
			p.i = start + j
			return v[:j]
		}
	}
	if strings.ContainsAny(v, "\r\n") {
		// A value folded across lines: unfold it.
		v = strings.NewReplacer("\r\n", "", "\n", "", "\r", "").Replace(v)
	}
	return v
}

// maxParams bounds the parameters kept from one header value; more are
// dropped (a hostile value could otherwise hold hundreds of thousands).
const maxParams = 256

// maxSections bounds the RFC 2231 sections joined into one value.
const maxSections = 1024

// assemble joins RFC 2231 continuations and decodes extended values.
func assemble(raws []rawParam) Params {
	if len(raws) == 0 {
		return nil
	}
	type section struct {
		idx int
		rp  rawParam
	}
	var sections map[string][]section
	out := make(Params, 0, len(raws))
	for _, rp := range raws {
		name, idx, ext := splitParamName(rp.name)
		if name == "" || strings.IndexByte(name, '*') >= 0 {
			continue // "*=x", "**=x": no usable name
		}
		switch {
		case idx >= 0:
			if sections == nil {
				sections = make(map[string][]section)
			}
			if _, seen := sections[name]; !seen {
				// Hold the place of the parameter in the order.
				if out.index(name) < 0 && len(out) < maxParams {
					out = append(out, Param{Name: name})
				}
			}
			if len(sections[name]) < maxSections {
				sections[name] = append(sections[name], section{idx, rp})
			}
		case ext:
			out.replace(decodeExtended(name, rp.value))
		default:
			if out.index(name) < 0 && len(out) < maxParams {
				out = append(out, Param{Name: name, Value: rp.value})
			}
		}
	}
	for name, secs := range sections {
		slices.SortStableFunc(secs, func(a, b section) int { return a.idx - b.idx })
		var segs []rawParam
		for i, sc := range secs {
			if sc.idx != i {
				break // a gap or a duplicate: stop here
			}
			segs = append(segs, sc.rp)
		}
		if len(segs) == 0 {
			continue
		}
		out.replace(joinSections(name, segs))
	}
	// Drop places held for continuations that never started at 0.
	j := 0
	for _, p := range out {
		if p.Value == "" && p.Charset == "" && sections != nil {
			if secs, ok := sections[p.Name]; ok && (len(secs) == 0 || secs[0].idx != 0) {
				continue
			}
		}
		out[j] = p
		j++
	}
	return out[:j]
}

func (p Params) index(name string) int {
	for i := range p {
		if p[i].Name == name {
			return i
		}
	}
	return -1
}

// replace sets prm, overriding a plain parameter of the same name (an
// RFC 2231 value wins over a plain one).
func (p *Params) replace(prm Param) {
	if j := p.index(prm.Name); j >= 0 {
		(*p)[j] = prm
		return
	}
	if len(*p) < maxParams {
		*p = append(*p, prm)
	}
}

// splitParamName splits "title*1*" into ("title", 1, true). idx is -1 when
// there is no section number.
func splitParamName(s string) (name string, idx int, ext bool) {
	if strings.HasSuffix(s, "*") {
		ext = true
		s = s[:len(s)-1]
	}
	idx = -1
	if j := strings.LastIndexByte(s, '*'); j > 0 {
		if n, err := strconv.Atoi(s[j+1:]); err == nil && n >= 0 && (s[j+1] != '0' || len(s) == j+2) {
			return s[:j], n, ext
		}
	}
	if ext {
		return s, -1, true
	}
	return s, -1, false
}

func decodeExtended(name, v string) Param {
	prm := Param{Name: name}
	cs, rest, ok := strings.Cut(v, "'")
	if !ok {
		// Not charset'lang'value: take it as a percent-encoded value.
		prm.Value = string(percentDecode(v))
		return prm
	}
	lang, val, ok := strings.Cut(rest, "'")
	if !ok {
		val, lang = rest, ""
	}
	prm.Charset = cs
	prm.Language = lang
	setDecoded(&prm, percentDecode(val))
	return prm
}

func joinSections(name string, segs []rawParam) Param {
	prm := Param{Name: name}
	var buf []byte
	for k, s := range segs {
		_, _, ext := splitParamName(s.name)
		v := s.value
		if k == 0 && ext {
			if cs, rest, ok := strings.Cut(v, "'"); ok {
				if lang, val, ok := strings.Cut(rest, "'"); ok {
					prm.Charset, prm.Language, v = cs, lang, val
				}
			}
		}
		if ext {
			buf = append(buf, percentDecode(v)...)
		} else {
			buf = append(buf, v...)
		}
	}
	setDecoded(&prm, buf)
	return prm
}

func setDecoded(prm *Param, b []byte) {
	switch strings.ToLower(prm.Charset) {
	case "", "utf-8", "utf8", "us-ascii", "ascii":
		prm.Value = string(b)
	case "iso-8859-1", "latin1", "latin-1", "iso_8859-1", "l1":
		prm.Value = latin1ToUTF8(b)
	default:
		prm.Value = string(b)
		prm.Raw = !isASCII(b)
	}
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

func latin1ToUTF8(b []byte) string {
	if isASCII(b) {
		return string(b)
	}
	out := make([]byte, 0, len(b)+len(b)/2)
	for _, c := range b {
		out = utf8.AppendRune(out, rune(c))
	}
	return string(out)
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// percentDecode decodes %XX escapes, keeping malformed ones literally.
func percentDecode(s string) []byte {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) {
			h, ok1 := unhex(s[i+1])
			l, ok2 := unhex(s[i+2])
			if ok1 && ok2 {
				b = append(b, h<<4|l)
				i += 2
				continue
			}
		}
		b = append(b, c)
	}
	return b
}
