package imap

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267) and PARTIAL (RFC 9394).
//
// SEARCH and SORT RETURN (UPDATE) keep the result as an update context
// of the selected mailbox, named by the command's tag: after every
// command and during IDLE, when the view changes, the server sends
// ESEARCH (TAG "t") REMOVEFROM and ADDTO responses for the messages that
// leave or join the result. RETURN (PARTIAL low:high) returns a range of
// the result's positions; RETURN (CONTEXT) is a hint and changes nothing.

// DefaultMaxSearchUpdates is how many UPDATE contexts a session keeps when
// Server.MaxSearchUpdates is zero, as many as Dovecot keeps.
const DefaultMaxSearchUpdates = 10

// partialRange is the range of RETURN (PARTIAL) or of the FETCH modifier
// PARTIAL: positions from first to last (first <= last), counted from
// 1 at the start of the result, or from -1 at its end when negative
// (RFC 9394 section 3.1: -1:-100 is the last hundred).
type partialRange struct {
	first, last int64
}

// parsePartialRange parses partial-range (RFC 9394 section 5):
// nz-number ":" nz-number or "-" nz-number ":" "-" nz-number, in either
// order, each number at most 2^32-1. RFC 5267's form is the first.
func parsePartialRange(s string) (partialRange, error) {
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return partialRange{}, syntaxErr("PARTIAL range is not low:high")
	}
	x, errA := parseRangeEnd(a)
	y, errB := parseRangeEnd(b)
	if errA != nil || errB != nil {
		return partialRange{}, syntaxErr("PARTIAL range broken")
	}
	if (x < 0) != (y < 0) {
		return partialRange{}, syntaxErr("PARTIAL range mixes positive and negative ends")
	}
	if x < 0 {
		// -1 is the last: keep first nearer the end, as -1:-100.
		x, y = -x, -y
		if x > y {
			x, y = y, x
		}
		return partialRange{-x, -y}, nil
	}
	if x > y {
		x, y = y, x
	}
	return partialRange{x, y}, nil
}

// parseRangeEnd parses ["-"] nz-number up to 2^32-1.
func parseRangeEnd(s string) (int64, error) {
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	if s == "" || len(s) > 10 || s[0] == '0' {
		return 0, ErrSyntax
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, ErrSyntax
	}
	if neg {
		return -int64(n), nil
	}
	return int64(n), nil
}

// String formats the range as the client may send it.
func (r partialRange) String() string {
	return strconv.FormatInt(r.first, 10) + ":" + strconv.FormatInt(r.last, 10)
}

// pick returns the part of nums that the range names, in the order of
// nums.
func (r partialRange) pick(nums []uint32) []uint32 {
	n := int64(len(nums))
	var lo, hi int64 // indexes, hi exclusive
	if r.first > 0 {
		lo, hi = r.first-1, r.last
	} else {
		// -1 is index n-1; -last is the lowest.
		lo, hi = n+r.last, n+r.first+1
	}
	lo, hi = max(lo, 0), min(hi, n)
	if lo >= hi {
		return nil
	}
	return nums[lo:hi]
}

// appendPartial appends the PARTIAL result data (RFC 9394 section 3.1):
// the range and the numbers in it, NIL when none.
func appendPartial(b []byte, r partialRange, nums []uint32) []byte {
	b = append(b, " PARTIAL ("...)
	b = append(b, r.String()...)
	b = append(b, ' ')
	if got := r.pick(nums); len(got) > 0 {
		b = appendOrderedSet(b, got)
	} else {
		b = append(b, "NIL"...)
	}
	return append(b, ')')
}

// fetchPartial reads the range of the FETCH modifier PARTIAL (RFC 9394
// section 3.2), which FETCH applies to the messages it would send, in
// ascending order, after CHANGEDSINCE.
func (d *decoder) fetchPartial(cmd *command) error {
	if cmd.partial != nil {
		return syntaxErr("PARTIAL given twice")
	}
	if err := d.sp(); err != nil {
		return err
	}
	s, err := d.atom()
	if err != nil {
		return err
	}
	r, err := parsePartialRange(s)
	if err != nil {
		return err
	}
	cmd.partial = &r
	return nil
}

