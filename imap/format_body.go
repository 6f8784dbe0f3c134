package imap

import (
	"strconv"
	"strings"

	hmime "github.com/heraldmail/herald/mime"
)

// isToken reports whether s is an RFC 2045 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?=", c) >= 0 {
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// appendBodyStructure appends BODYSTRUCTURE (ext) or BODY (!ext) of p.
func appendBodyStructure(b []byte, p *part, ext, utf8OK bool) []byte {
	b = append(b, '(')
	if p.mt.IsMultipart() && len(p.children) > 0 {
		for _, c := range p.children {
			b = appendBodyStructure(b, c, ext, utf8OK)
		}
		b = append(b, ' ')
		b = appendString(b, strings.ToUpper(p.mt.Subtype), utf8OK)
		if ext {
			b = append(b, ' ')
			b = appendParams(b, p.mt.Params, utf8OK)
			b = appendExtension(b, p, utf8OK)
		}
		return append(b, ')')
	}
	mt := p.mt
	if mt.IsMultipart() {
		// A multipart without boundary or beyond the limits is opaque.
		mt = hmime.MediaType{Type: "text", Subtype: "plain", Params: hmime.Params{{Name: "charset", Value: "us-ascii"}}}
	}
	b = appendString(b, strings.ToUpper(mt.Type), utf8OK)
	b = append(b, ' ')
	b = appendString(b, strings.ToUpper(mt.Subtype), utf8OK)
	b = append(b, ' ')
	params := mt.Params
	if mt.Type == "text" && params.Get("charset") == "" {
		// RFC 2045 section 5.2: text without charset is US-ASCII.
		params = append(params[:len(params):len(params)], hmime.Param{Name: "charset", Value: "us-ascii"})
	}
	b = appendParams(b, params, utf8OK)
	b = append(b, ' ')
	b = appendNString(b, p.header.Get("Content-Id"), utf8OK)
	b = append(b, ' ')
	b = appendNString(b, p.header.Get("Content-Description"), utf8OK)
	b = append(b, ' ')
	enc := strings.ToUpper(strings.TrimSpace(p.header.Get("Content-Transfer-Encoding")))
	if !isToken(enc) {
		// Missing or not a token (RFC 2045 section 6.1): the default.
		enc = "7BIT"
	}
	b = appendString(b, enc, utf8OK)
	b = append(b, ' ')
	b = strconv.AppendInt(b, p.end-p.bodyStart, 10)
	switch {
	case p.msg != nil:
		b = append(b, ' ')
		b = appendEnvelope(b, p.msg.header, utf8OK)
		b = append(b, ' ')
		b = appendBodyStructure(b, p.msg, ext, utf8OK)
		b = append(b, ' ')
		b = strconv.AppendInt(b, p.lines, 10)
	case mt.Type == "text":
		b = append(b, ' ')
		b = strconv.AppendInt(b, p.lines, 10)
	}
	if ext {
		b = append(b, ' ')
		b = appendNString(b, p.header.Get("Content-MD5"), utf8OK)
		b = appendExtension(b, p, utf8OK)
	}
	return append(b, ')')
}

// appendExtension appends body-fld-dsp, body-fld-lang and body-fld-loc.
func appendExtension(b []byte, p *part, utf8OK bool) []byte {
	b = append(b, ' ')
	if v, ok := p.header.Lookup("Content-Disposition"); ok {
		// An unparsable value still gives ("" params), as Dovecot
		// sends: the field is there, its type is not.
		d, _ := hmime.ParseDisposition(v.Value())
		b = append(b, '(')
		b = appendString(b, strings.ToUpper(d.Type), utf8OK)
		b = append(b, ' ')
		b = appendParams(b, d.Params, utf8OK)
		b = append(b, ')')
	} else {
		b = append(b, "NIL"...)
	}
	b = append(b, ' ')
	if lang := p.header.Get("Content-Language"); lang != "" {
		var langs []string
		for _, l := range strings.FieldsFunc(lang, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
			langs = append(langs, l)
		}
		switch len(langs) {
		case 0:
			b = append(b, "NIL"...)
		default:
			b = append(b, '(')
			for i, l := range langs {
				if i > 0 {
					b = append(b, ' ')
				}
				b = appendString(b, l, utf8OK)
			}
			b = append(b, ')')
		}
	} else {
		b = append(b, "NIL"...)
	}
	b = append(b, ' ')
	return appendNString(b, p.header.Get("Content-Location"), utf8OK)
}

func appendParams(b []byte, ps hmime.Params, utf8OK bool) []byte {
	if len(ps) == 0 {
		return append(b, "NIL"...)
	}
	b = append(b, '(')
	for i, p := range ps {
		if i > 0 {
			b = append(b, ' ')
		}
		b = appendString(b, strings.ToUpper(p.Name), utf8OK)
		b = append(b, ' ')
		b = appendString(b, p.Value, utf8OK)
	}
	return append(b, ')')
}

// locate finds the entity a section's part numbers name, and whether the
// path is valid (RFC 9051 section 6.4.5).
func locate(root *part, path []int) (*part, bool) {
	cur := root
	for i, k := range path {
		m := cur
		if i > 0 {
			if cur.msg != nil {
				m = cur.msg
			} else if !cur.mt.IsMultipart() || len(cur.children) == 0 {
				return nil, false
			}
		}
		if m.mt.IsMultipart() && len(m.children) > 0 {
			if k > len(m.children) {
				return nil, false
			}
			cur = m.children[k-1]
			continue
		}
		if k != 1 {
			return nil, false
		}
		cur = m
	}
	return cur, true
}
