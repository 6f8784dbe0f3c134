package imap

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/heraldmail/herald/message"
)

// SORT (RFC 5256) with DISPLAYFROM and DISPLAYTO (RFC 5957, SORT=DISPLAY),
// and the ESEARCH-style results of ESORT (RFC 5267).

// extCapabilities are the capabilities of the extensions in sort.go,
// thread.go and the files next to them, announced after the others.
func (c *conn) extCapabilities() []string {
	return []string{"SORT", "SORT=DISPLAY", "THREAD=ORDEREDSUBJECT", "THREAD=REFERENCES", "ESORT", "CONTEXT=SEARCH", "CONTEXT=SORT", "PARTIAL", "SEARCHRES", "MULTIAPPEND", "COMPRESS=DEFLATE",
		"QUOTA", "QUOTA=RES-STORAGE", "QUOTA=RES-MESSAGE", "SAVEDATE", "PREVIEW", "NOTIFY"}
}

// sortKey is one sort criterion of SORT.
type sortKey uint8

const (
	sortArrival sortKey = iota + 1
	sortCc
	sortDate
	sortFrom
	sortSize
	sortSubject
	sortTo
	sortDisplayFrom
	sortDisplayTo
)

var sortKeyNames = map[string]sortKey{
	"ARRIVAL": sortArrival, "CC": sortCc, "DATE": sortDate, "FROM": sortFrom, "SIZE": sortSize,
	"SUBJECT": sortSubject, "TO": sortTo, "DISPLAYFROM": sortDisplayFrom, "DISPLAYTO": sortDisplayTo,
}

// sortCriterion is a sort key and whether REVERSE precedes it.
type sortCriterion struct {
	key     sortKey
	reverse bool
}

// sortArgs holds the arguments of SORT and THREAD.
type sortArgs struct {
	crit      []sortCriterion
	algorithm string // THREAD: "ORDEREDSUBJECT" or "REFERENCES"
}

// sortInfo is what SORT and THREAD need of a message's header, derived
// once per message and session (selected.sortCache).
type sortInfo struct {
	subject  string // base subject, as i;unicode-casemap compares it
	reply    bool   // the subject was a reply's or forward's
	sent     time.Time
	hasSent  bool // sent is the Date field's; else INTERNALDATE is used
	from, to string
	cc       string
	dispFrom string
	dispTo   string
	msgID    string
	refs     []string // References, or the first id of In-Reply-To
}

// maxThreadRefs bounds the message-ids taken from one References field.
const maxThreadRefs = 256

// MailboxKeyCache is implemented by a Mailbox that keeps, for the
// server, what it derives from a message's header for SORT and THREAD, so
// that the sessions of the mailbox share it and a new session sorts
// without reading the messages again. The values are opaque to the
// Mailbox and never changed once stored; a Mailbox may drop any of them
// at any time. Both methods are called concurrently by the sessions.
type MailboxKeyCache interface {
	// CachedKeys returns what CacheKeys stored for uid, or nil.
	CachedKeys(uid UID) any
	// CacheKeys stores v for uid.
	CacheKeys(uid UID, v any)
}

// sortArgs parses "(criteria) charset search-criteria" of SORT (RFC 5256
// section 4), after an optional RETURN list (RFC 5267).
func (d *decoder) sortArgs(cmd *command) error {
	if err := d.sp(); err != nil {
		return err
	}
	if c, _ := d.peek(); c == 'R' || c == 'r' {
		a, err := d.atom()
		if err != nil {
			return err
		}
		if !strings.EqualFold(a, "RETURN") {
			return syntaxErr("Expected RETURN or sort criteria")
		}
		if err := d.searchReturn(cmd); err != nil {
			return err
		}
		if err := d.sp(); err != nil {
			return err
		}
	}
	sa := &sortArgs{}
	reverse := false
	err := d.list(func() error {
		if err := d.countItem(); err != nil {
			return err
		}
		a, err := d.atom()
		if err != nil {
			return err
		}
		a = strings.ToUpper(a)
		if a == "REVERSE" && !reverse {
			reverse = true
			return nil
		}
		k, ok := sortKeyNames[a]
		if !ok {
			return syntaxErr("Unknown sort criterion")
		}
		sa.crit = append(sa.crit, sortCriterion{key: k, reverse: reverse})
		reverse = false
		return nil
	})
	if err != nil {
		return err
	}
	if reverse || len(sa.crit) == 0 {
		return syntaxErr("Invalid sort criteria")
	}
	cmd.sort = sa
	return d.charsetAndKeys(cmd)
}

