package imap

import (
	"context"
	"slices"
	"strconv"
	"strings"
)

// This file holds CONDSTORE (RFC 7162 section 3.1): mod-sequences in
// SELECT, STATUS, FETCH, STORE and SEARCH. QRESYNC is in qresync.go.

// MailboxModSeqs is implemented by a Mailbox that keeps persistent
// mod-sequences (RFC 7162): every change of a message's flags and every
// expunge takes a mod-sequence above all the mailbox handed out before,
// restarts included. Such a mailbox reports a non-zero
// MailboxStatus.HighestModSeq and MessageInfo.ModSeq; without them
// SELECT answers NOMODSEQ.
type MailboxModSeqs interface {
	// HighestModSeq returns the mailbox's highest mod-sequence now. The
	// server asks it before Messages, so that the value it tells a
	// client never covers a change the client has not seen.
	HighestModSeq(ctx context.Context) (uint64, error)
	// ExpungedSince returns, ascending, the UIDs of the messages expunged
	// with a mod-sequence above modseq. complete is false when the
	// mailbox no longer remembers every such expunge: the server then
	// reports every UID that does not exist (RFC 7162 section 3.2.5.2
	// allows more VANISHED UIDs than needed).
	ExpungedSince(ctx context.Context, modseq uint64) (uids []UID, complete bool, err error)
}

// MailboxStoreUnchanged is implemented by a Mailbox that applies STORE
// (UNCHANGEDSINCE) atomically: it changes only the messages whose
// mod-sequence is at most unchangedSince at the moment of the store, and
// returns the others. Without it the server checks the mod-sequences from
// Messages just before calling Store, which a concurrent change by
// another session can slip between.
type MailboxStoreUnchanged interface {
	StoreUnchanged(ctx context.Context, uids []UID, unchangedSince uint64, op StoreOp, flags []Flag) (modified []UID, err error)
}

// condState is what a session enabled.
type condState struct {
	condstore bool // CONDSTORE enabled, by ENABLE or a command using it
	qresync   bool // QRESYNC enabled (implies condstore)
	vanished  bool // the command sent VANISHED
}

// condArgs are the CONDSTORE and QRESYNC parameters of a command.
type condArgs struct {
	// SELECT, EXAMINE
	selCondstore bool
	qresync      *qresyncArgs
	// FETCH
	changedSince    uint64
	hasChangedSince bool
	vanished        bool
	// STORE
	unchangedSince    uint64
	hasUnchangedSince bool
}

// errNoModSeq refuses a command that needs mod-sequences in a mailbox
// without them (NOMODSEQ), as RFC 7162 section 3.1.2 has the server do.
var errNoModSeq = &Error{Type: StatusBad, Text: "The mailbox has no mod-sequences (NOMODSEQ)"}

// maxModSeq is the largest mod-sequence (RFC 7162: 63 bits).
const maxModSeq = 1<<63 - 1

// modSeq reads a mod-sequence-value (or mod-sequence-valzer: zero is
// accepted everywhere, as Dovecot accepts it).
func (d *decoder) modSeq() (uint64, error) {
	return d.digits(maxModSeq, "mod-sequence", "Mod-sequence too large")
}

func (cmd *command) condArgs() *condArgs {
	if cmd.cond == nil {
		cmd.cond = &condArgs{}
	}
	return cmd.cond
}

