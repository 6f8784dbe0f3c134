package imap

import (
	"bufio"
	"bytes"
	"io"
	"strconv"
	"strings"

	hmime "github.com/heraldmail/herald/mime"
)

// fetchMsg holds what FETCH has loaded of one message, each part on first
// use.
type fetchMsg struct {
	c       *conn
	info    MessageInfo
	content Content
	openErr error    // what opening the content ahead gave (openahead.go)
	top     *part    // header of the message only
	root    *part    // whole structure
	sum     *Summary // from MailboxSummaries, when the items allow
	// streamed is set once part of the response has been written.
	streamed bool
}

func (m *fetchMsg) open() error {
	if m.content != nil {
		return nil
	}
	if m.openErr != nil {
		return m.openErr
	}
	ct, err := m.c.sel.mb.Open(m.c.ctx, m.info.UID)
	if err != nil {
		return err
	}
	m.content = ct
	return nil
}

func (m *fetchMsg) close() {
	if m.content != nil {
		m.content.Close()
		m.content = nil
	}
}

func (m *fetchMsg) header() (*part, error) {
	if m.root != nil {
		return m.root, nil
	}
	if m.top != nil {
		return m.top, nil
	}
	if err := m.open(); err != nil {
		return nil, err
	}
	p, err := topHeader(m.content, m.info.Size)
	if err != nil {
		return nil, err
	}
	m.top = p
	return p, nil
}

func (m *fetchMsg) structure() (*part, error) {
	if m.root != nil {
		return m.root, nil
	}
	if err := m.open(); err != nil {
		return nil, err
	}
	p, err := buildStructure(m.content, m.info.Size)
	if err != nil {
		return nil, err
	}
	m.root = p
	return p, nil
}

// topHeader reads the header of a message and where its body starts.
func topHeader(r io.ReaderAt, size int64) (*part, error) {
	br := bufio.NewReaderSize(io.NewSectionReader(r, 0, size), 4096)
	var hdr []byte
	var off int64
	atStart := true // the piece read starts a line
	for {
		line, err := br.ReadSlice('\n')
		cont := err == bufio.ErrBufferFull
		off += int64(len(line))
		if atStart && !cont && len(bytes.TrimRight(line, "\r\n")) == 0 && len(line) > 0 {
			break
		}
		atStart = !cont
		if len(hdr)+len(line) <= maxPartHeader {
			hdr = append(hdr, line...)
		}
		if err != nil && !cont {
			if err != io.EOF {
				return nil, err
			}
			break
		}
	}
	p := &part{bodyStart: off, end: size}
	p.finishHeader(hdr, false)
	return p, nil
}

func needsContent(it fetchItem) bool {
	switch it.name {
	case "FLAGS", "UID", "INTERNALDATE", "RFC822.SIZE", "MODSEQ", "SAVEDATE":
		return false
	}
	return true
}

func setsSeen(it fetchItem) bool {
	switch it.name {
	case "RFC822", "RFC822.TEXT":
		return true
	case "BODY", "BINARY":
		return it.section.hasBrackt && !it.peek
	}
	return false
}

