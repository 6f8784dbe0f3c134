package imap

import (
	"errors"
	"io"
	"strconv"
)

// MULTIAPPEND (RFC 3502): APPEND with several messages, each with its own
// flags, date and literal. Each message goes to User.Append as it arrives,
// so that memory stays bounded by the literal buffer whatever the count;
// if one fails, or the rest of the command does not parse, the messages
// already appended are flagged \Deleted and expunged again before the NO
// or BAD, so the mailbox ends as it was (another session may see them
// come and go meanwhile). APPENDUID lists the UIDs of all.

// appendRest appends the messages after the first one, whose result is
// first, and returns the UIDs of all of them. It reads the command up to
// the start of the last literal, left in cmd.literal for finishAppend.
func (c *conn) appendRest(cmd *command, name string, first AppendResult) error {
	uids := []UID{first.UID}
	var failed error
	for {
		_, err := io.Copy(io.Discard, cmd.literal)
		var ch byte
		if err == nil {
			c.dec.n = 0
			ch, err = c.dec.peek()
		}
		if err != nil {
			// The connection broke before the command ended.
			c.undoAppend(name, uids)
			return err
		}
		if ch != ' ' {
			// The end of the command, read here so that a syntax
			// error there undoes the appends too.
			cmd.literal = nil
			if err := c.dec.crlf(); err != nil {
				c.undoAppend(name, uids)
				return c.skipRest(err)
			}
			break
		}
		c.dec.readByte()
		err = c.dec.countItem()
		if err == nil {
			err = c.dec.appendMessage(cmd)
		}
		if err != nil {
			// The command cannot be read on: nothing stays, and the
			// rest of the line is skipped.
			cmd.literal = nil
			c.undoAppend(name, uids)
			return c.skipRest(err)
		}
		if failed != nil {
			continue // read and discard the rest of the command
		}
		res, err := c.user.Append(c.ctx, name, cmd.literal, cmd.literalLen, AppendOptions{Flags: cmd.flags, InternalDate: cmd.date})
		if err != nil {
			failed = err
			continue
		}
		uids = append(uids, res.UID)
		if res.UIDValidity != first.UIDValidity {
			first.UID = 0 // no APPENDUID across a UIDVALIDITY change
		}
	}
	if failed != nil {
		c.undoAppend(name, uids)
		return failed
	}
	if first.UID != 0 && !containsZero(uids) {
		c.okCode = "APPENDUID " + strconv.FormatUint(uint64(first.UIDValidity), 10) + " " + uidSetString(uids)
	} else {
		c.okCode = ""
	}
	return nil
}

// skipRest skips the rest of a command that failed to parse with err, or
// ends the connection when it cannot be skipped (a non-synchronizing
// literal over the limit).
func (c *conn) skipRest(err error) error {
	var se *SyntaxError
	var ie *Error
	if !errors.As(err, &se) && !errors.As(err, &ie) {
		return err // I/O error
	}
	serr := c.dec.skipLine()
	if c.dec.fatal {
		c.untagged("BYE [TOOBIG] Literal too big")
		c.bye = true
		return errReplied
	}
	if serr != nil {
		return serr
	}
	return err
}

func containsZero(uids []UID) bool {
	for _, u := range uids {
		if u == 0 {
			return true
		}
	}
	return false
}

// undoAppend removes the messages a failed MULTIAPPEND appended.
func (c *conn) undoAppend(name string, uids []UID) {
	if len(uids) == 0 {
		return
	}
	mb, err := c.user.Select(c.ctx, name, false)
	if err != nil {
		c.srv.logger().Error("imap: cannot undo MULTIAPPEND", "mailbox", name, "err", err)
		return
	}
	defer mb.Close(c.ctx)
	if err := mb.Store(c.ctx, uids, StoreAdd, []Flag{FlagDeleted}); err != nil {
		c.srv.logger().Error("imap: cannot undo MULTIAPPEND", "mailbox", name, "err", err)
		return
	}
	if _, err := mb.Expunge(c.ctx, uids); err != nil {
		c.srv.logger().Error("imap: cannot undo MULTIAPPEND", "mailbox", name, "err", err)
	}
}