// fetchModifiers reads the optional FETCH modifiers after the items:
// (CHANGEDSINCE n [VANISHED]) (RFC 7162 sections 3.1.4.1 and 3.2.6).
func (d *decoder) fetchModifiers(cmd *command) error {
	if c, _ := d.peek(); c != ' ' {
		return nil
	}
	d.readByte()
	a := cmd.condArgs()
	err := d.list(func() error {
		name, err := d.atom()
		if err != nil {
			return err
		}
		switch strings.ToUpper(name) {
		case "CHANGEDSINCE":
			if a.hasChangedSince {
				return syntaxErr("CHANGEDSINCE given twice")
			}
			if err := d.sp(); err != nil {
				return err
			}
			a.changedSince, err = d.modSeq()
			a.hasChangedSince = true
			return err
		case "VANISHED":
			a.vanished = true
			return nil
		case "PARTIAL":
			return d.fetchPartial(cmd)
		}
		return syntaxErr("Unknown FETCH modifier")
	})
	if err != nil {
		return err
	}
	if a.vanished && !a.hasChangedSince {
		return syntaxErr("VANISHED needs CHANGEDSINCE")
	}
	if a.vanished && !cmd.uid {
		return syntaxErr("VANISHED is for UID FETCH only")
	}
	return nil
}

// storeModifiers reads the optional STORE modifiers before the flags:
// (UNCHANGEDSINCE n) (RFC 7162 section 3.1.3).
func (d *decoder) storeModifiers(cmd *command) error {
	if c, _ := d.peek(); c != '(' {
		return nil
	}
	a := cmd.condArgs()
	err := d.list(func() error {
		name, err := d.atom()
		if err != nil {
			return err
		}
		if !strings.EqualFold(name, "UNCHANGEDSINCE") || a.hasUnchangedSince {
			return syntaxErr("Unknown STORE modifier")
		}
		if err := d.sp(); err != nil {
			return err
		}
		a.unchangedSince, err = d.modSeq()
		a.hasUnchangedSince = true
		return err
	})
	if err != nil {
		return err
	}
	return d.sp()
}

// searchModSeq reads the arguments of the MODSEQ search key (RFC 7162
// section 3.1.5): an optional entry name and type, then the
// mod-sequence. Herald keeps one mod-sequence per message, so the entry
// is checked and then ignored, as the RFC allows.
func (d *decoder) searchModSeq(k *searchKey) error {
	if err := d.sp(); err != nil {
		return err
	}
	if c, _ := d.peek(); c == '"' {
		name, err := d.quoted()
		if err != nil {
			return err
		}
		if !strings.HasPrefix(strings.ToLower(name), "/flags/") || len(name) == len("/flags/") {
			return syntaxErr("MODSEQ entry name must be /flags/ and a flag")
		}
		if err := d.sp(); err != nil {
			return err
		}
		typ, err := d.atom()
		if err != nil {
			return err
		}
		switch strings.ToLower(typ) {
		case "priv", "shared", "all":
		default:
			return syntaxErr("MODSEQ entry type must be priv, shared or all")
		}
		k.field = name
		if err := d.sp(); err != nil {
			return err
		}
	}
	n, err := d.modSeq()
	k.n = int64(n)
	return err
}

// enableCondstore turns CONDSTORE on. A command that enables it in the
// selected state is preceded by the mailbox's HIGHESTMODSEQ (or NOMODSEQ)
// as an untagged OK, as it would have been in the SELECT response.
func (c *conn) enableCondstore() {
	if c.cond.condstore {
		return
	}
	c.cond.condstore = true
	if c.sel != nil {
		c.untagged(c.highestModSeqLine())
	}
}

// highestModSeqLine is the untagged OK with the selected mailbox's
// HIGHESTMODSEQ, or NOMODSEQ.
func (c *conn) highestModSeqLine() string {
	if c.sel.highest == 0 {
		return "OK [NOMODSEQ] No permanent modsequences"
	}
	return "OK [HIGHESTMODSEQ " + strconv.FormatUint(c.sel.highest, 10) + "] Highest"
}

// enableCaps handles CONDSTORE and QRESYNC in ENABLE; it returns the names
// to list in ENABLED.
func (c *conn) enableCaps(name string) []string {
	switch name {
	case "CONDSTORE":
		if !c.cond.condstore {
			c.enableCondstore()
			return []string{"CONDSTORE"}
		}
	case "QRESYNC":
		if !c.cond.qresync {
			c.cond.qresync = true
			c.enableCondstore()
			return []string{"QRESYNC"}
		}
	}
	return nil
}