func (c *conn) cmdFetch(cmd *command) error {
	sel := c.sel
	seqs, err := sel.resolve(cmd.set, cmd.uid)
	if err != nil {
		return err
	}
	seqs, items, err := c.condFetch(cmd, seqs, cmd.fetch)
	if err != nil {
		return err
	}
	if cmd.partial != nil {
		seqs = cmd.partial.pick(seqs) // RFC 9394 section 3.2 (context.go)
	}
	hasUID, hasFlags, content, seen := false, false, false, false
	for _, it := range items {
		hasUID = hasUID || it.name == "UID"
		hasFlags = hasFlags || it.name == "FLAGS"
		content = content || needsContent(it)
		seen = seen || setsSeen(it)
	}
	if cmd.uid && !hasUID {
		items = append([]fetchItem{{name: "UID"}}, items...)
	}
	seen = seen && !sel.readOnly
	if content {
		// Many bytes to stream: a larger buffer for this command means
		// fewer, larger writes to the socket.
		var total int64
		for _, seq := range seqs {
			total += sel.msgs[seq-1].Size
		}
		if total > 4*streamBuffer {
			old := c.bw
			if err := old.Flush(); err != nil {
				return err
			}
			c.bw = bufio.NewWriterSize(deadlineWriter{c}, streamBuffer)
			defer func() {
				c.bw.Flush()
				c.bw = old
			}()
		}
	}
	var lost bool
	if ms, ok := sel.mb.(MailboxSummaries); ok && !seen && summaryItems(items) {
		return c.fetchSummaries(ms, seqs, items)
	}
	var ahead *openAhead
	if oa, ok := sel.mb.(MailboxOpenAhead); ok && content && len(seqs) > 1 {
		if n := oa.OpenAhead(); n > 0 {
			uids := make([]UID, 0, len(seqs))
			for _, seq := range seqs {
				if !sel.gone[seq-1] {
					uids = append(uids, sel.msgs[seq-1].UID)
				}
			}
			ahead = startOpenAhead(c.ctx, sel.mb, uids, n)
			defer ahead.stop()
		}
	}
	for _, seq := range seqs {
		i := seq - 1
		if sel.gone[i] && content {
			lost = true
			continue
		}
		m := &fetchMsg{c: c, info: sel.msgs[i]}
		if ahead != nil {
			m.content, m.openErr = ahead.take()
		}
		addFlags := false
		if seen && !hasFlag(m.info.Flags, FlagSeen) && !sel.gone[i] {
			if err := sel.mb.Store(c.ctx, []UID{m.info.UID}, StoreAdd, []Flag{FlagSeen}); err != nil {
				return err
			}
			m.info.Flags = applyStore(m.info.Flags, StoreAdd, []Flag{FlagSeen})
			sel.msgs[i].Flags = m.info.Flags
			addFlags = !hasFlags
		}
		err := c.fetchOne(seq, m, items, addFlags)
		m.close()
		if err != nil && m.streamed {
			// Half a response is on the wire: the connection cannot
			// continue.
			return errStreamFailed
		}
		if err != nil {
			if isNoSuchMessage(err) {
				lost = true
				continue
			}
			return err
		}
	}
	if lost {
		return &Error{Type: StatusNo, Code: CodeExpungeIssued, Text: "Some messages have been expunged"}
	}
	return nil
}

// summaryItems reports whether a Summary gives all that items need.
func summaryItems(items []fetchItem) bool {
	need := false
	for _, it := range items {
		switch {
		case !needsContent(it):
		case it.name == "ENVELOPE" || it.name == "BODYSTRUCTURE" || it.name == "BODY" && !it.section.hasBrackt:
			need = true
		default:
			return false
		}
	}
	return need
}

// fetchSummaries answers a FETCH whose items a Summary gives.
func (c *conn) fetchSummaries(ms MailboxSummaries, seqs []uint32, items []fetchItem) error {
	sel := c.sel
	var lost bool
	uids := make([]UID, 0, len(seqs))
	want := make([]uint32, 0, len(seqs))
	for _, seq := range seqs {
		if sel.gone[seq-1] {
			lost = true
			continue
		}
		uids = append(uids, sel.msgs[seq-1].UID)
		want = append(want, seq)
	}
	err := ms.Summaries(c.ctx, uids, func(i int, s *Summary, err error) error {
		if err != nil {
			if isNoSuchMessage(err) {
				lost = true
				return nil
			}
			return err
		}
		seq := want[i]
		return c.fetchOne(seq, &fetchMsg{c: c, info: sel.msgs[seq-1], sum: s}, items, false)
	})
	if err != nil {
		return err
	}
	if lost {
		return &Error{Type: StatusNo, Code: CodeExpungeIssued, Text: "Some messages have been expunged"}
	}
	return nil
}

