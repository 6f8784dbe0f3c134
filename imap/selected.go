package imap

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"
)

// selected is the session's view of the selected mailbox: the messages in
// sequence-number order as the client knows them (RFC 9051 section 2.3.1.2).
// Messages expunged by others stay in the view, marked gone, until an
// EXPUNGE response may be sent.
type selected struct {
	name     string
	mb       Mailbox
	readOnly bool
	msgs     []MessageInfo
	gone     []bool
	// version is the MailboxVersion the view holds every change of,
	// when versioned (version.go).
	version   uint64
	versioned bool
	validity  uint32
	// flags is the FLAGS list the client was given; newKeywords adds
	// \* to PERMANENTFLAGS.
	flags       []Flag
	newKeywords bool
	// recent holds the messages recent in this session (IMAP4rev1
	// only, see MailboxRecent).
	recent map[UID]bool
	// highest is the HIGHESTMODSEQ the view holds every change of, 0
	// for a mailbox without mod-sequences (condstore.go).
	highest uint64
	// sortCache holds the SORT and THREAD keys of the messages by UID.
	sortCache map[UID]*sortInfo
	// saved is the result of SEARCH RETURN (SAVE), "$" (RFC 5182).
	saved []UID
	// updates are the UPDATE contexts of SEARCH and SORT (context.go).
	updates []*searchUpdate
}

// claimRecent asks the mailbox which of msgs are recent for this session.
// It reports whether any is.
func (c *conn) claimRecent(msgs []MessageInfo) bool {
	mr, ok := c.sel.mb.(MailboxRecent)
	if !ok || c.rev2 || len(msgs) == 0 {
		return false
	}
	uids := make([]UID, len(msgs))
	for i, m := range msgs {
		uids[i] = m.UID
	}
	got := mr.ClaimRecent(c.ctx, uids)
	for _, u := range got {
		if c.sel.recent == nil {
			c.sel.recent = map[UID]bool{}
		}
		c.sel.recent[u] = true
	}
	return len(got) > 0
}

// withRecent returns the flags of m as the session sees them: with
// \Recent when m is recent in it.
func (s *selected) withRecent(m MessageInfo) []Flag {
	if len(s.recent) == 0 || !s.recent[m.UID] {
		return m.Flags
	}
	return append(m.Flags[:len(m.Flags):len(m.Flags)], FlagRecent)
}

func (s *selected) max() uint32 { return uint32(len(s.msgs)) }

func (s *selected) maxUID() UID {
	if len(s.msgs) == 0 {
		return 0
	}
	return s.msgs[len(s.msgs)-1].UID
}

// seqOf returns the sequence number of uid, or 0.
func (s *selected) seqOf(uid UID) uint32 {
	i, ok := slices.BinarySearchFunc(s.msgs, uid, func(m MessageInfo, u UID) int {
		return int(int64(m.UID) - int64(u))
	})
	if !ok {
		return 0
	}
	return uint32(i + 1)
}

// resolve returns the sequence numbers (ascending) that set names,
// interpreted as UIDs when uid is true.
func (s *selected) resolve(set SeqSet, uid bool) ([]uint32, error) {
	var out []uint32
	if len(set) == 0 {
		return nil, nil // an empty "$" (RFC 5182)
	}
	if !uid {
		max := s.max()
		if max == 0 {
			return nil, &Error{Type: StatusBad, Text: "Invalid sequence number: the mailbox is empty"}
		}
		for _, r := range set {
			if r.Start > max || r.Stop > max {
				return nil, &Error{Type: StatusBad, Text: "Invalid sequence number"}
			}
		}
		for n := uint32(1); n <= max; n++ {
			if set.Contains(n, max) {
				out = append(out, n)
			}
		}
		return out, nil
	}
	maxUID := uint32(s.maxUID())
	for i, m := range s.msgs {
		if set.Contains(uint32(m.UID), maxUID) {
			out = append(out, uint32(i+1))
		}
	}
	return out, nil
}

// mailboxIn converts a mailbox name from the wire to UTF-8.
func (c *conn) mailboxIn(name string) (string, error) {
	if c.utf8 || name == "INBOX" {
		return name, nil
	}
	if !isASCII(name) {
		// 8-bit names from a client that did not enable UTF-8: take
		// them as UTF-8, as they cannot be modified UTF-7.
		return name, nil
	}
	s, err := decodeUTF7(name)
	if err != nil {
		// A name, not a syntax error: NO, as Dovecot answers.
		return "", &Error{Type: StatusNo, Text: "Mailbox name is not valid modified UTF-7"}
	}
	return s, nil
}