// resultOptions returns the RETURN options that ask for result data:
// those given without CONTEXT, a hint, and ALL when none is left (RFC
// 4731 section 3.1: RETURN () is ALL). UPDATE counts as one, as for
// Dovecot: RETURN (UPDATE) answers with no result data, only updates.
func resultOptions(cmd *command) []string {
	var out []string
	for _, o := range cmd.searchRet {
		if o != "CONTEXT" {
			out = append(out, o)
		}
	}
	if len(out) == 0 {
		out = []string{"ALL"}
	}
	return out
}

// cancelUpdateArgs reads the tags of CANCELUPDATE (RFC 5267 section 4.3):
// one or more strings.
func (d *decoder) cancelUpdateArgs(cmd *command) error {
	for {
		if err := d.sp(); err != nil {
			return err
		}
		if err := d.countItem(); err != nil {
			return err
		}
		t, err := d.string()
		if err != nil {
			return err
		}
		cmd.tags = append(cmd.tags, t)
		if c, _ := d.peek(); c != ' ' {
			return nil
		}
	}
}

// searchUpdate is an UPDATE context: the result of a SEARCH or SORT kept
// up to date for the client.
type searchUpdate struct {
	tag  string
	uid  bool
	key  *searchKey       // the criteria, sequence numbers turned into UIDs
	crit []sortCriterion  // SORT criteria; nil for SEARCH
	keys map[UID]sortKeys // SORT: the keys of each member
	// result holds the members: ascending UIDs for SEARCH, in sort
	// order for SORT.
	result []UID
	// seen holds every message of the view as last evaluated,
	// ascending by UID.
	seen []seenMsg
}

// sortKeys are what compareSort needs of a member.
type sortKeys struct {
	info *sortInfo
	date time.Time
	size int64
}

// seenMsg is a message as an update context last evaluated it: a
// signature of what a change may alter (flags, \Recent, mod-sequence)
// and whether it matched.
type seenMsg struct {
	uid UID
	sig uint64
	in  bool
}

