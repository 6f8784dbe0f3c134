package maildir

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// MoveTo moves the messages with the UIDs uids into dst (IMAP MOVE) and
// returns their UIDs in dst, in the order of uids (0 for a message that
// was gone). Each message is renamed into dst's cur/ under a new base name
// in one rename(2), so that at every moment, a crash included, it is in
// exactly one of the two folders; its flags, keywords and modification
// time go with it. The UID in dst is assigned as by [Maildir.Deliver]; a
// crash before that leaves the message for the next [Maildir.Sync] of dst
// to number. Across file systems, where rename(2) cannot move a file, it
// falls back to [Maildir.Move], a copy and a removal.
func (m *Maildir) MoveTo(ctx context.Context, uids []uint32, dst *Maildir) ([]uint32, error) {
	out := make([]uint32, len(uids))
	dirs := map[string]bool{}
	for i, uid := range uids {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		src, msg, err := m.source(uid)
		if errors.Is(err, ErrGone) {
			continue
		}
		if err != nil {
			return out, err
		}
		letters, err := dst.keywordLetters(ctx, msg.Keywords, true)
		if err != nil {
			return out, err
		}
		n, _ := ParseName(msg.Name)
		b := []byte(uniqueBase(dst.opts.now(), dst.q.Add(1), dst.opts.Hostname))
		if n.Size >= 0 {
			b = append(b, ",S="...)
			b = strconv.AppendInt(b, n.Size, 10)
		}
		if n.VSize >= 0 {
			b = append(b, ",W="...)
			b = strconv.AppendInt(b, n.VSize, 10)
		}
		base := string(b)
		e := fileEntry{sub: "cur", name: withFlags(base, msg.Flags.Union(letters))}
		if err := os.Rename(src, filepath.Join(dst.dir, e.rel())); err != nil {
			if errors.Is(err, syscall.EXDEV) {
				got, err := m.Move(ctx, uids[i:], dst)
				copy(out[i:], got)
				return out, err
			}
			if errors.Is(err, os.ErrNotExist) {
				continue // expunged meanwhile
			}
			return out, wrap("move", src, err)
		}
		dirs[filepath.Dir(src)] = true
		if err := syncDir(filepath.Join(dst.dir, "cur")); err != nil {
			return out, err
		}
		got, synced, err := dst.assignOne(ctx, base, e)
		if err != nil {
			dst.opts.Logger.Warn("maildir: moved message has no UID yet", "dir", dst.dir, "file", e.name, "err", err)
		}
		if got != 0 && !synced {
			if err := syncDir(filepath.Join(dst.dir, uidListName)); err != nil {
				return out, err
			}
		}
		out[i] = got
	}
	for d := range dirs {
		if err := syncDir(d); err != nil {
			return out, err
		}
	}
	return out, nil
}