// streamBuffer is the write buffer of a FETCH that streams many bytes.
const streamBuffer = 256 << 10

func isNoSuchMessage(err error) bool {
	e, _ := statusFor(err, false)
	return e.Code == CodeExpungeIssued
}

// fetchOne writes one FETCH response. Errors before anything was written
// leave no partial response; an error while streaming a body ends the
// connection, as the response cannot be completed.
func (c *conn) fetchOne(seq uint32, m *fetchMsg, items []fetchItem, addFlags bool) error {
	// Load what the items need first, so that a failure writes nothing.
	for _, it := range items {
		if m.sum != nil {
			break
		}
		var err error
		switch it.name {
		case "ENVELOPE":
			_, err = m.header()
		case "BODYSTRUCTURE", "BODY", "BINARY", "BINARY.SIZE", "RFC822.HEADER", "RFC822.TEXT", "RFC822":
			if it.name == "BODY" && it.section.hasBrackt && len(it.section.part) == 0 {
				if it.section.spec == "" {
					err = m.open()
				} else {
					_, err = m.header()
				}
			} else if it.name == "RFC822" {
				err = m.open()
			} else if it.name == "RFC822.HEADER" || it.name == "RFC822.TEXT" {
				_, err = m.header()
			} else {
				_, err = m.structure()
			}
		}
		if err != nil {
			return err
		}
	}
	b := append(c.scratch[:0], "* "...)
	defer func() {
		if cap(b) <= 64<<10 {
			c.scratch = b[:0]
		}
	}()
	b = strconv.AppendUint(b, uint64(seq), 10)
	b = append(b, " FETCH ("...)
	first := true
	sep := func() {
		if !first {
			b = append(b, ' ')
		}
		first = false
	}
	for _, it := range items {
		sep()
		switch it.name {
		case "UID":
			b = append(b, "UID "...)
			b = strconv.AppendUint(b, uint64(m.info.UID), 10)
		case "FLAGS":
			b = append(b, "FLAGS "...)
			b = appendFlags(b, c.sel.withRecent(m.info))
		case "MODSEQ":
			b = append(b, "MODSEQ ("...)
			b = strconv.AppendUint(b, m.info.ModSeq, 10)
			b = append(b, ')')
		case "INTERNALDATE":
			b = append(b, "INTERNALDATE \""...)
			b = append(b, imapDate(m.info.InternalDate)...)
			b = append(b, '"')
		case "RFC822.SIZE":
			b = append(b, "RFC822.SIZE "...)
			b = strconv.AppendInt(b, m.info.Size, 10)
		case "ENVELOPE":
			b = append(b, "ENVELOPE "...)
			if m.sum != nil {
				b = append(b, m.sum.pick(m.sum.env, c.utf8)...)
				continue
			}
			h, _ := m.header()
			b = appendEnvelope(b, h.header, c.utf8)
		case "BODYSTRUCTURE", "BODY":
			if it.name == "BODY" && it.section.hasBrackt {
				var err error
				if b, err = c.fetchSection(b, m, it); err != nil {
					return err
				}
				continue
			}
			b = append(b, it.name...)
			b = append(b, ' ')
			if m.sum != nil {
				v := m.sum.body
				if it.name == "BODYSTRUCTURE" {
					v = m.sum.bs
				}
				b = append(b, m.sum.pick(v, c.utf8)...)
				continue
			}
			root, _ := m.structure()
			b = appendBodyStructure(b, root, it.name == "BODYSTRUCTURE", c.utf8)
		case "RFC822", "RFC822.HEADER", "RFC822.TEXT":
			sec := fetchItem{name: "BODY", section: section{hasBrackt: true}}
			switch it.name {
			case "RFC822.HEADER":
				sec.section.spec = "HEADER"
			case "RFC822.TEXT":
				sec.section.spec = "TEXT"
			}
			var err error
			if b, err = c.fetchSectionAs(b, m, sec, it.name); err != nil {
				return err
			}
		case "BINARY", "BINARY.SIZE":
			var err error
			if b, err = c.fetchBinary(b, m, it); err != nil {
				return err
			}
		case "SAVEDATE":
			b = c.appendSaveDate(b, m)
		case "PREVIEW":
			var err error
			if b, err = c.appendPreview(b, m); err != nil {
				return err
			}
		}
	}
	if addFlags {
		sep()
		b = append(b, "FLAGS "...)
		b = appendFlags(b, c.sel.withRecent(m.info))
	}
	b = append(b, ")\r\n"...)
	c.write(b)
	return nil
}

