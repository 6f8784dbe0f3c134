package imap

import (
	"context"
	"strconv"
	"strings"
)

// QUOTA (RFC 9208) with the STORAGE and MESSAGE resources. GETQUOTA and
// GETQUOTAROOT answer from a User that implements [UserQuota]; without
// it a mailbox has no quota root. SETQUOTA is refused: limits are the
// store's configuration, not the client's (QUOTASET is not announced).

// QuotaResource is the usage and limit of one resource of a quota root:
// "STORAGE" in units of 1024 octets, "MESSAGE" in messages (RFC 9208
// sections 5.1 and 5.2).
type QuotaResource struct {
	Name         string
	Usage, Limit int64
}

// UserQuota is implemented by a User whose mailboxes are under quota.
type UserQuota interface {
	// QuotaRoots returns the quota roots of a mailbox, none when no
	// quota applies; ErrNoSuchMailbox when the mailbox does not exist.
	QuotaRoots(ctx context.Context, mailbox string) ([]string, error)
	// Quota returns the resources of a quota root; an error wrapping
	// ErrNoSuchMailbox (answered NO [NONEXISTENT]) for an unknown root.
	Quota(ctx context.Context, root string) ([]QuotaResource, error)
}

// quotaArgs parses GETQUOTA root, GETQUOTAROOT mailbox and SETQUOTA root
// (resource limit ...).
func (d *decoder) quotaArgs(cmd *command) error {
	if err := d.sp(); err != nil {
		return err
	}
	var err error
	if cmd.name == "GETQUOTAROOT" {
		cmd.mailbox, err = d.mailbox()
		return err
	}
	if cmd.mailbox, err = d.astring(); err != nil || cmd.name == "GETQUOTA" {
		return err
	}
	if err := d.sp(); err != nil {
		return err
	}
	return d.list(func() error {
		if err := d.countItem(); err != nil {
			return err
		}
		a, err := d.atom()
		if err != nil {
			return err
		}
		if err := d.sp(); err != nil {
			return err
		}
		n, err := d.number64()
		cmd.caps = append(cmd.caps, strings.ToUpper(a)+" "+strconv.FormatInt(n, 10))
		return err
	})
}

func (c *conn) cmdQuota(cmd *command) error {
	uq, _ := c.user.(UserQuota)
	switch cmd.name {
	case "SETQUOTA":
		return &Error{Type: StatusNo, Code: CodeNoPerm, Text: "Quota limits cannot be changed"}
	case "GETQUOTA":
		if uq == nil {
			return &Error{Type: StatusNo, Code: CodeNonExistent, Text: "No such quota root"}
		}
		return c.sendQuota(uq, cmd.mailbox)
	}
	name, err := c.mailboxIn(cmd.mailbox)
	if err != nil {
		return err
	}
	var roots []string
	if uq != nil {
		if roots, err = uq.QuotaRoots(c.ctx, name); err != nil {
			return err
		}
	} else if _, err := c.user.Status(c.ctx, name); err != nil {
		return err // the mailbox must exist
	}
	b := []byte("QUOTAROOT ")
	b = appendString(b, c.mailboxOut(name), c.utf8)
	for _, r := range roots {
		b = append(b, ' ')
		b = appendString(b, r, c.utf8)
	}
	c.untagged(string(b))
	for _, r := range roots {
		if err := c.sendQuota(uq, r); err != nil {
			return err
		}
	}
	return nil
}

func (c *conn) sendQuota(uq UserQuota, root string) error {
	res, err := uq.Quota(c.ctx, root)
	if err != nil {
		return err
	}
	b := []byte("QUOTA ")
	b = appendString(b, root, c.utf8)
	b = append(b, " ("...)
	for i, r := range res {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, r.Name...)
		b = append(b, ' ')
		b = strconv.AppendInt(b, r.Usage, 10)
		b = append(b, ' ')
		b = strconv.AppendInt(b, r.Limit, 10)
	}
	c.untagged(string(append(b, ')')))
	return nil
}
