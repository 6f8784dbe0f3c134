package sieve

import (
	"bytes"
	"io"
	"strings"

	hmime "github.com/heraldmail/herald/mime"
)

type bodyTransform uint8

const (
	bodyText bodyTransform = iota
	bodyRaw
	bodyContent
)

type bodyTest struct {
	m     matcher
	tr    bodyTransform
	types []str
	keys  []str
}

func (c *compiler) bodyTest(rt *rawTest) (test, *Error) {
	if err := c.need("body", rt.pos, "test", rt.name); err != nil {
		return nil, err
	}
	spec := tagSet(comparatorTags, matchTags, map[string]tagSpec{
		"raw":     {group: "body transform"},
		"text":    {group: "body transform"},
		"content": {arg: tagStrings, group: "body transform"},
	})
	tags, args, err := c.split("test", rt.name, rt.args, spec)
	if err != nil {
		return nil, err
	}
	if err := positional("test", rt.name, rt.pos, args, argStrings); err != nil {
		return nil, err
	}
	t := &bodyTest{keys: c.strs(args[0])}
	if _, ok := tags["raw"]; ok {
		t.tr = bodyRaw
	}
	if ct, ok := tags["content"]; ok {
		t.tr = bodyContent
		t.types = c.strs(ct.arg)
	}
	t.m, err = c.matcher(tags)
	return t, err
}

// bodyCache holds the part of the body a run has read.
type bodyCache struct {
	raw   []byte
	err   error
	parts []bodyPart
}

func (st *state) rawBody() ([]byte, error) {
	if st.body != nil {
		return st.body.raw, st.body.err
	}
	st.body = &bodyCache{}
	if st.msg.Body != nil {
		st.body.raw, st.body.err = io.ReadAll(io.LimitReader(st.msg.Body, int64(st.lim.maxBodyBytes())))
	}
	return st.body.raw, st.body.err
}

// partMatches reports whether a media type matches one of the :content
// types (RFC 5173 section 5.2): "" matches every part, "type" every
// subtype, "type/subtype" only itself.
func partMatches(t hmime.MediaType, types []string) bool {
	for _, want := range types {
		want = strings.ToLower(strings.TrimSpace(want))
		switch {
		case want == "":
			return true
		case strings.Contains(want, "/"):
			if want == t.Type+"/"+t.Subtype {
				return true
			}
		case want == t.Type:
			return true
		}
	}
	return false
}

func (t *bodyTest) eval(st *state) (bool, error) {
	keys, err := st.expandList(t.keys)
	if err != nil {
		return false, err
	}
	raw, err := st.rawBody()
	if err != nil {
		return false, err
	}
	if t.tr == bodyRaw {
		return st.matchValues(t.m, []string{string(raw)}, keys)
	}
	types := []string{"text"}
	if t.tr == bodyContent {
		if types, err = st.expandList(t.types); err != nil {
			return false, err
		}
	}
	parts := st.bodyParts(raw)
	var values []string
	for _, p := range parts {
		if !partMatches(p.mt, types) {
			continue
		}
		if t.tr == bodyText && p.mt.Subtype == "html" {
			values = append(values, htmlText(p.content))
			continue
		}
		values = append(values, p.content)
	}
	return st.matchValues(t.m, values, keys)
}

type bodyPart struct {
	mt      hmime.MediaType
	content string
}

// bodyParts returns every MIME part of the message with its content,
// walked once a run: text parts converted to UTF-8, other leaves decoded
// from their transfer encoding, multiparts as their preamble (RFC 5173
// section 5.2). The original header is what says how the body is
// structured; editheader does not change that.
func (st *state) bodyParts(raw []byte) []bodyPart {
	if st.body.parts != nil {
		return st.body.parts
	}
	var full bytes.Buffer
	st.msg.Header.WriteTo(&full)
	full.Write(raw)
	max := st.lim.maxBodyBytes()
	r := hmime.NewReader(&full, nil)
	out := []bodyPart{}
	for {
		p, err := r.Next()
		if err != nil {
			// io.EOF, or a broken MIME structure: the walk ends with
			// what was found, as a reader of real mail must.
			break
		}
		if p.IsContainer() {
			if p.MediaType.IsMultipart() {
				out = append(out, bodyPart{p.MediaType, string(p.Preamble)})
			}
			continue
		}
		var body io.Reader
		if p.MediaType.Type == "text" {
			body, _ = p.Text()
		} else {
			body, _ = p.Body()
		}
		if body == nil {
			continue
		}
		b, _ := io.ReadAll(io.LimitReader(body, int64(max)))
		out = append(out, bodyPart{p.MediaType, string(b)})
	}
	st.body.parts = out
	return out
}

// htmlText drops the tags, comments, scripts and styles of HTML and
// decodes the common entities, which is what a body :text test of an
// HTML part should see.
func htmlText(s string) string {
	var b strings.Builder
	lower := strings.ToLower(s)
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "<!--"):
			end := strings.Index(s[i+4:], "-->")
			if end < 0 {
				i = len(s)
			} else {
				i += 4 + end + 3
			}
		case s[i] == '<':
			for _, el := range []string{"script", "style"} {
				if strings.HasPrefix(lower[i+1:], el) {
					if end := strings.Index(lower[i:], "</"+el); end >= 0 {
						i += end
					}
				}
			}
			end := strings.IndexByte(s[i:], '>')
			if end < 0 {
				i = len(s)
			} else {
				i += end + 1
			}
			b.WriteByte(' ')
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return strings.NewReplacer("&nbsp;", " ", "&lt;", "<", "&gt;", ">", "&quot;", "\"", "&#39;", "'", "&amp;", "&").Replace(b.String())
}
