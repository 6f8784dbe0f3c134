package imap

import (
	"context"
	"slices"
)

// MailboxVersion is implemented by a Mailbox that can tell cheaply whether
// its messages changed. Version returns a number that is different
// whenever what Messages returns (UIDs, flags, sizes, dates,
// mod-sequences) may have changed since the number was last returned;
// telling of a change that did not happen is harmless. The server then
// skips comparing its view of the mailbox with Messages before a command
// when nothing changed, which on a large mailbox with many sessions is
// most of the cost of a short command.
type MailboxVersion interface {
	Version(ctx context.Context) (uint64, error)
}

// unchanged reports whether the selected mailbox is as the view last saw
// it, so that sync has nothing to tell; it returns the version to note
// once the view is brought up to date (ok false: not to be noted).
func (c *conn) unchanged() (same bool, version uint64, ok bool) {
	sel := c.sel
	mv, isV := sel.mb.(MailboxVersion)
	if !isV {
		return false, 0, false
	}
	v, err := mv.Version(c.ctx)
	if err != nil {
		return false, 0, false
	}
	// Expunges the client could not be told yet are pending whatever
	// the mailbox does.
	if sel.versioned && v == sel.version && !slices.Contains(sel.gone, true) {
		return true, v, true
	}
	return false, v, true
}