// modSeqBefore returns the selected mailbox's highest mod-sequence, read
// before its messages so that it covers no change the session has not
// seen; 0 when CONDSTORE is off or the mailbox has none.
func (c *conn) modSeqBefore() uint64 {
	sel := c.sel
	if !c.cond.condstore || sel.highest == 0 {
		return 0
	}
	ms, ok := sel.mb.(MailboxModSeqs)
	if !ok {
		return 0
	}
	h, err := ms.HighestModSeq(c.ctx)
	if err != nil {
		return 0
	}
	return h
}

// appendModSeq adds " MODSEQ (n)" to a FETCH response when CONDSTORE is
// enabled and the message has a mod-sequence.
func (c *conn) appendModSeq(b []byte, m MessageInfo) []byte {
	if !c.cond.condstore || m.ModSeq == 0 {
		return b
	}
	b = append(b, " MODSEQ ("...)
	b = strconv.AppendUint(b, m.ModSeq, 10)
	return append(b, ')')
}

// condFetch prepares a FETCH for CONDSTORE: it enables it when the command
// uses it, adds MODSEQ to the items (with FLAGS once CONDSTORE is enabled,
// as Dovecot does) and keeps only the messages changed since
// CHANGEDSINCE. It sends VANISHED (EARLIER) for UID FETCH ... (VANISHED).
func (c *conn) condFetch(cmd *command, seqs []uint32, items []fetchItem) ([]uint32, []fetchItem, error) {
	a := cmd.cond
	hasModSeq, hasFlags := false, false
	for _, it := range items {
		hasModSeq = hasModSeq || it.name == "MODSEQ"
		hasFlags = hasFlags || it.name == "FLAGS"
	}
	if a != nil && a.vanished && !c.cond.qresync {
		return nil, nil, &Error{Type: StatusBad, Text: "VANISHED needs ENABLE QRESYNC"}
	}
	if hasModSeq || a != nil && a.hasChangedSince {
		if c.sel.highest == 0 {
			return nil, nil, errNoModSeq
		}
		c.enableCondstore()
	}
	if !c.cond.condstore || c.sel.highest == 0 {
		return seqs, items, nil
	}
	if c.cond.qresync && !cmd.uid {
		// RFC 7162 section 3.2.4: every FETCH response carries the UID
		// once QRESYNC is enabled.
		if !slices.ContainsFunc(items, func(it fetchItem) bool { return it.name == "UID" }) {
			items = append([]fetchItem{{name: "UID"}}, items...)
		}
	}
	if !hasModSeq && (hasFlags || a != nil && a.hasChangedSince) {
		items = append(slices.Clip(items), fetchItem{name: "MODSEQ"})
	}
	if a == nil || !a.hasChangedSince {
		return seqs, items, nil
	}
	sel := c.sel
	if a.vanished {
		if err := c.vanishedEarlier(cmd.set, a.changedSince); err != nil {
			return nil, nil, err
		}
	}
	out := seqs[:0:0]
	for _, n := range seqs {
		if sel.msgs[n-1].ModSeq > a.changedSince || sel.msgs[n-1].ModSeq == 0 {
			out = append(out, n)
		}
	}
	return out, items, nil
}