// threadArgs parses "algorithm charset search-criteria" of THREAD (RFC
// 5256 section 4).
func (d *decoder) threadArgs(cmd *command) error {
	if err := d.sp(); err != nil {
		return err
	}
	a, err := d.atom()
	if err != nil {
		return err
	}
	cmd.sort = &sortArgs{algorithm: strings.ToUpper(a)}
	switch cmd.sort.algorithm {
	case "ORDEREDSUBJECT", "REFERENCES":
	default:
		return syntaxErr("Unknown threading algorithm")
	}
	return d.charsetAndKeys(cmd)
}

// charsetAndKeys reads the charset SORT and THREAD require and the search
// criteria after it. A charset other than UTF-8 and US-ASCII is NO
// [BADCHARSET] (RFC 5256 section 3).
func (d *decoder) charsetAndKeys(cmd *command) error {
	if err := d.sp(); err != nil {
		return err
	}
	cs, err := d.astring()
	if err != nil {
		return err
	}
	root := &searchKey{op: "AND"}
	for {
		if err := d.sp(); err != nil {
			return err
		}
		k, err := d.searchKey(0, "")
		if err != nil {
			return err
		}
		root.sub = append(root.sub, k)
		if c, _ := d.peek(); c != ' ' {
			break
		}
	}
	cmd.search = root
	// A syntax error in the criteria is BAD before the charset is NO.
	switch strings.ToUpper(cs) {
	case "UTF-8", "US-ASCII":
		return nil
	}
	return &Error{Type: StatusNo, Code: CodeBadCharset + " (UTF-8 US-ASCII)", Text: "Only UTF-8 and US-ASCII are supported"}
}

// sortMatches evaluates cmd.search and returns the indexes in c.sel.msgs
// of the messages that match, with their sortInfo when need is set.
func (c *conn) sortMatches(cmd *command, need bool) ([]int, []*sortInfo, error) {
	sel := c.sel
	c.searchNow = time.Now()
	maxUID := uint32(sel.maxUID())
	var idx []int
	var infos []*sortInfo
	for i := range sel.msgs {
		m := &fetchMsg{c: c, info: sel.msgs[i]}
		ok, err := c.matchKey(cmd.search, uint32(i+1), maxUID, m)
		var si *sortInfo
		if err == nil && ok && need {
			si, err = c.sortInfoOf(m)
		}
		m.close()
		if err != nil {
			if isNoSuchMessage(err) {
				continue // expunged meanwhile: it does not match
			}
			return nil, nil, err
		}
		if ok {
			idx = append(idx, i)
			infos = append(infos, si)
		}
	}
	return idx, infos, nil
}

// sortInfoOf returns the sortInfo of a message, from the session's cache
// or from its header.
func (c *conn) sortInfoOf(m *fetchMsg) (*sortInfo, error) {
	sel := c.sel
	if si := sel.sortCache[m.info.UID]; si != nil {
		return si, nil
	}
	kc, _ := sel.mb.(MailboxKeyCache)
	if kc != nil {
		if si, ok := kc.CachedKeys(m.info.UID).(*sortInfo); ok {
			if sel.sortCache == nil {
				sel.sortCache = map[UID]*sortInfo{}
			}
			sel.sortCache[m.info.UID] = si
			return si, nil
		}
	}
	h, err := m.header()
	if err != nil {
		return nil, err
	}
	si := newSortInfo(h.header, m.info.InternalDate)
	if kc != nil {
		kc.CacheKeys(m.info.UID, si)
	}
	if sel.sortCache == nil {
		sel.sortCache = map[UID]*sortInfo{}
	}
	if len(sel.sortCache) > 2*len(sel.msgs)+1024 {
		// Expunged messages' keys: keep only those of the view.
		keep := make(map[UID]*sortInfo, len(sel.msgs))
		for _, mi := range sel.msgs {
			if v := sel.sortCache[mi.UID]; v != nil {
				keep[mi.UID] = v
			}
		}
		sel.sortCache = keep
	}
	sel.sortCache[m.info.UID] = si
	return si, nil
}

