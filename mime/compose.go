package mime

import (
	"bufio"
	"errors"
	"io"
	"strings"

	"github.com/heraldmail/herald/message"
)

// Message composes a MIME message: a plain-text body, an HTML body, inline
// parts the HTML refers to by "cid:" URL, and attachments. [Message.WriteTo]
// picks the structure:
//
//	text only              text/plain
//	text and HTML          multipart/alternative (text, html)
//	HTML and Inline        multipart/related (html, inline...)
//	with Attachments       multipart/mixed (body, attachments...)
//
// Header holds the top-level fields the caller sets (From, To, Subject,
// Date, Message-ID...); WriteTo adds MIME-Version and the Content-* fields
// and replaces any the caller set. Non-ASCII text in the address fields
// (From, Sender, Reply-To, To, Cc, Bcc) is written as RFC 2047 encoded
// display names and in other fields as RFC 2047 encoded words, so the
// header is 7-bit.
type Message struct {
	Header      message.Header
	Text        string // text/plain body, UTF-8
	HTML        string // text/html body, UTF-8
	Inline      []Attachment
	Attachments []Attachment
}

// Attachment is a file attached to a [Message] or shown inline.
type Attachment struct {
	// Filename is the file name offered to the recipient (UTF-8); it is
	// written as an RFC 2231 filename parameter, and as an RFC 2047 name
	// parameter of the Content-Type for older readers.
	Filename string
	// ContentType is the media type, "application/octet-stream" when
	// empty; parameters may be included ("text/csv; charset=utf-8").
	ContentType string
	// ContentID identifies an inline part for "cid:" URLs, without the
	// angle brackets.
	ContentID string
	// Body is the content, read once by WriteTo.
	Body io.Reader
}

// sniffSize is how much of an attachment WriteTo reads ahead to choose its
// transfer encoding.
const sniffSize = 8 << 10

// WriteTo writes the message to w with CRLF line endings. Each body gets
// the transfer encoding its content needs (see [ChooseEncoding]; an
// attachment is judged by its first 8 KiB, and is quoted-printable or
// base64 unless it is short clean text), so every line stays within 998
// octets, and each multipart gets a fresh boundary from [NewBoundary].
// Text line breaks are written as CRLF.
func (m *Message) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	root, err := m.tree()
	if err != nil {
		return 0, err
	}
	h, err := m.topHeader()
	if err != nil {
		return 0, err
	}
	h.Set("MIME-Version", "1.0")
	root.fill(h)
	if _, err := h.WriteTo(cw); err != nil {
		return cw.n, err
	}
	err = root.writeBody(cw)
	return cw.n, err
}

// topHeader copies the caller's header, dropping MIME fields and encoding
// non-ASCII text.
func (m *Message) topHeader() (*message.Header, error) {
	h := new(message.Header)
	for _, f := range m.Header.All() {
		name := f.Name()
		if strings.EqualFold(name, "MIME-Version") || strings.HasPrefix(strings.ToLower(name), "content-") {
			continue
		}
		v := f.Value()
		if !isASCIIString(v) {
			if isAddressField(name) {
				list, err := message.ParseAddressList(v)
				if err != nil {
					return nil, &Error{Op: "compose", Err: err}
				}
				for _, a := range list {
					if !isASCIIString(a.Addr) {
						return nil, &Error{Op: "compose", Err: errDetail(ErrSyntax, "non-ASCII address "+a.Addr+" needs SMTPUTF8, not encoded words")}
					}
				}
				v = message.FormatAddressList(list)
			} else {
				v = message.EncodeWord(v)
			}
		}
		h.Add(name, v)
	}
	return h, nil
}

// isAddressField reports whether the field holds an address list.
func isAddressField(name string) bool {
	switch strings.ToLower(name) {
	case "from", "sender", "reply-to", "to", "cc", "bcc",
		"resent-from", "resent-sender", "resent-to", "resent-cc", "resent-bcc":
		return true
	}
	return false
}

