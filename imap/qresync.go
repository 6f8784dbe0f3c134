package imap

import (
	"slices"
	"strconv"
	"strings"
)

// This file holds QRESYNC (RFC 7162 section 3.2): SELECT (QRESYNC ...),
// VANISHED and VANISHED (EARLIER).

// qresyncArgs are the parameters of SELECT (QRESYNC (...)).
type qresyncArgs struct {
	validity uint32
	modseq   uint64
	known    SeqSet // known-uids; nil for every UID
	// seq-match-data, nil without it: sequence numbers and the UIDs the
	// client had at them.
	knownSeqs, knownSeqUIDs SeqSet
}

// selectParams reads the select-params list: CONDSTORE and
// QRESYNC (uidvalidity modseq [known-uids [seq-match-data]]).
func (d *decoder) selectParams(cmd *command) error {
	a := cmd.condArgs()
	return d.list(func() error {
		name, err := d.atom()
		if err != nil {
			return err
		}
		switch strings.ToUpper(name) {
		case "CONDSTORE":
			a.selCondstore = true
			return nil
		case "QRESYNC":
			if a.qresync != nil {
				return syntaxErr("QRESYNC given twice")
			}
			if err := d.sp(); err != nil {
				return err
			}
			q := &qresyncArgs{}
			a.qresync = q
			return d.qresyncParams(q)
		}
		return syntaxErr("Unknown SELECT parameter")
	})
}

func (d *decoder) qresyncParams(q *qresyncArgs) error {
	if err := d.expect('(', "'('"); err != nil {
		return err
	}
	var err error
	if q.validity, err = d.nzNumber(); err != nil {
		return err
	}
	if err := d.sp(); err != nil {
		return err
	}
	if q.modseq, err = d.modSeq(); err != nil {
		return err
	}
	c, err := d.readByte()
	if err != nil {
		return err
	}
	if c == ')' {
		return nil
	}
	if c != ' ' {
		return syntaxErr("Expected SP or ')'")
	}
	if c, _ := d.peek(); c != '(' {
		if q.known, err = d.seqSet(); err != nil {
			return err
		}
		if c, err = d.readByte(); err != nil {
			return err
		}
		if c == ')' {
			return nil
		}
		if c != ' ' {
			return syntaxErr("Expected SP or ')'")
		}
	}
	if err := d.expect('(', "'('"); err != nil {
		return err
	}
	if q.knownSeqs, err = d.seqSet(); err != nil {
		return err
	}
	if err := d.sp(); err != nil {
		return err
	}
	if q.knownSeqUIDs, err = d.seqSet(); err != nil {
		return err
	}
	if err := d.expect(')', "')'"); err != nil {
		return err
	}
	return d.expect(')', "')'")
}

// selectCheck refuses SELECT (QRESYNC) before ENABLE QRESYNC (RFC 7162
// section 3.2.5) and enables CONDSTORE for SELECT (CONDSTORE).
func (c *conn) selectCheck(cmd *command) error {
	a := cmd.cond
	if a == nil {
		return nil
	}
	if a.qresync != nil && !c.cond.qresync {
		return &Error{Type: StatusBad, Text: "QRESYNC is not enabled"}
	}
	if a.selCondstore {
		c.cond.condstore = true
	}
	return nil
}

// selectCondResponses sends what CONDSTORE and QRESYNC add to the SELECT
// response: HIGHESTMODSEQ or NOMODSEQ and, for QRESYNC with the current
// UIDVALIDITY, VANISHED (EARLIER) and the FETCH responses of the
// messages changed since the client's mod-sequence.
func (c *conn) selectCondResponses(cmd *command, st MailboxStatus) error {
	sel := c.sel
	sel.highest = st.HighestModSeq
	if !c.cond.condstore {
		return nil
	}
	c.untagged(c.highestModSeqLine())
	if cmd.cond == nil || cmd.cond.qresync == nil || sel.highest == 0 {
		return nil
	}
	q := cmd.cond.qresync
	if q.validity != sel.validity {
		return nil
	}
	known := q.known
	if known == nil {
		known = SeqSet{{Start: 1, Stop: 0}}
	}
	if err := c.vanishedEarlier(known, q.modseq); err != nil {
		return err
	}
	maxUID := uint32(sel.maxUID())
	for i, m := range sel.msgs {
		if m.ModSeq <= q.modseq || !known.Contains(uint32(m.UID), maxUID) {
			continue
		}
		c.untagged(string(c.appendFlagsFetch(nil, uint32(i+1), m)))
	}
	return nil
}