// newSortInfo derives the sort keys from a header: the fields ENVELOPE
// takes (the last Subject, Date, Message-ID and In-Reply-To, the
// addresses of every From, To and Cc), and References.
func newSortInfo(h *message.Header, internal time.Time) *sortInfo {
	f := envelopeFields(h)
	si := &sortInfo{}
	// The first Subject, where ENVELOPE shows the last, as Dovecot
	// sorts.
	var base string
	if sf, ok := h.Lookup("Subject"); ok {
		base, si.reply = BaseSubject(rawFieldValue(sf.RawValue()))
	}
	si.subject = unicodeCasemap(base)
	if f[envDate].ok {
		if t, err := message.ParseDate(strings.ReplaceAll(f[envDate].v, "\n", " ")); err == nil {
			si.sent, si.hasSent = t.UTC(), true
		}
	}
	if !si.hasSent {
		si.sent = internal.UTC()
	}
	si.from, si.dispFrom = addressKeys(f[envFrom])
	si.to, si.dispTo = addressKeys(f[envTo])
	si.cc, _ = addressKeys(f[envCc])
	if f[envMessageID].ok {
		if ids, _ := message.ParseMessageIDList(f[envMessageID].v); len(ids) > 0 {
			si.msgID = ids[0]
		}
	}
	for _, fl := range h.All() {
		if strings.EqualFold(fl.Name(), "References") {
			si.refs, _ = message.ParseMessageIDList(rawFieldValue(fl.RawValue()))
			break
		}
	}
	if len(si.refs) == 0 && f[envInReplyTo].ok {
		if ids, _ := message.ParseMessageIDList(f[envInReplyTo].v); len(ids) > 0 {
			si.refs = ids[:1]
		}
	}
	if len(si.refs) > maxThreadRefs {
		si.refs = si.refs[len(si.refs)-maxThreadRefs:]
	}
	return si
}

// addressKeys returns the sort keys of an address field: the addr-mailbox
// of its first address as ENVELOPE lists it (RFC 5256 FROM, TO, CC: the
// group name for a group) and its display value (RFC
// 5957 section 3: the display name decoded, else the address
// "mailbox@host"), both as i;unicode-casemap compares them.
func addressKeys(f envField) (mailbox, display string) {
	if !f.ok {
		return "", ""
	}
	for _, a := range parseEnvAddresses(f) {
		if a.groupEnd {
			continue
		}
		if a.groupStart {
			// The first address of ENVELOPE is the group's, whose
			// addr-mailbox is the group name.
			g := unicodeCasemap(a.mailbox)
			return g, g
		}
		name, _ := (&message.WordDecoder{}).DecodeHeader(a.name)
		name = strings.TrimSpace(name)
		display = name
		if display == "" {
			display = a.mailbox
			if a.host != "" {
				display += "@" + a.host
			}
		}
		return unicodeCasemap(a.mailbox), unicodeCasemap(display)
	}
	return "", ""
}

// compareSort compares two messages by the criteria, then by sequence
// number (RFC 5256 section 3: the final tie-breaker).
func compareSort(crit []sortCriterion, a, b *sortInfo, ma, mb *MessageInfo, ia, ib int) int {
	for _, cr := range crit {
		var r int
		switch cr.key {
		case sortArrival:
			r = ma.InternalDate.Compare(mb.InternalDate)
		case sortCc:
			r = strings.Compare(a.cc, b.cc)
		case sortDate:
			r = a.sent.Compare(b.sent)
		case sortFrom:
			r = strings.Compare(a.from, b.from)
		case sortSize:
			r = cmp.Compare(ma.Size, mb.Size)
		case sortSubject:
			r = strings.Compare(a.subject, b.subject)
		case sortTo:
			r = strings.Compare(a.to, b.to)
		case sortDisplayFrom:
			r = strings.Compare(a.dispFrom, b.dispFrom)
		case sortDisplayTo:
			r = strings.Compare(a.dispTo, b.dispTo)
		}
		if cr.reverse {
			r = -r
		}
		if r != 0 {
			return r
		}
	}
	return cmp.Compare(ia, ib)
}

