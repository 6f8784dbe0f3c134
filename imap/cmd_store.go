package imap

import "strconv"

// uidsOf returns the UIDs of the sequence numbers, skipping messages
// expunged by others.
func (s *selected) uidsOf(seqs []uint32) []UID {
	uids := make([]UID, 0, len(seqs))
	for _, n := range seqs {
		if !s.gone[n-1] {
			uids = append(uids, s.msgs[n-1].UID)
		}
	}
	return uids
}

func (c *conn) cmdStore(cmd *command) error {
	sel := c.sel
	if sel.readOnly {
		return &Error{Type: StatusNo, Code: CodeReadOnly, Text: "Mailbox is read-only"}
	}
	seqs, err := sel.resolve(cmd.set, cmd.uid)
	if err != nil {
		return err
	}
	if c.cond.condstore || cmd.cond != nil {
		return c.storeCondstore(cmd, seqs)
	}
	uids := sel.uidsOf(seqs)
	if len(uids) > 0 {
		if err := sel.mb.Store(c.ctx, uids, cmd.storeOp, cmd.flags); err != nil {
			return err
		}
	}
	if cmd.storeOp != StoreRemove {
		c.announceFlags(cmd.flags)
	}
	for _, n := range seqs {
		// A message another session expunged (gone) keeps the flags of
		// the view: the STORE is answered OK with them, as Dovecot
		// does and as RFC 9051 section 6.4.6 allows, since clients
		// take NO for a failure of the whole command.
		m := &sel.msgs[n-1]
		m.Flags = applyStore(m.Flags, cmd.storeOp, cmd.flags)
		if cmd.silent {
			continue
		}
		b := strconv.AppendUint(nil, uint64(n), 10)
		b = append(b, " FETCH ("...)
		if cmd.uid {
			b = append(b, "UID "...)
			b = strconv.AppendUint(b, uint64(m.UID), 10)
			b = append(b, ' ')
		}
		b = append(b, "FLAGS "...)
		b = appendFlags(b, sel.withRecent(*m))
		b = append(b, ')')
		c.untagged(string(b))
	}
	return nil
}

func (c *conn) cmdCopy(cmd *command) error {
	sel := c.sel
	dest, err := c.mailboxIn(cmd.mailbox)
	if err != nil {
		return err
	}
	seqs, err := sel.resolve(cmd.set, cmd.uid)
	if err != nil {
		return err
	}
	uids := sel.uidsOf(seqs)
	if len(uids) == 0 {
		if len(seqs) > 0 {
			return &Error{Type: StatusNo, Code: CodeExpungeIssued, Text: "The messages have been expunged"}
		}
		return nil
	}
	var res CopyResult
	move := cmd.name == "MOVE"
	if move && sel.readOnly {
		return &Error{Type: StatusNo, Code: CodeReadOnly, Text: "Mailbox is read-only"}
	}
	if mv, ok := sel.mb.(MailboxMove); ok && move {
		res, err = mv.Move(c.ctx, uids, dest)
	} else {
		res, err = sel.mb.Copy(c.ctx, uids, dest)
		if err == nil && move {
			if err = sel.mb.Store(c.ctx, uids, StoreAdd, []Flag{FlagDeleted}); err == nil {
				_, err = sel.mb.Expunge(c.ctx, uids)
			}
		}
	}
	if err != nil {
		return err
	}
	if len(res.Source) > 0 && len(res.Source) == len(res.Dest) {
		code := "COPYUID " + strconv.FormatUint(uint64(res.UIDValidity), 10) + " " +
			uidSetString(res.Source) + " " + uidSetString(res.Dest)
		if move {
			// RFC 6851 section 4.3: COPYUID comes before the EXPUNGE
			// responses.
			c.untagged("OK [" + code + "] Moved")
		} else {
			c.okCode = code
		}
	}
	return nil
}