// mailboxOut converts a UTF-8 mailbox name for the wire.
func (c *conn) mailboxOut(name string) string {
	if c.utf8 {
		return name
	}
	s, err := encodeUTF7(name)
	if err != nil {
		return name
	}
	return s
}

func (c *conn) cmdSelect(cmd *command) error {
	name, err := c.mailboxIn(cmd.mailbox)
	if err != nil {
		return err
	}
	if c.sel != nil {
		// Selecting deselects, without expunging (RFC 9051 section
		// 6.3.2); CLOSED tells the client when the old one ends.
		c.sel.mb.Close(c.ctx)
		c.sel = nil
		c.state = stateAuth
		c.untagged("OK [CLOSED] Previous mailbox closed")
	}
	readOnly := cmd.name == "EXAMINE"
	if err := c.selectCheck(cmd); err != nil {
		return err
	}
	mb, err := c.user.Select(c.ctx, name, readOnly)
	if err != nil {
		return err
	}
	st, err := mb.Status(c.ctx)
	if err != nil {
		mb.Close(c.ctx)
		return err
	}
	msgs, err := mb.Messages(c.ctx)
	if err != nil {
		mb.Close(c.ctx)
		return err
	}
	flags := []Flag{FlagAnswered, FlagFlagged, FlagDeleted, FlagSeen, FlagDraft}
	for _, k := range st.Keywords {
		if !hasFlag(flags, k) {
			flags = append(flags, k)
		}
	}
	for _, m := range msgs {
		for _, f := range m.Flags {
			if !hasFlag(flags, f) && f != FlagRecent {
				flags = append(flags, f)
			}
		}
	}
	// The view is changed in place (STORE, FETCH setting \Seen); what
	// Messages returned may be shared.
	msgs = slices.Clone(msgs)
	sel := &selected{name: name, mb: mb, readOnly: readOnly, msgs: msgs, gone: make([]bool, len(msgs)), validity: st.UIDValidity,
		flags: flags, newKeywords: st.NewKeywords}
	c.sel = sel
	c.state = stateSelected
	c.claimRecent(msgs)

	c.untagged(strconv.Itoa(len(msgs)) + " EXISTS")
	if !c.rev2 {
		c.untagged(strconv.Itoa(len(sel.recent)) + " RECENT")
		for i, m := range msgs {
			if !hasFlag(m.Flags, FlagSeen) {
				c.untagged("OK [UNSEEN " + strconv.Itoa(i+1) + "] First unseen message")
				break
			}
		}
	}
	c.untagged("OK [UIDVALIDITY " + strconv.FormatUint(uint64(st.UIDValidity), 10) + "] UIDs valid")
	c.untagged("OK [UIDNEXT " + strconv.FormatUint(uint64(st.UIDNext), 10) + "] Predicted next UID")
	c.untagged(string(appendFlags([]byte("FLAGS "), flags)))
	if readOnly {
		c.untagged("OK [PERMANENTFLAGS ()] Read-only mailbox")
		c.okCode = string(CodeReadOnly)
	} else {
		perm := flags
		if st.NewKeywords {
			perm = append(slices.Clone(flags), `\*`)
		}
		c.untagged(string(appendFlags([]byte("OK [PERMANENTFLAGS "), perm)) + "] Flags permitted")
		c.okCode = string(CodeReadWrite)
	}
	if err := c.selectCondResponses(cmd, st); err != nil {
		return err
	}
	if c.rev2 {
		// RFC 9051 section 6.3.2; an IMAP4rev1 client does not expect
		// it (imaplib would list the mailbox twice).
		c.untagged("LIST () \"/\" " + string(appendString(nil, c.mailboxOut(name), c.utf8)))
	}
	return nil
}

// announceFlags sends FLAGS, and PERMANENTFLAGS when the mailbox is
// writable, when flags holds a keyword the client has not been told of
// (RFC 9051 section 7.3.5), as Dovecot does, before the FETCH responses
// that show it.
func (c *conn) announceFlags(flags []Flag) {
	sel := c.sel
	added := false
	for _, f := range flags {
		if f == FlagRecent || f == `\*` || hasFlag(sel.flags, f) {
			continue
		}
		sel.flags = append(sel.flags, f)
		added = true
	}
	if !added {
		return
	}
	c.untagged(string(appendFlags([]byte("FLAGS "), sel.flags)))
	if !sel.readOnly {
		perm := sel.flags
		if sel.newKeywords {
			perm = append(slices.Clone(perm), `\*`)
		}
		c.untagged(string(appendFlags([]byte("OK [PERMANENTFLAGS "), perm)) + "] Flags permitted")
	}
}