// msgSignature hashes the state of a message that can change after it
// arrived; the flags in any order (FNV-1a of each, combined by XOR).
func (s *selected) msgSignature(m *MessageInfo) uint64 {
	var x uint64
	for _, f := range m.Flags {
		h := uint64(14695981039346656037)
		for i := 0; i < len(f); i++ {
			c := f[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			h = (h ^ uint64(c)) * 1099511628211
		}
		x ^= h
	}
	x = x*31 + m.ModSeq
	if s.recent[m.UID] {
		x = x*31 + 1
	}
	return x
}

// freezeSeqKeys returns a copy of k in which every sequence set is the set
// of UIDs it named in the view now: an update context follows the
// messages, not their numbers, which expunges change.
func (s *selected) freezeSeqKeys(k *searchKey) *searchKey {
	c := *k
	if k.op == "SEQ" {
		var uids []UID
		for i := range s.msgs {
			if k.set.Contains(uint32(i+1), s.max()) {
				uids = append(uids, s.msgs[i].UID)
			}
		}
		c.op = "UID"
		c.set = uidSeqSet(uids)
		if len(c.set) == 0 {
			// No message: a set naming no UID that can exist.
			c.op = "NOT"
			c.sub = []*searchKey{{op: "ALL"}}
		}
		return &c
	}
	c.sub = make([]*searchKey, len(k.sub))
	for i, sk := range k.sub {
		c.sub[i] = s.freezeSeqKeys(sk)
	}
	return &c
}

// uidSeqSet turns ascending UIDs into a sequence set of ranges.
func uidSeqSet(uids []UID) SeqSet {
	var set SeqSet
	for i := 0; i < len(uids); {
		j := i
		for j+1 < len(uids) && uids[j+1] == uids[j]+1 {
			j++
		}
		set = append(set, SeqRange{uint32(uids[i]), uint32(uids[j])})
		i = j + 1
	}
	return set
}

// startUpdate keeps the result of cmd, a SEARCH or SORT with RETURN
// (UPDATE), as an update context. nums are the result as sent (sequence
// numbers, or UIDs for a UID command), in its order. When the session
// has as many contexts as allowed it sends NO [NOUPDATE "tag"] (RFC 5267
// section 4.3) and keeps none: the command itself succeeds.
func (c *conn) startUpdate(cmd *command, nums []uint32, sorted bool) {
	if !slices.Contains(cmd.searchRet, "UPDATE") {
		return
	}
	sel := c.sel
	if len(sel.updates) >= orInt(c.srv.MaxSearchUpdates, DefaultMaxSearchUpdates) {
		c.untagged(string(appendString([]byte("NO [NOUPDATE "), cmd.tag, false)) + "] Too many search update contexts")
		return
	}
	u := &searchUpdate{tag: cmd.tag, uid: cmd.uid, key: sel.freezeSeqKeys(cmd.search)}
	if sorted {
		u.crit = cmd.sort.crit
		u.keys = map[UID]sortKeys{}
	}
	in := make(map[UID]bool, len(nums))
	for _, n := range nums {
		uid := UID(n)
		if !cmd.uid {
			uid = sel.msgs[n-1].UID
		}
		in[uid] = true
		u.result = append(u.result, uid)
	}
	u.seen = make([]seenMsg, len(sel.msgs))
	for i := range sel.msgs {
		m := &sel.msgs[i]
		u.seen[i] = seenMsg{uid: m.UID, sig: sel.msgSignature(m), in: in[m.UID]}
		if sorted && in[m.UID] {
			u.keys[m.UID] = sortKeys{info: sel.sortCache[m.UID], date: m.InternalDate, size: m.Size}
		}
	}
	sel.updates = append(sel.updates, u)
}

// checkUpdateTag refuses RETURN (UPDATE) with the tag of a context the
// session keeps, as Dovecot does: its updates could not be told apart.
func (c *conn) checkUpdateTag(cmd *command) error {
	if !slices.Contains(cmd.searchRet, "UPDATE") {
		return nil
	}
	if slices.ContainsFunc(c.sel.updates, func(u *searchUpdate) bool { return u.tag == cmd.tag }) {
		return &Error{Type: StatusBad, Text: "Duplicate search update tag"}
	}
	return nil
}

// cmdCancelUpdate ends the update contexts of the tags (RFC 5267 section
// 4.3). A tag that names none is NO, as Dovecot answers, and cancels
// nothing.
func (c *conn) cmdCancelUpdate(cmd *command) error {
	sel := c.sel
	for _, t := range cmd.tags {
		if !slices.ContainsFunc(sel.updates, func(u *searchUpdate) bool { return u.tag == t }) {
			return &Error{Type: StatusNo, Text: "Unknown search update context"}
		}
	}
	sel.updates = slices.DeleteFunc(sel.updates, func(u *searchUpdate) bool { return slices.Contains(cmd.tags, u.tag) })
	return nil
}

// contextsExpunged sends, before the EXPUNGE or VANISHED responses of a
// sync, ESEARCH REMOVEFROM for the members of each update context that
// are expunged (RFC 5267 section 4.3), numbered as the client knows them
// until those responses: the sequence numbers before the expunges, or
// the UIDs. uids are the expunged UIDs; the view is still the old one.
func (c *conn) contextsExpunged(uids []UID) {
	sel := c.sel
	if len(sel.updates) == 0 || len(uids) == 0 {
		return
	}
	gone := make(map[UID]bool, len(uids))
	for _, u := range uids {
		gone[u] = true
	}
	for _, u := range sel.updates {
		rem := c.removeMembers(u, gone)
		u.seen = slices.DeleteFunc(u.seen, func(s seenMsg) bool { return gone[s.uid] })
		if len(rem) > 0 {
			c.untagged(string(u.appendUpdate(nil, rem, nil)))
		}
	}
}

// removeMembers takes the members in out from the result of u and
// returns their removals: numbered for the client now, each at its
// position once the ones before are gone.
func (c *conn) removeMembers(u *searchUpdate, out map[UID]bool) []removal {
	var rem []removal
	kept := u.result[:0:0]
	for _, m := range u.result {
		if out[m] {
			rem = append(rem, removal{pos: len(kept) + 1, num: c.contextNum(u, m)})
			delete(u.keys, m)
			continue
		}
		kept = append(kept, m)
	}
	u.result = kept
	return rem
}

// removal and addition are one change of a result: the message's number
// (sequence number or UID) and its position in the result, from 1, as
// the client applies the changes in order.
type removal struct {
	pos int
	num uint32
}

type addition = removal

// contextNum is the number of uid for the client: its UID in a UID
// context, else its sequence number in the view.
func (c *conn) contextNum(u *searchUpdate, uid UID) uint32 {
	if u.uid {
		return uint32(uid)
	}
	return c.sel.seqOf(uid)
}

// contextsSync brings every update context up to date with the view
// after a sync, evaluating again only the messages that are new or whose
// flags, \Recent or mod-sequence changed, and sends ESEARCH REMOVEFROM
// and ADDTO, after the EXISTS and FETCH responses that told the client
// of the changes. A message expunged but not yet announced keeps its
// place.
func (c *conn) contextsSync() {
	sel := c.sel
	if sel == nil || len(sel.updates) == 0 {
		return
	}
	c.searchNow = time.Now()
	maxUID := uint32(sel.maxUID())
	sigs := make([]uint64, len(sel.msgs))
	for i := range sel.msgs {
		sigs[i] = sel.msgSignature(&sel.msgs[i])
	}
	for _, u := range sel.updates {
		var joined, left []UID
		seen := make([]seenMsg, 0, len(sel.msgs))
		j := 0
		for i := range sel.msgs {
			m := &sel.msgs[i]
			for j < len(u.seen) && u.seen[j].uid < m.UID {
				// Gone from the view without contextsExpunged, which
				// every announced expunge passes: nothing to number.
				u.drop(u.seen[j].uid)
				j++
			}
			var prev *seenMsg
			if j < len(u.seen) && u.seen[j].uid == m.UID {
				prev = &u.seen[j]
				j++
			}
			sig := sigs[i]
			if prev != nil && (prev.sig == sig || sel.gone[i]) {
				seen = append(seen, *prev)
				continue
			}
			in, ok := c.evalUpdate(u, m, uint32(i+1), maxUID)
			if !ok {
				// Not evaluated (a read failed): tried again after the
				// next change.
				if prev != nil {
					seen = append(seen, seenMsg{uid: m.UID, sig: prev.sig ^ 1, in: prev.in})
				} else {
					seen = append(seen, seenMsg{uid: m.UID, sig: sig ^ 1})
				}
				continue
			}
			was := prev != nil && prev.in
			switch {
			case in && !was:
				joined = append(joined, m.UID)
			case !in && was:
				left = append(left, m.UID)
			}
			seen = append(seen, seenMsg{uid: m.UID, sig: sig, in: in})
		}
		for ; j < len(u.seen); j++ {
			u.drop(u.seen[j].uid)
		}
		u.seen = seen
		if len(joined) == 0 && len(left) == 0 {
			continue
		}
		c.untagged(string(c.applyUpdate(u, joined, left)))
	}
}

// drop removes uid from the result without telling the client.
func (u *searchUpdate) drop(uid UID) {
	u.result = slices.DeleteFunc(u.result, func(m UID) bool { return m == uid })
	delete(u.keys, uid)
}

// evalUpdate evaluates the criteria of u for one message of the view; ok
// is false when its content could not be read.
func (c *conn) evalUpdate(u *searchUpdate, info *MessageInfo, seq, maxUID uint32) (in, ok bool) {
	m := &fetchMsg{c: c, info: *info}
	defer m.close()
	match, err := c.matchKey(u.key, seq, maxUID, m)
	if err != nil {
		if isNoSuchMessage(err) {
			return false, true
		}
		c.srv.logger().Error("imap: evaluating a search update context failed", "err", err)
		return false, false
	}
	if match && u.keys != nil {
		si, err := c.sortInfoOf(m)
		if err != nil {
			if !isNoSuchMessage(err) {
				c.srv.logger().Error("imap: reading sort keys for a search update context failed", "err", err)
				return false, false
			}
			return false, true
		}
		u.keys[info.UID] = sortKeys{info: si, date: info.InternalDate, size: info.Size}
	}
	return match, true
}

// applyUpdate changes the result of u and returns the ESEARCH response
// telling it. For SEARCH the position is 0 (the result has no order but
// the numbers'), as Dovecot sends it; for SORT the removals come in the
// order of the old result, each at its position once those before are
// gone, then the additions at their positions in the new result,
// ascending, so that a client applying them in order builds the new
// result (RFC 5267 section 4.3).
func (c *conn) applyUpdate(u *searchUpdate, joined, left []UID) []byte {
	out := make(map[UID]bool, len(left))
	for _, m := range left {
		out[m] = true
	}
	rem := c.removeMembers(u, out)
	kept := u.result
	var add []addition
	if u.keys == nil {
		u.result = append(kept, joined...)
		slices.Sort(u.result)
		for _, m := range joined {
			add = append(add, addition{num: c.contextNum(u, m)})
		}
		for i := range rem {
			rem[i].pos = 0
		}
		return u.appendUpdate(nil, rem, add)
	}
	isNew := make(map[UID]bool, len(joined))
	for _, m := range joined {
		isNew[m] = true
	}
	res := append(kept, joined...)
	slices.SortStableFunc(res, func(a, b UID) int {
		ka, kb := u.keys[a], u.keys[b]
		ma := MessageInfo{UID: a, InternalDate: ka.date, Size: ka.size}
		mb := MessageInfo{UID: b, InternalDate: kb.date, Size: kb.size}
		return compareSort(u.crit, orEmptyInfo(ka.info), orEmptyInfo(kb.info), &ma, &mb, int(a), int(b))
	})
	u.result = res
	for i, m := range res {
		if isNew[m] {
			add = append(add, addition{pos: i + 1, num: c.contextNum(u, m)})
		}
	}
	return u.appendUpdate(nil, rem, add)
}

func orEmptyInfo(si *sortInfo) *sortInfo {
	if si == nil {
		return &sortInfo{}
	}
	return si
}

// appendUpdate appends an ESEARCH response with REMOVEFROM and ADDTO (RFC
// 5267 section 4.3). Without positions (SEARCH) each is one position 0
// and a set; with positions (SORT) each change is its own pair, an
// addition range only where numbers follow each other at positions that
// do.
func (u *searchUpdate) appendUpdate(b []byte, rem, add []removal) []byte {
	b = append(b, "ESEARCH (TAG "...)
	b = appendString(b, u.tag, false)
	b = append(b, ')')
	if u.uid {
		b = append(b, " UID"...)
	}
	if len(rem) > 0 {
		b = appendChanges(append(b, " REMOVEFROM ("...), rem, u.keys == nil, false)
		b = append(b, ')')
	}
	if len(add) > 0 {
		b = appendChanges(append(b, " ADDTO ("...), add, u.keys == nil, true)
		b = append(b, ')')
	}
	return b
}

func appendChanges(b []byte, ch []removal, unsorted, adding bool) []byte {
	if unsorted {
		nums := make([]uint32, len(ch))
		for i, x := range ch {
			nums[i] = x.num
		}
		slices.Sort(nums)
		b = append(b, "0 "...)
		return appendOrderedSet(b, nums)
	}
	for i := 0; i < len(ch); {
		// An addition run: numbers n, n+1, ... at positions p, p+1,
		// ...; removals each on their own.
		j := i
		for adding && j+1 < len(ch) && ch[j+1].num == ch[j].num+1 && ch[j+1].pos == ch[j].pos+1 {
			j++
		}
		if i > 0 {
			b = append(b, ' ')
		}
		b = strconv.AppendInt(b, int64(ch[i].pos), 10)
		b = append(b, ' ')
		b = strconv.AppendUint(b, uint64(ch[i].num), 10)
		if j > i {
			b = append(b, ':')
			b = strconv.AppendUint(b, uint64(ch[j].num), 10)
		}
		i = j + 1
	}
	return b
}
