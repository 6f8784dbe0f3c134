package imap

import (
	"html"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	hmime "github.com/heraldmail/herald/mime"
)

// PREVIEW (RFC 8970): FETCH PREVIEW and PREVIEW (LAZY) send the start of
// the message's text: its first text/plain part that is not an
// attachment, else its first such text/html part turned into text (tags
// dropped, style and script skipped, entities decoded), decoded from its
// transfer encoding and charset, white space collapsed, and cut to at most
// maxPreview octets on a character boundary. A message without such a part
// has NIL. The preview is computed when asked, LAZY or not: it costs a
// scan of the message up to its first text part.

// maxPreview bounds the preview (RFC 8970 section 3.1: 256 characters);
// the cut is at 256 octets, so that it holds whatever the characters.
const maxPreview = 256

// maxPreviewScan bounds the text read from the part: enough for 256
// characters after collapsing white space and dropping HTML markup.
const maxPreviewScan = 64 << 10

// makePreview returns the preview of a message and whether it has one.
func makePreview(r io.ReaderAt, size int64) (string, bool) {
	mr := hmime.NewReader(io.NewSectionReader(r, 0, size), nil)
	var htmlText string
	haveHTML := false
	for {
		p, err := mr.Next()
		if err != nil {
			break
		}
		if p.Kind() != hmime.KindText || p.MediaType.Type != "text" {
			continue
		}
		sub := p.MediaType.Subtype
		if sub != "plain" && sub != "html" || sub == "html" && haveHTML {
			continue
		}
		tr, err := p.Text()
		if err != nil {
			continue
		}
		data, _ := io.ReadAll(io.LimitReader(tr, maxPreviewScan))
		if sub == "plain" {
			return previewText(string(data)), true
		}
		htmlText, haveHTML = htmlToText(string(data)), true
	}
	if haveHTML {
		return previewText(htmlText), true
	}
	return "", false
}

// previewText collapses white space and control characters to single
// spaces, trims the ends and cuts to maxPreview octets.
func previewText(s string) string {
	var b strings.Builder
	space := true // drop leading space
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			if !space {
				b.WriteByte(' ')
				space = true
			}
			if b.Len() > maxPreview {
				break
			}
			continue
		}
		space = false
		b.WriteRune(r)
		if b.Len() > maxPreview {
			break
		}
	}
	out := strings.TrimRight(b.String(), " ")
	if len(out) > maxPreview {
		n := maxPreview
		for n > 0 && !utf8.RuneStart(out[n]) {
			n--
		}
		out = strings.TrimRight(out[:n], " ")
	}
	return out
}

// htmlToText drops tags, comments and the content of style and script
// elements, and decodes entities.
func htmlToText(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			b.WriteString(html.UnescapeString(s))
			break
		}
		b.WriteString(html.UnescapeString(s[:i]))
		s = s[i:]
		if strings.HasPrefix(s, "<!--") {
			end := strings.Index(s, "-->")
			if end < 0 {
				break
			}
			s = s[end+3:]
			continue
		}
		end := strings.IndexByte(s, '>')
		if end < 0 {
			break
		}
		closing := strings.HasPrefix(s[1:end], "/")
		tag := strings.ToLower(strings.TrimLeft(s[1:end], "/ "))
		s = s[end+1:]
		b.WriteByte(' ')
		for _, skip := range []string{"style", "script", "head"} {
			if closing {
				break
			}
			if strings.HasPrefix(tag, skip) && (len(tag) == len(skip) || tag[len(skip)] == ' ' || tag[len(skip)] == '>') {
				if k := strings.Index(strings.ToLower(s), "</"+skip); k >= 0 {
					s = s[k:]
				} else {
					s = ""
				}
			}
		}
	}
	return b.String()
}

// previewModifiers reads the optional "(LAZY)" after PREVIEW (RFC 8970
// section 3.2); LAZY changes nothing here.
func (d *decoder) previewModifiers() error {
	if next, err := d.r.Peek(2); err != nil || string(next) != " (" {
		return nil
	}
	d.readByte()
	n := 0
	err := d.list(func() error {
		n++
		a, err := d.atom()
		if err == nil && !strings.EqualFold(a, "LAZY") {
			err = syntaxErr("Unknown PREVIEW modifier")
		}
		return err
	})
	if err == nil && n == 0 {
		err = syntaxErr("Empty PREVIEW modifiers")
	}
	return err
}

// appendPreview appends the PREVIEW item of a message.
func (c *conn) appendPreview(b []byte, m *fetchMsg) ([]byte, error) {
	if err := m.open(); err != nil {
		return b, err
	}
	b = append(b, "PREVIEW "...)
	text, ok := makePreview(m.content, m.info.Size)
	if !ok {
		return append(b, "NIL"...), nil
	}
	return appendString(b, text, c.utf8), nil
}
