package imapmaildir

import (
	"context"
	"errors"

	"github.com/heraldmail/herald/imap"
	"github.com/heraldmail/herald/maildir"
)

// handle is a mailbox selected by one session.
type handle struct {
	u        *user
	idx      *index
	readOnly bool
	ch       chan struct{}
}

func (h *handle) Status(ctx context.Context) (imap.MailboxStatus, error) {
	if err := h.idx.ensure(ctx); err != nil {
		return imap.MailboxStatus{}, replyError(err)
	}
	return h.idx.status(), nil
}

func (h *handle) Messages(ctx context.Context) ([]imap.MessageInfo, error) {
	return h.idx.messages(), nil
}

// Open returns the message file, read with CRLF line endings when it has
// bare LFs. A file that is gone, cannot be read or does not have the size
// its name gives is skipped with a log line: the server answers NO
// [EXPUNGEISSUED] for it and goes on with the others.
func (h *handle) Open(ctx context.Context, uid imap.UID) (imap.Content, error) {
	size, raw, ok := h.idx.sizeOf(uint32(uid))
	if !ok {
		return nil, imap.ErrNoSuchMessage
	}
	f, err := h.idx.md.OpenMessage(ctx, uint32(uid))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !errors.Is(err, maildir.ErrGone) {
			h.u.b.logger().Warn("imapmaildir: cannot open message, skipped", "dir", h.idx.md.Dir(), "uid", uid, "err", err)
		}
		return nil, &sentinelError{imap.ErrNoSuchMessage, err}
	}
	skip := func(err error) (imap.Content, error) {
		f.Close()
		h.u.b.logger().Warn("imapmaildir: message file does not have the size in its name, skipped", "dir", h.idx.md.Dir(), "uid", uid, "file", f.Name(), "err", err)
		return nil, imap.ErrNoSuchMessage
	}
	fi, err := f.Stat()
	if err != nil || fi.Size() != raw {
		return skip(err)
	}
	if raw == size {
		return f, nil
	}
	c, err := newCRLFContent(f)
	if err != nil || c.size != size {
		return skip(err)
	}
	return c, nil
}

func toUint32(uids []imap.UID) []uint32 {
	out := make([]uint32, len(uids))
	for i, u := range uids {
		out[i] = uint32(u)
	}
	return out
}

func (h *handle) Store(ctx context.Context, uids []imap.UID, op imap.StoreOp, flags []imap.Flag) error {
	letters, kw := maildirFlags(flags, op == imap.StoreRemove)
	var fop maildir.FlagOp
	switch op {
	case imap.StoreAdd:
		fop = maildir.FlagsAdd
	case imap.StoreRemove:
		fop = maildir.FlagsRemove
	default:
		fop = maildir.FlagsReplace
	}
	msgs, err := h.idx.md.SetFlags(ctx, toUint32(uids), fop, letters, kw)
	h.idx.flagged(msgs, h)
	return replyError(err)
}

func (h *handle) Expunge(ctx context.Context, uids []imap.UID) ([]imap.UID, error) {
	del := h.idx.deletedUIDs(uids)
	if len(del) == 0 {
		return nil, nil
	}
	err := h.idx.md.Remove(ctx, del)
	if err != nil {
		// Some may be gone: read the folder to learn which.
		h.idx.changed(ctx)
		return nil, replyError(err)
	}
	h.idx.removed(del, h)
	out := make([]imap.UID, len(del))
	for i, u := range del {
		out[i] = imap.UID(u)
	}
	return out, nil
}

// copyTo copies the messages to dest. On an error (a full disk, the quota)
// the copies already made are removed again, so that the command has no
// effect.
func (h *handle) copyTo(ctx context.Context, uids []imap.UID, dest string) (imap.CopyResult, *maildir.Maildir, error) {
	dst, _, err := h.u.folder(dest)
	if err != nil {
		return imap.CopyResult{}, nil, err
	}
	src := toUint32(uids)
	got, err := h.idx.md.Copy(ctx, src, dst)
	var made []uint32
	for _, u := range got {
		if u != 0 {
			made = append(made, u)
		}
	}
	if err != nil {
		if rerr := dst.Remove(context.WithoutCancel(ctx), made); rerr != nil {
			h.u.b.logger().Error("imapmaildir: removing the copies of a failed COPY", "dir", dst.Dir(), "err", rerr)
		}
		return imap.CopyResult{}, nil, replyError(err)
	}
	validity, _, err := dst.UIDValidity()
	if err != nil {
		return imap.CopyResult{}, nil, replyError(err)
	}
	res := imap.CopyResult{UIDValidity: validity}
	for i, u := range got {
		if u != 0 {
			res.Source = append(res.Source, uids[i])
			res.Dest = append(res.Dest, imap.UID(u))
		}
	}
	if validity == 0 {
		res = imap.CopyResult{}
	}
	return res, dst, nil
}

func (h *handle) Copy(ctx context.Context, uids []imap.UID, dest string) (imap.CopyResult, error) {
	res, _, err := h.copyTo(ctx, uids, dest)
	return res, err
}

// Move moves the messages (RFC 6851) with maildir.MoveTo: each one is
// renamed into dest, so that it is in one folder or the other at every
// moment, a crash included.
func (h *handle) Move(ctx context.Context, uids []imap.UID, dest string) (imap.CopyResult, error) {
	dst, _, err := h.u.folder(dest)
	if err != nil {
		return imap.CopyResult{}, err
	}
	got, err := h.idx.md.MoveTo(ctx, toUint32(uids), dst)
	var moved []uint32
	res := imap.CopyResult{}
	for i, u := range got {
		if u != 0 {
			moved = append(moved, uint32(uids[i]))
			res.Source = append(res.Source, uids[i])
			res.Dest = append(res.Dest, imap.UID(u))
		}
	}
	h.idx.removed(moved, h)
	if err != nil {
		h.idx.changed(ctx)
		return imap.CopyResult{}, replyError(err)
	}
	validity, _, err := dst.UIDValidity()
	if err != nil || validity == 0 {
		return imap.CopyResult{}, replyError(err)
	}
	res.UIDValidity = validity
	return res, nil
}

func (h *handle) Updates() <-chan struct{} { return h.ch }

func (h *handle) Close(ctx context.Context) error {
	h.idx.detach(h)
	return nil
}
