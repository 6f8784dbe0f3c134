package imap

import (
	"bytes"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/heraldmail/herald/message"
	hmime "github.com/heraldmail/herald/mime"
)

func (c *conn) cmdSearch(cmd *command) error {
	sel := c.sel
	c.searchNow = time.Now()
	if err := c.checkUpdateTag(cmd); err != nil {
		return err
	}
	if hasModSeqKey(cmd.search) {
		if sel.highest == 0 {
			return errNoModSeq
		}
		c.enableCondstore()
	}
	var hits []uint32
	maxUID := uint32(sel.maxUID())
	var lost bool
	for i := range sel.msgs {
		seq := uint32(i + 1)
		m := &fetchMsg{c: c, info: sel.msgs[i]}
		ok, err := c.matchKey(cmd.search, seq, maxUID, m)
		m.close()
		if err != nil {
			if isNoSuchMessage(err) {
				lost = true
				continue
			}
			return err
		}
		if ok {
			if cmd.uid {
				hits = append(hits, uint32(sel.msgs[i].UID))
			} else {
				hits = append(hits, seq)
			}
		}
	}
	_ = lost // messages expunged meanwhile simply do not match
	if c.saveResult(cmd, hits) {
		return nil
	}
	modseq := c.searchModSeqResult(cmd, hits)
	if !cmd.esearch && !c.rev2 {
		b := []byte("SEARCH")
		for _, n := range hits {
			b = append(b, ' ')
			b = strconv.AppendUint(b, uint64(n), 10)
		}
		if modseq != 0 {
			b = append(b, " (MODSEQ "...)
			b = strconv.AppendUint(b, modseq, 10)
			b = append(b, ')')
		}
		c.untagged(string(b))
		return nil
	}
	// ESEARCH response (RFC 4731, RFC 9051 section 7.3.4); hits are in
	// ascending order, so MIN and MAX are the first and the last.
	c.startUpdate(cmd, hits, false)
	b := c.esearchResponse(cmd, hits)
	if modseq != 0 {
		b = append(b, " MODSEQ "...)
		b = strconv.AppendUint(b, modseq, 10)
	}
	c.untagged(string(b))
	return nil
}