func isASCIIString(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// node is one entity of the message being composed.
type node struct {
	mt       MediaType
	disp     MediaType
	cid      string
	enc      Encoding
	text     string        // content of a text leaf
	body     *bufio.Reader // content of an attachment leaf
	children []*node
	boundary string
}

func (m *Message) tree() (*node, error) {
	var alt []*node
	if m.Text != "" || m.HTML == "" {
		alt = append(alt, textNode("plain", m.Text))
	}
	if m.HTML != "" {
		html := textNode("html", m.HTML)
		if len(m.Inline) > 0 {
			rel := &node{mt: MediaType{Type: "multipart", Subtype: "related", Params: Params{{Name: "type", Value: "text/html"}}}}
			rel.children = append(rel.children, html)
			for i := range m.Inline {
				n, err := attachmentNode(&m.Inline[i], "inline")
				if err != nil {
					return nil, err
				}
				rel.children = append(rel.children, n)
			}
			html = rel
		}
		alt = append(alt, html)
	} else if len(m.Inline) > 0 {
		return nil, &Error{Op: "compose", Err: errDetail(ErrSyntax, "inline parts without an HTML body")}
	}
	root := alt[0]
	if len(alt) > 1 {
		root = &node{mt: MediaType{Type: "multipart", Subtype: "alternative"}, children: alt}
	}
	if len(m.Attachments) > 0 {
		mixed := &node{mt: MediaType{Type: "multipart", Subtype: "mixed"}, children: []*node{root}}
		for i := range m.Attachments {
			n, err := attachmentNode(&m.Attachments[i], "attachment")
			if err != nil {
				return nil, err
			}
			mixed.children = append(mixed.children, n)
		}
		root = mixed
	}
	return root, nil
}

func textNode(subtype, s string) *node {
	s = toCRLF(s)
	enc := ChooseEncoding([]byte(s), true)
	return &node{
		mt:   MediaType{Type: "text", Subtype: subtype, Params: Params{{Name: "charset", Value: "utf-8"}}},
		enc:  enc,
		text: s,
	}
}

func attachmentNode(a *Attachment, disposition string) (*node, error) {
	if a.Body == nil {
		return nil, &Error{Op: "compose", Err: errDetail(ErrSyntax, "attachment "+a.Filename+" has no Body")}
	}
	mt := MediaType{Type: "application", Subtype: "octet-stream"}
	if a.ContentType != "" {
		var err error
		mt, err = ParseMediaType(a.ContentType)
		if err != nil {
			return nil, &Error{Op: "compose", Err: err}
		}
	}
	n := &node{mt: mt, cid: a.ContentID, disp: MediaType{Type: disposition}}
	if a.Filename != "" {
		n.disp.Params.Set("filename", a.Filename)
		name := a.Filename
		if !isASCIIString(name) {
			name = message.EncodeWord(name)
		}
		n.mt.Params.Set("name", name)
	}
	br := bufio.NewReaderSize(a.Body, sniffSize)
	head, err := br.Peek(sniffSize)
	text := mt.Type == "text"
	switch {
	case errors.Is(err, io.EOF):
		n.enc = ChooseEncoding(head, text)
	case err != nil:
		return nil, &Error{Op: "compose", Err: err}
	case text && ChooseEncoding(head, true) != EncodingBase64:
		n.enc = EncodingQuotedPrintable
	default:
		n.enc = EncodingBase64
	}
	n.body = br
	return n, nil
}

// fill adds the entity's Content-* fields to h.
func (n *node) fill(h *message.Header) {
	mt := n.mt
	if len(n.children) > 0 {
		n.boundary = NewBoundary()
		mt.Params = append(append(Params(nil), mt.Params...), Param{Name: "boundary", Value: n.boundary})
	}
	h.Set("Content-Type", FormatMediaType(mt))
	if n.disp.Type != "" {
		h.Set("Content-Disposition", FormatMediaType(n.disp))
	}
	if n.cid != "" {
		h.Set("Content-ID", "<"+n.cid+">")
	}
	if len(n.children) == 0 && n.enc != Encoding7Bit {
		h.Set("Content-Transfer-Encoding", string(n.enc))
	}
}

// writeBody writes the entity's content (a multipart's parts).
func (n *node) writeBody(w io.Writer) error {
	if len(n.children) > 0 {
		mw := NewMultipartWriter(w, n.boundary)
		for _, c := range n.children {
			var h message.Header
			c.fill(&h)
			pw, err := mw.CreatePart(&h)
			if err != nil {
				return err
			}
			if err := c.writeBody(pw); err != nil {
				return err
			}
		}
		return mw.Close()
	}
	enc, err := NewEncoder(n.enc, w)
	if err != nil {
		return err
	}
	if n.body != nil {
		if _, err := io.Copy(enc, n.body); err != nil {
			return err
		}
	} else if _, err := io.WriteString(enc, n.text); err != nil {
		return err
	}
	return enc.Close()
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// toCRLF makes every line break CRLF, the canonical form of text (RFC 2046
// section 4.1.1).
func toCRLF(s string) string {
	if !strings.Contains(s, "\n") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + strings.Count(s, "\n"))
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' && (i == 0 || s[i-1] != '\r') {
			b.WriteByte('\r')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