func (c *conn) cmdClose(cmd *command) error {
	sel := c.sel
	var err error
	if cmd.name == "CLOSE" && !sel.readOnly {
		// CLOSE expunges silently (RFC 9051 section 6.4.1).
		_, err = sel.mb.Expunge(c.ctx, nil)
	}
	sel.mb.Close(c.ctx)
	c.sel = nil
	c.state = stateAuth
	return err
}

func (c *conn) cmdExpunge(cmd *command) error {
	sel := c.sel
	if sel.readOnly {
		return &Error{Type: StatusNo, Code: CodeReadOnly, Text: "Mailbox is read-only"}
	}
	var uids []UID
	if cmd.uid {
		seqs, err := sel.resolve(cmd.set, true)
		if err != nil {
			return err
		}
		uids = make([]UID, 0, len(seqs))
		for _, n := range seqs {
			uids = append(uids, sel.msgs[n-1].UID)
		}
		if len(uids) == 0 {
			return nil
		}
	}
	_, err := sel.mb.Expunge(c.ctx, uids)
	return err
}

// sync brings the session's view up to date with the mailbox and sends
// EXISTS, FETCH FLAGS and, when allowed, EXPUNGE responses.
func (c *conn) sync(expungeOK bool) error {
	sel := c.sel
	same, version, versioned := c.unchanged()
	if same {
		return nil
	}
	cur, err := sel.mb.Messages(c.ctx)
	if err != nil {
		return err
	}
	recentBefore := len(sel.recent)
	hold := c.holdModSeqs(cur, expungeOK)
	// Flag changes held back are still to be told, whatever the
	// mailbox does next.
	sel.version, sel.versioned = version, versioned && !hold
	var nmsgs []MessageInfo
	var ngone []bool
	var expunged []uint32
	var expungedUIDs []UID
	j := 0
	walk := sel.msgs
	if !hold && c.syncInPlace(cur) {
		// Nothing expunged: the view was brought up to date where it
		// is, and what follows adds the new messages.
		nmsgs, ngone, j, walk = sel.msgs, sel.gone, len(sel.msgs), nil
	} else {
		// Sized once: the new view is about as long as the old one
		// or the mailbox, and growing it by appends cost more than
		// the walk.
		n := max(len(sel.msgs), len(cur)) + 8
		nmsgs = make([]MessageInfo, 0, n)
		ngone = make([]bool, 0, n)
	}
	// Walk both lists, ordered by UID.
	for i, m := range walk {
		for j < len(cur) && cur[j].UID < m.UID {
			j++ // a UID below the view's: not possible in a sane store
		}
		if j < len(cur) && cur[j].UID == m.UID {
			if hold && !sel.gone[i] && cur[j].ModSeq != m.ModSeq {
				// Told later, after the expunges (qresync.go).
				nmsgs = append(nmsgs, m)
				ngone = append(ngone, false)
				j++
				continue
			}
			if !sel.gone[i] && (!sameFlags(cur[j].Flags, m.Flags) || c.cond.condstore && cur[j].ModSeq != m.ModSeq) {
				c.announceFlags(cur[j].Flags)
				// Numbered as the client knows the message now: the
				// EXPUNGE responses come after (RFC 9051 section
				// 7.5.1), as Dovecot sends them.
				c.untagged(string(c.appendFlagsFetch(nil, uint32(i+1), cur[j])))
			}
			nmsgs = append(nmsgs, cur[j])
			ngone = append(ngone, sel.gone[i])
			j++
			continue
		}
		if expungeOK {
			expunged = append(expunged, uint32(len(nmsgs)+1))
			expungedUIDs = append(expungedUIDs, m.UID)
			delete(sel.recent, m.UID)
			continue
		}
		nmsgs = append(nmsgs, m)
		ngone = append(ngone, true)
	}
	// Sequence numbers of EXPUNGE responses refer to the state after
	// the previous ones: lower numbers stay valid, so the list built in
	// ascending order of the new positions is already correct.
	c.contextsExpunged(expungedUIDs)
	c.reportExpunged(expunged, expungedUIDs)
	max := sel.maxUID()
	added := 0
	for ; j < len(cur); j++ {
		if cur[j].UID > max {
			c.announceFlags(cur[j].Flags)
			nmsgs = append(nmsgs, cur[j])
			ngone = append(ngone, false)
			added++
		}
	}
	if added > 0 {
		c.claimRecent(nmsgs[len(nmsgs)-added:])
		c.untagged(strconv.Itoa(len(nmsgs)) + " EXISTS")
	}
	if !c.rev2 && len(sel.recent) != recentBefore {
		// RFC 3501 section 7.3.2: when the count changed, as Dovecot
		// sends it (not with every EXISTS).
		c.untagged(strconv.Itoa(len(sel.recent)) + " RECENT")
	}
	sel.msgs, sel.gone = nmsgs, ngone
	c.contextsSync()
	return nil
}