// matchKey evaluates a search key for one message, loading its content
// only when the key needs it.
func (c *conn) matchKey(k *searchKey, seq, maxUID uint32, m *fetchMsg) (bool, error) {
	switch k.op {
	case "AND":
		for _, s := range k.sub {
			ok, err := c.matchKey(s, seq, maxUID, m)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case "OR":
		for _, s := range k.sub {
			ok, err := c.matchKey(s, seq, maxUID, m)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case "NOT":
		ok, err := c.matchKey(k.sub[0], seq, maxUID, m)
		return !ok && err == nil, err
	case "SEQ":
		return k.set.Contains(seq, c.sel.max()), nil
	case "UID":
		return k.set.Contains(uint32(m.info.UID), maxUID), nil
	case "MODSEQ":
		return m.info.ModSeq >= uint64(k.n), nil
	case "ALL":
		return true, nil
	case "OLD":
		return !c.sel.recent[m.info.UID], nil
	case "RECENT":
		return c.sel.recent[m.info.UID], nil
	case "NEW":
		return c.sel.recent[m.info.UID] && !hasFlag(m.info.Flags, FlagSeen), nil
	case "ANSWERED", "DELETED", "DRAFT", "FLAGGED", "SEEN":
		return hasFlag(m.info.Flags, Flag(`\`+k.op)), nil
	case "UNANSWERED", "UNDELETED", "UNDRAFT", "UNFLAGGED", "UNSEEN":
		return !hasFlag(m.info.Flags, Flag(`\`+k.op[2:])), nil
	case "KEYWORD":
		return hasFlag(m.info.Flags, Flag(k.str)), nil
	case "UNKEYWORD":
		return !hasFlag(m.info.Flags, Flag(k.str)), nil
	case "OLDER", "YOUNGER":
		// RFC 5032: the age of the INTERNALDATE against the interval,
		// from the time the command started.
		older := c.searchNow.Sub(m.info.InternalDate) > time.Duration(k.n)*time.Second
		return older == (k.op == "OLDER"), nil
	case "LARGER":
		return m.info.Size > k.n, nil
	case "SMALLER":
		return m.info.Size < k.n, nil
	case "BEFORE", "ON", "SINCE":
		return compareDate(k.op, m.info.InternalDate, k.date), nil
	case "SAVEDBEFORE", "SAVEDON", "SAVEDSINCE", "SAVEDATESUPPORTED":
		return c.matchSaveDate(k, m), nil
	case "SENTBEFORE", "SENTON", "SENTSINCE":
		h, err := m.header()
		if err != nil {
			return false, err
		}
		d, err := h.header.Date()
		if err != nil {
			return false, nil
		}
		return compareDate(strings.TrimPrefix(k.op, "SENT"), d, k.date), nil
	case "FROM", "TO", "CC", "BCC", "SUBJECT":
		h, err := m.header()
		if err != nil {
			return false, err
		}
		return headerContains(h.header, k.op, k.str), nil
	case "HEADER":
		h, err := m.header()
		if err != nil {
			return false, err
		}
		if k.str == "" {
			return h.header.Has(k.field), nil
		}
		return headerContains(h.header, k.field, k.str), nil
	case "BODY", "TEXT":
		if err := m.open(); err != nil {
			return false, err
		}
		return bodyContains(m.content, m.info.Size, k.str, k.op == "TEXT"), nil
	}
	return false, nil
}

// compareDate compares the dates of t (in its own zone) and d, ignoring the
// time of day (RFC 9051 section 6.4.4).
func compareDate(op string, t, d time.Time) bool {
	y, mo, da := t.Date()
	td := time.Date(y, mo, da, 0, 0, 0, 0, time.UTC)
	switch op {
	case "BEFORE":
		return td.Before(d)
	case "ON":
		return td.Equal(d)
	}
	return !td.Before(d) // SINCE: on or after
}

func containsFold(s, sub string) bool {
	if sub == "" {
		return true
	}
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

// headerContains searches the fields called name, raw and decoded.
func headerContains(h *message.Header, name, s string) bool {
	for _, f := range h.All() {
		if !strings.EqualFold(f.Name(), name) {
			continue
		}
		if containsFold(f.Value(), s) {
			return true
		}
		if t, _ := f.Text(); containsFold(t, s) {
			return true
		}
		if list, err := h.AddressList(name); err == nil {
			for _, a := range message.Mailboxes(list) {
				if containsFold(a.Name, s) || containsFold(a.Addr, s) {
					return true
				}
			}
		}
	}
	return false
}

// bodyContains searches the body of each part, decoded from its transfer
// encoding, and from its charset for text; with headers (SEARCH TEXT) the
// header fields of every entity too, names included, with encoded words
// decoded ("Subject: Hello"). As Dovecot does, it searches text parts and
// the message parts that are not containers (message/delivery-status),
// not binary ones or parts in an unknown transfer encoding. It streams
// with an overlap so that a match across buffer boundaries is found.
func bodyContains(r io.ReaderAt, size int64, s string, headers bool) bool {
	if s == "" {
		return true
	}
	needle := []byte(strings.ToLower(s))
	var field []byte // a header field lowered, "name: value"
	mr := hmime.NewReader(io.NewSectionReader(r, 0, size), nil)
	for {
		p, err := mr.Next()
		if err != nil {
			return false
		}
		if headers {
			for _, f := range p.Header().All() {
				v, _ := f.Text()
				field = appendLower(field[:0], []byte(f.Name()))
				field = append(field, ": "...)
				field = appendLower(field, []byte(v))
				if bytes.Contains(field, needle) {
					return true
				}
			}
		}
		if p.IsContainer() {
			continue
		}
		if !p.Encoding.Known() {
			// Unknown transfer encoding: opaque data (RFC 2045
			// section 6.4), not searched, as in Dovecot.
			continue
		}
		var body io.Reader
		switch p.MediaType.Type {
		case "text":
			body, _ = p.Text()
		case "message":
			// message/delivery-status, message/external-body and
			// the like: text that is not typed text. A message/rfc822
			// in base64 is opaque, as for Dovecot.
			if !p.MediaType.IsMessage() {
				body, _ = p.Body()
			}
		}
		if body == nil {
			continue
		}
		if streamContains(body, needle) {
			return true
		}
	}
}

// streamContains reports whether the UTF-8 text r holds needle, which is
// in lower case, in any case. It reads r in chunks and lowers each into a
// window that starts with the end of the one before, long enough for a
// match across the two; a character cut at the end of a read waits for
// its last bytes, as lowering it apart would make it U+FFFD.
func streamContains(r io.Reader, needle []byte) bool {
	sb := searchBufs.Get().(*searchBuf)
	buf, low := sb.in[:], sb.low[:0]
	defer func() {
		sb.low = low[:0] // grown, if lowering made it longer
		searchBufs.Put(sb)
	}()
	part := 0 // bytes of a cut character at the start of buf
	for {
		n, err := r.Read(buf[part:])
		data := buf[:part+n]
		cut := len(data)
		if err == nil {
			cut = completeRunes(data)
		}
		low = appendLower(low, data[:cut])
		if bytes.Contains(low, needle) {
			return true
		}
		if err != nil {
			return false
		}
		keep := min(len(low), len(needle)-1)
		low = low[:copy(low, low[len(low)-keep:])]
		part = copy(buf, data[cut:])
	}
}

// searchBuf is the buffers of streamContains: what it reads, and the
// lowered window (the lowered text can be longer than what it was made
// from, and starts with what is kept of the last window).
type searchBuf struct {
	in  [32 << 10]byte
	low []byte
}

var searchBufs = sync.Pool{New: func() any { return &searchBuf{low: make([]byte, 0, 64<<10)} }}

// completeRunes returns the length of the longest prefix of b that does
// not end inside a UTF-8 sequence.
func completeRunes(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if utf8.FullRune(b[i:]) {
				return len(b)
			}
			return i
		}
	}
	return len(b)
}

// appendLower appends b lowered as strings.ToLower lowers the search
// string, rune by rune; bytes that are not UTF-8 are kept as they are.
func appendLower(dst, b []byte) []byte {
	// ASCII, most of the text, a byte at a time into room made once.
	n := len(dst)
	dst = slices.Grow(dst, len(b))[:n+len(b)]
	d := dst[n:]
	for i, c := range b {
		if c >= utf8.RuneSelf {
			return appendLowerRunes(dst[:n+i], b[i:])
		}
		d[i] = lowerASCII[c]
	}
	return dst
}

// appendLowerRunes is appendLower for text that is not all ASCII.
func appendLowerRunes(dst, b []byte) []byte {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			dst = append(dst, lowerASCII[c])
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, c)
		} else {
			dst = utf8.AppendRune(dst, unicode.ToLower(r))
		}
		i += size
	}
	return dst
}

// lowerASCII maps each ASCII byte to its lower case.
var lowerASCII = func() (t [utf8.RuneSelf]byte) {
	for c := range t {
		t[c] = byte(c)
		if 'A' <= c && c <= 'Z' {
			t[c] += 'a' - 'A'
		}
	}
	return t
}()
