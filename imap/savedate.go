package imap

import (
	"context"
	"time"
)

// SAVEDATE (RFC 8514): FETCH SAVEDATE and SEARCH SAVEDBEFORE, SAVEDON,
// SAVEDSINCE and SAVEDATESUPPORTED, from a Mailbox that implements
// [MailboxSaveDate]. Without it SAVEDATE is NIL, the date keys match
// nothing and SAVEDATESUPPORTED matches nothing, as the RFC allows.

// MailboxSaveDate is implemented by a Mailbox that knows when each message
// was saved to it (by delivery, APPEND, COPY or MOVE), which INTERNALDATE
// does not tell when APPEND sets it from the client's date.
type MailboxSaveDate interface {
	// SaveDate returns the save date of a message, and false when it
	// is not known (SAVEDATE NIL).
	SaveDate(ctx context.Context, uid UID) (time.Time, bool)
}

func (c *conn) saveDateOf(m *fetchMsg) (time.Time, bool) {
	if sd, ok := c.sel.mb.(MailboxSaveDate); ok {
		return sd.SaveDate(c.ctx, m.info.UID)
	}
	return time.Time{}, false
}

func (c *conn) appendSaveDate(b []byte, m *fetchMsg) []byte {
	b = append(b, "SAVEDATE "...)
	t, ok := c.saveDateOf(m)
	if !ok {
		return append(b, "NIL"...)
	}
	b = append(b, '"')
	b = append(b, imapDate(t)...)
	return append(b, '"')
}

// matchSaveDate evaluates SAVEDBEFORE, SAVEDON, SAVEDSINCE and
// SAVEDATESUPPORTED.
func (c *conn) matchSaveDate(k *searchKey, m *fetchMsg) bool {
	if k.op == "SAVEDATESUPPORTED" {
		_, ok := c.sel.mb.(MailboxSaveDate)
		return ok
	}
	t, ok := c.saveDateOf(m)
	return ok && compareDate(k.op[len("SAVED"):], t, k.date)
}