func (c *conn) fetchSection(b []byte, m *fetchMsg, it fetchItem) ([]byte, error) {
	return c.fetchSectionAs(b, m, it, "BODY"+it.section.String())
}

// fetchSectionAs appends the item name and the section's bytes as a
// literal, streaming a byte range of the message directly to the client.
func (c *conn) fetchSectionAs(b []byte, m *fetchMsg, it fetchItem, name string) ([]byte, error) {
	b = append(b, name...)
	b = append(b, ' ')
	off, n, data, ok := m.sectionRange(it.section)
	if !ok {
		return append(b, "NIL"...), nil
	}
	if it.section.partial {
		o := min(it.section.offset, n)
		off += o
		n = min(it.section.count, n-o)
		if data != nil {
			data = data[o : o+n]
		}
	}
	b = append(b, '{')
	b = strconv.AppendInt(b, n, 10)
	b = append(b, "}\r\n"...)
	if data != nil || n == 0 {
		start := len(b)
		b = append(b, data...)
		replaceNul(b[start:])
		return b, nil
	}
	// Stream the range: write what is built so far first.
	c.write(b)
	m.streamed = true
	if _, err := io.Copy(c.bw, nulReader{io.NewSectionReader(m.content, off, n)}); err != nil {
		return nil, errStreamFailed
	}
	return b[:0], nil
}

// nulReader replaces NUL bytes by 0x80 in what it reads: a literal must
// not hold NUL (RFC 9051 section 4.3) and the length must stay that of
// the section, so BODY sections send 0x80 for NUL, as Dovecot does; only
// BINARY sends the bytes as they are, in a literal8. It changes the
// caller's buffer in place, so io.Copy into a bufio.Writer copies nothing
// more.
type nulReader struct{ r io.Reader }

func (r nulReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	replaceNul(p[:n])
	return n, err
}

func replaceNul(p []byte) {
	for {
		i := bytes.IndexByte(p, 0)
		if i < 0 {
			return
		}
		p[i] = 0x80
		p = p[i+1:]
	}
}

// errStreamFailed ends the connection: a response was cut short.
var errStreamFailed = &Error{Type: StatusBye, Text: "Message could not be read"}

// sectionRange returns the bytes a section names: a range of the message,
// or data built in memory. ok is false for a part that does not exist.
func (m *fetchMsg) sectionRange(s section) (off, n int64, data []byte, ok bool) {
	size := m.info.Size
	if len(s.part) == 0 {
		switch s.spec {
		case "":
			return 0, size, nil, true
		case "HEADER", "TEXT", "HEADER.FIELDS", "HEADER.FIELDS.NOT":
			h, _ := m.header()
			return headerSection(h, s, size)
		}
		return 0, 0, nil, false
	}
	root, _ := m.structure()
	p, found := locate(root, s.part)
	if !found {
		return 0, 0, nil, false
	}
	switch s.spec {
	case "":
		return p.bodyStart, p.end - p.bodyStart, nil, true
	case "MIME":
		return p.start, p.bodyStart - p.start, nil, true
	}
	if p.msg == nil {
		return 0, 0, []byte{}, true
	}
	return headerSection(p.msg, s, p.msg.end)
}