// vanishedEarlier sends VANISHED (EARLIER) for the UIDs of set expunged
// since modseq (RFC 7162 sections 3.2.5.1 and 3.2.6). When the mailbox
// does not remember every expunge since then, it names every UID of set
// below UIDNEXT that no message has.
func (c *conn) vanishedEarlier(set SeqSet, modseq uint64) error {
	sel := c.sel
	var uids []UID
	complete := false
	if ms, ok := sel.mb.(MailboxModSeqs); ok {
		var err error
		uids, complete, err = ms.ExpungedSince(c.ctx, modseq)
		if err != nil {
			return err
		}
	}
	if complete {
		// UIDs of set only; '*' is the largest UID expunged or held.
		max := uint32(sel.maxUID())
		if len(uids) > 0 && uint32(uids[len(uids)-1]) > max {
			max = uint32(uids[len(uids)-1])
		}
		uids = slices.DeleteFunc(uids, func(u UID) bool { return !set.Contains(uint32(u), max) })
		// A message still in the view was not expunged (a UID the
		// mailbox reused cannot be: UIDs only grow).
		uids = slices.DeleteFunc(uids, func(u UID) bool { return sel.seqOf(u) != 0 && !sel.gone[sel.seqOf(u)-1] })
	} else {
		st, err := sel.mb.Status(c.ctx)
		if err != nil {
			return err
		}
		if st.UIDNext > 1 {
			if set := missingUIDs(sel, set, uint32(st.UIDNext)-1); set != "" {
				c.untagged("VANISHED (EARLIER) " + set)
			}
		}
		return nil
	}
	if len(uids) > 0 {
		c.untagged("VANISHED (EARLIER) " + uidSetString(uids))
	}
	return nil
}

// missingUIDs returns, as a UID set, the UIDs of set up to last that no
// message of the view has (or that are gone from it). It walks the view
// once a range and writes holes as ranges, so that its time and the
// response are bounded by the view and the set, not by the UIDs.
func missingUIDs(sel *selected, set SeqSet, last uint32) string {
	type span struct{ lo, hi uint32 }
	var holes []span
	for _, r := range set {
		lo, hi := r.Start, r.Stop
		if lo == 0 {
			lo = last
		}
		if hi == 0 {
			hi = last
		}
		if lo > hi {
			lo, hi = hi, lo
		}
		hi = min(hi, last)
		i, _ := slices.BinarySearchFunc(sel.msgs, UID(lo), func(m MessageInfo, u UID) int {
			return int(int64(m.UID) - int64(u))
		})
		next := uint64(lo) // the lowest UID not yet placed
		for ; i < len(sel.msgs) && uint64(sel.msgs[i].UID) <= uint64(hi); i++ {
			if sel.gone[i] {
				continue
			}
			if u := uint64(sel.msgs[i].UID); u > next {
				holes = append(holes, span{uint32(next), uint32(u - 1)})
			}
			next = uint64(sel.msgs[i].UID) + 1
		}
		if next <= uint64(hi) {
			holes = append(holes, span{uint32(next), hi})
		}
	}
	// Sorted and merged, as ranges of the set may overlap.
	slices.SortFunc(holes, func(a, b span) int { return int(int64(a.lo) - int64(b.lo)) })
	var b strings.Builder
	for k := 0; k < len(holes); {
		h := holes[k]
		for k++; k < len(holes) && uint64(holes[k].lo) <= uint64(h.hi)+1; k++ {
			h.hi = max(h.hi, holes[k].hi)
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(uint64(h.lo), 10))
		if h.hi > h.lo {
			b.WriteByte(':')
			b.WriteString(strconv.FormatUint(uint64(h.hi), 10))
		}
	}
	return b.String()
}

// reportExpunged sends the expunges of a sync: VANISHED with the UIDs once
// QRESYNC is enabled (RFC 7162 section 3.2.10), EXPUNGE with the sequence
// numbers otherwise.
func (c *conn) reportExpunged(seqs []uint32, uids []UID) {
	if len(seqs) == 0 {
		return
	}
	if c.cond.qresync {
		slices.Sort(uids)
		c.untagged("VANISHED " + uidSetString(uids))
		c.cond.vanished = true
		return
	}
	for _, n := range seqs {
		c.untagged(strconv.FormatUint(uint64(n), 10) + " EXPUNGE")
	}
}

// holdModSeqs reports whether a sync that may not announce expunges (in
// FETCH, STORE or SEARCH) must hold back the flag changes too: once
// QRESYNC is enabled, a FETCH with a MODSEQ above that of an expunge the
// client has not been told of would let it resynchronize past the expunge
// after a lost connection (RFC 7162 section 3.2).
func (c *conn) holdModSeqs(cur []MessageInfo, expungeOK bool) bool {
	sel := c.sel
	if expungeOK || !c.cond.qresync || sel.highest == 0 {
		return false
	}
	if len(cur) < len(sel.msgs) {
		return true
	}
	j := 0
	for i, m := range sel.msgs {
		for j < len(cur) && cur[j].UID < m.UID {
			j++
		}
		if j >= len(cur) || cur[j].UID != m.UID || sel.gone[i] {
			return true
		}
	}
	return false
}

// afterSync notes the mailbox's highest mod-sequence once the view holds
// every change up to it, and gives it in the tagged OK of EXPUNGE and of
// any command that sent VANISHED once QRESYNC is enabled, as Dovecot
// does, so that a client knows how far it is in sync.
func (c *conn) afterSync(cmd *command, before uint64) {
	sel := c.sel
	vanished := c.cond.vanished
	c.cond.vanished = false
	if sel == nil || before == 0 || slices.Contains(sel.gone, true) {
		return
	}
	if before > sel.highest {
		sel.highest = before
	}
	if c.cond.qresync && (cmd.name == "EXPUNGE" || vanished) && c.okCode == "" {
		c.okCode = "HIGHESTMODSEQ " + strconv.FormatUint(sel.highest, 10)
	}
}