// syncInPlace updates the view from cur, the mailbox now, when the view's
// messages are still the first ones of cur, in order: then only flags
// (and mod-sequences) changed, and they are told and written over the
// view's entries instead of building a new view. It reports whether it
// did; when not, the view is unchanged.
func (c *conn) syncInPlace(cur []MessageInfo) bool {
	sel := c.sel
	if len(cur) < len(sel.msgs) {
		return false
	}
	for i := range sel.msgs {
		if cur[i].UID != sel.msgs[i].UID || sel.gone[i] {
			return false
		}
	}
	for i := range sel.msgs {
		m, now := &sel.msgs[i], &cur[i]
		flagsSame := sameFlags(now.Flags, m.Flags)
		if flagsSame && now.ModSeq == m.ModSeq {
			continue
		}
		if !flagsSame || c.cond.condstore {
			c.announceFlags(now.Flags)
			c.untagged(string(c.appendFlagsFetch(nil, uint32(i+1), *now)))
		}
		*m = *now
	}
	return true
}

func (c *conn) appendFlagsFetch(b []byte, seq uint32, m MessageInfo) []byte {
	b = strconv.AppendUint(b, uint64(seq), 10)
	b = append(b, " FETCH (UID "...)
	b = strconv.AppendUint(b, uint64(m.UID), 10)
	b = append(b, " FLAGS "...)
	b = appendFlags(b, c.sel.withRecent(m))
	b = c.appendModSeq(b, m)
	return append(b, ')')
}

// cmdIdle waits for DONE while sending updates (RFC 2177, RFC 9051 section
// 6.3.13).
func (c *conn) cmdIdle(cmd *command) error {
	c.writeString("+ idling\r\n")
	if err := c.bw.Flush(); err != nil {
		return err
	}
	var updates <-chan struct{}
	if c.sel != nil && !c.notifyWatchesSelected() {
		updates = c.sel.mb.Updates()
	}
	type result struct {
		line string
		err  error
	}
	done := make(chan result, 1)
	c.nc.SetReadDeadline(time.Now().Add(orDur(c.srv.Autologout, DefaultAutologout)))
	c.idle.Store(true)
	defer c.idle.Store(false)
	if c.shuttingDown() {
		c.nc.SetReadDeadline(time.Unix(1, 0))
	}
	go func() {
		line, err := c.br.ReadString('\n')
		done <- result{line, err}
	}()
	// NOTIFY's goroutine may write while the connection idles.
	c.idling = true
	defer func() { c.idling = false }() // wmu is held again at every return
	c.wmu.Unlock()
	for {
		select {
		case r := <-done:
			c.wmu.Lock()
			if r.err != nil {
				if c.shuttingDown() {
					c.untagged("BYE Server shutting down")
					c.bye = true
					return errReplied
				}
				var ne interface{ Timeout() bool }
				if errors.As(r.err, &ne) && ne.Timeout() {
					c.untagged("BYE Autologout; idle for too long")
				}
				c.bye = true
				return errReplied
			}
			if !strings.EqualFold(strings.TrimRight(r.line, "\r\n"), "DONE") {
				return &Error{Type: StatusBad, Text: "Expected DONE"}
			}
			return nil
		case <-updates:
			c.wmu.Lock()
			if err := c.sync(true); err != nil {
				c.srv.logger().Error("imap: update during IDLE failed", "err", err)
			}
			if err := c.bw.Flush(); err != nil {
				return err
			}
			c.wmu.Unlock()
		case <-c.shut:
			c.nc.SetReadDeadline(time.Unix(1, 0))
			r := <-done
			_ = r
			c.wmu.Lock()
			c.untagged("BYE Server shutting down")
			c.bye = true
			return errReplied
		}
	}
}