// storeCondstore runs STORE once CONDSTORE is enabled or the command has
// UNCHANGEDSINCE: it leaves the messages changed since UNCHANGEDSINCE as
// they are and names them in the MODIFIED response code, and sends the
// FETCH responses with MODSEQ, even for .SILENT (RFC 7162 section 3.1.3).
func (c *conn) storeCondstore(cmd *command, seqs []uint32) error {
	sel := c.sel
	a := cmd.cond
	if a != nil && a.hasUnchangedSince && sel.highest == 0 {
		return errNoModSeq
	}
	c.enableCondstore()
	cur, err := sel.mb.Messages(c.ctx)
	if err != nil {
		return err
	}
	find := func(list []MessageInfo, uid UID) (MessageInfo, bool) {
		i, ok := slices.BinarySearchFunc(list, uid, func(m MessageInfo, u UID) int {
			return int(int64(m.UID) - int64(u))
		})
		if !ok {
			return MessageInfo{}, false
		}
		return list[i], true
	}
	var modified []UID
	var modSeqs []uint32
	isModified := map[UID]bool{}
	var targets []UID
	for _, n := range seqs {
		m := sel.msgs[n-1]
		if sel.gone[n-1] {
			continue
		}
		now, ok := find(cur, m.UID)
		if !ok {
			continue
		}
		if a != nil && a.hasUnchangedSince && now.ModSeq > a.unchangedSince {
			modified = append(modified, m.UID)
			modSeqs = append(modSeqs, n)
			isModified[m.UID] = true
			continue
		}
		targets = append(targets, m.UID)
	}
	if len(targets) > 0 {
		if su, ok := sel.mb.(MailboxStoreUnchanged); ok && a != nil && a.hasUnchangedSince {
			more, err := su.StoreUnchanged(c.ctx, targets, a.unchangedSince, cmd.storeOp, cmd.flags)
			if err != nil {
				return err
			}
			for _, u := range more {
				if !isModified[u] {
					isModified[u] = true
					modified = append(modified, u)
					modSeqs = append(modSeqs, sel.seqOf(u))
				}
			}
		} else if err := sel.mb.Store(c.ctx, targets, cmd.storeOp, cmd.flags); err != nil {
			return err
		}
		if cur, err = sel.mb.Messages(c.ctx); err != nil {
			return err
		}
	}
	if cmd.storeOp != StoreRemove {
		c.announceFlags(cmd.flags)
	}
	for _, n := range seqs {
		m := &sel.msgs[n-1]
		if isModified[m.UID] {
			continue
		}
		if now, ok := find(cur, m.UID); ok && !sel.gone[n-1] {
			c.announceFlags(now.Flags)
			*m = now
		} else {
			m.Flags = applyStore(m.Flags, cmd.storeOp, cmd.flags)
		}
		var parts []string
		if cmd.uid || c.cond.qresync {
			parts = append(parts, "UID "+strconv.FormatUint(uint64(m.UID), 10))
		}
		if !cmd.silent {
			parts = append(parts, string(appendFlags([]byte("FLAGS "), sel.withRecent(*m))))
		}
		if m.ModSeq != 0 {
			parts = append(parts, "MODSEQ ("+strconv.FormatUint(m.ModSeq, 10)+")")
		}
		if len(parts) > 0 {
			c.untagged(strconv.FormatUint(uint64(n), 10) + " FETCH (" + strings.Join(parts, " ") + ")")
		}
	}
	if len(modified) > 0 {
		if cmd.uid {
			slices.Sort(modified)
			c.okCode = "MODIFIED " + uidSetString(modified)
		} else {
			set := make([]UID, len(modSeqs))
			for i, n := range modSeqs {
				set[i] = UID(n)
			}
			slices.Sort(set)
			c.okCode = "MODIFIED " + uidSetString(set)
		}
	}
	return nil
}

// searchModSeqResult returns the highest mod-sequence of the messages
// hits names (sequence numbers, or UIDs for UID SEARCH), or 0 when the
// criteria hold no MODSEQ key (RFC 7162 section 3.1.5).
func (c *conn) searchModSeqResult(cmd *command, hits []uint32) uint64 {
	if !hasModSeqKey(cmd.search) {
		return 0
	}
	var max uint64
	for _, h := range hits {
		n := h
		if cmd.uid {
			n = c.sel.seqOf(UID(h))
		}
		if n > 0 && c.sel.msgs[n-1].ModSeq > max {
			max = c.sel.msgs[n-1].ModSeq
		}
	}
	return max
}

func hasModSeqKey(k *searchKey) bool {
	if k == nil {
		return false
	}
	if k.op == "MODSEQ" {
		return true
	}
	for _, s := range k.sub {
		if hasModSeqKey(s) {
			return true
		}
	}
	return false
}