// headerSection returns HEADER, TEXT or HEADER.FIELDS[.NOT] of message p.
func headerSection(p *part, s section, end int64) (off, n int64, data []byte, ok bool) {
	switch s.spec {
	case "HEADER":
		return p.start, p.bodyStart - p.start, nil, true
	case "TEXT":
		return p.bodyStart, max(end-p.bodyStart, 0), nil, true
	}
	not := s.spec == "HEADER.FIELDS.NOT"
	var out []byte
	for _, f := range p.header.All() {
		want := false
		for _, name := range s.fields {
			if strings.EqualFold(name, f.Name()) {
				want = true
				break
			}
		}
		if want != not {
			raw := f.Raw()
			out = append(out, raw...)
			if !strings.HasSuffix(raw, "\n") {
				out = append(out, "\r\n"...)
			}
		}
	}
	out = append(out, "\r\n"...)
	return 0, int64(len(out)), out, true
}

// fetchBinary appends BINARY[part] or BINARY.SIZE[part] (RFC 3516): the
// part decoded from its transfer encoding.
func (c *conn) fetchBinary(b []byte, m *fetchMsg, it fetchItem) ([]byte, error) {
	root, _ := m.structure()
	off, n := int64(0), m.info.Size
	enc := hmime.Encoding7Bit
	if len(it.section.part) > 0 {
		p, found := locate(root, it.section.part)
		if !found {
			b = append(b, "BINARY"...)
			b = append(b, it.section.String()...)
			return append(b, " NIL"...), nil
		}
		off, n = p.bodyStart, p.end-p.bodyStart
		if p.msg == nil && !(p.mt.IsMultipart() && len(p.children) > 0) {
			enc = hmime.ParseEncoding(p.header.Get("Content-Transfer-Encoding"))
		}
	}
	decoded := func() (io.Reader, error) {
		return hmime.NewDecoder(enc, io.NewSectionReader(m.content, off, n))
	}
	switch enc {
	case hmime.Encoding7Bit, hmime.Encoding8Bit, hmime.EncodingBinary, hmime.EncodingBase64, hmime.EncodingQuotedPrintable:
	default:
		return nil, &Error{Type: StatusNo, Code: CodeUnknownCTE, Text: "Unknown Content-Transfer-Encoding"}
	}
	// Count the decoded size (and look for NUL) first.
	r, err := decoded()
	if err != nil {
		return nil, &Error{Type: StatusNo, Code: CodeUnknownCTE, Text: "Unknown Content-Transfer-Encoding"}
	}
	cw := &countWriter{}
	if _, err := io.Copy(cw, r); err != nil {
		return nil, &Error{Type: StatusNo, Code: CodeUnknownCTE, Text: "Invalid encoded content"}
	}
	if it.name == "BINARY.SIZE" {
		sec := it.section
		b = append(b, "BINARY.SIZE"...)
		b = append(b, sec.String()...)
		b = append(b, ' ')
		return strconv.AppendInt(b, cw.n, 10), nil
	}
	start, count := int64(0), cw.n
	if it.section.partial {
		start = min(it.section.offset, cw.n)
		count = min(it.section.count, cw.n-start)
	}
	b = append(b, "BINARY"...)
	b = append(b, it.section.String()...)
	b = append(b, ' ')
	if cw.nul {
		b = append(b, '~')
	}
	b = append(b, '{')
	b = strconv.AppendInt(b, count, 10)
	b = append(b, "}\r\n"...)
	c.write(b)
	m.streamed = true
	r, _ = decoded()
	if _, err := io.CopyN(io.Discard, r, start); err != nil {
		return nil, errStreamFailed
	}
	if _, err := io.CopyN(c.bw, r, count); err != nil {
		return nil, errStreamFailed
	}
	return b[:0], nil
}

type countWriter struct {
	n   int64
	nul bool
}

func (w *countWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	if !w.nul && bytes.IndexByte(p, 0) >= 0 {
		w.nul = true
	}
	return len(p), nil
}