// needsHeader reports whether the criteria need the message header.
func needsHeader(crit []sortCriterion) bool {
	for _, cr := range crit {
		if cr.key != sortArrival && cr.key != sortSize {
			return true
		}
	}
	return false
}

func (c *conn) cmdSort(cmd *command) error {
	if err := c.checkUpdateTag(cmd); err != nil {
		return err
	}
	crit := cmd.sort.crit
	idx, infos, err := c.sortMatches(cmd, needsHeader(crit))
	if err != nil {
		return err
	}
	order := make([]int, len(idx))
	for i := range order {
		order[i] = i
	}
	msgs := c.sel.msgs
	slices.SortStableFunc(order, func(x, y int) int {
		return compareSort(crit, infos[x], infos[y], &msgs[idx[x]], &msgs[idx[y]], idx[x], idx[y])
	})
	nums := make([]uint32, len(order))
	for i, o := range order {
		if cmd.uid {
			nums[i] = uint32(msgs[idx[o]].UID)
		} else {
			nums[i] = uint32(idx[o] + 1)
		}
	}
	if c.saveResult(cmd, nums) {
		return nil
	}
	if cmd.esearch {
		c.startUpdate(cmd, nums, true)
		c.untagged(string(c.esearchResponse(cmd, nums)))
		return nil
	}
	b := []byte("SORT")
	for _, n := range nums {
		b = append(b, ' ')
		b = strconv.AppendUint(b, uint64(n), 10)
	}
	c.untagged(string(b))
	return nil
}

// esearchResponse is the ESEARCH response of SEARCH RETURN (RFC 4731) and
// of SORT RETURN (RFC 5267 section 3.2) for nums in the order found: MIN
// and MAX are the first and last message in that order (for SORT not the
// lowest and highest numbers), and ALL lists the messages in that order.
//
// PARTIAL (RFC 5267 section 4.4, RFC 9394) is the range of positions in
// that order, after ALL, MIN and MAX and before COUNT, as Dovecot sends it.
func (c *conn) esearchResponse(cmd *command, nums []uint32) []byte {
	ret := resultOptions(cmd)
	b := []byte("ESEARCH (TAG ")
	b = appendString(b, cmd.tag, false)
	b = append(b, ')')
	if cmd.uid {
		b = append(b, " UID"...)
	}
	if len(nums) > 0 {
		if slices.Contains(ret, "MIN") {
			b = append(b, " MIN "...)
			b = strconv.AppendUint(b, uint64(nums[0]), 10)
		}
		if slices.Contains(ret, "MAX") {
			b = append(b, " MAX "...)
			b = strconv.AppendUint(b, uint64(nums[len(nums)-1]), 10)
		}
		if slices.Contains(ret, "ALL") {
			b = append(b, " ALL "...)
			b = appendOrderedSet(b, nums)
		}
	}
	if cmd.partial != nil {
		b = appendPartial(b, *cmd.partial, nums)
	}
	if slices.Contains(ret, "COUNT") {
		b = append(b, " COUNT "...)
		b = strconv.AppendInt(b, int64(len(nums)), 10)
	}
	return b
}

// appendOrderedSet appends nums as a sequence set that keeps their order:
// only ascending runs of consecutive numbers become ranges.
func appendOrderedSet(b []byte, nums []uint32) []byte {
	for i := 0; i < len(nums); {
		j := i
		for j+1 < len(nums) && nums[j+1] == nums[j]+1 {
			j++
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, uint64(nums[i]), 10)
		if j > i {
			b = append(b, ':')
			b = strconv.AppendUint(b, uint64(nums[j]), 10)
		}
		i = j + 1
	}
	return b
}
