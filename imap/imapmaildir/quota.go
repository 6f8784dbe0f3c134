package imapmaildir

import (
	"context"
	"fmt"

	"github.com/heraldmail/herald/imap"
)

// The Maildir++ quota of a user's tree (maildir.Options.Quota, or the one
// its maildirsize defines) is one quota root, "", over every folder:
// STORAGE is the bytes of the message files in units of 1024 (rounded up),
// MESSAGE the number of messages, each sent when the quota limits it.

// QuotaRoots returns "" for every folder when the tree has a quota.
func (u *user) QuotaRoots(ctx context.Context, mailbox string) ([]string, error) {
	if _, _, err := u.folder(mailbox); err != nil {
		return nil, err
	}
	q, _, _, err := u.st.QuotaUsage()
	if err != nil {
		return nil, replyError(err)
	}
	if q.Bytes <= 0 && q.Messages <= 0 {
		return nil, nil
	}
	return []string{""}, nil
}

// Quota returns the use and limits of the root "".
func (u *user) Quota(ctx context.Context, root string) ([]imap.QuotaResource, error) {
	q, b, n, err := u.st.QuotaUsage()
	if err != nil {
		return nil, replyError(err)
	}
	if root != "" || q.Bytes <= 0 && q.Messages <= 0 {
		return nil, fmt.Errorf("quota root %q: %w", root, imap.ErrNoSuchMailbox)
	}
	var out []imap.QuotaResource
	if q.Bytes > 0 {
		out = append(out, imap.QuotaResource{Name: "STORAGE", Usage: (b + 1023) / 1024, Limit: q.Bytes / 1024})
	}
	if q.Messages > 0 {
		out = append(out, imap.QuotaResource{Name: "MESSAGE", Usage: n, Limit: q.Messages})
	}
	return out, nil
}
