package maildir

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/heraldmail/herald/message"
)

// OpenMessage opens the message with the UID uid for reading. The file
// stays readable after another client expunges or renames the message. It
// fails with ErrGone when the message is no longer there.
func (m *Maildir) OpenMessage(ctx context.Context, uid uint32) (*os.File, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	base, err := m.baseOf(uid)
	if err != nil {
		return nil, wrap("open message", m.dir, err)
	}
	for fresh := false; ; fresh = true {
		e, ok := m.locate(base, fresh)
		if !ok {
			return nil, &Error{Op: "open message", Path: m.dir, Err: ErrGone}
		}
		f, err := os.Open(filepath.Join(m.dir, e.rel()))
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, fs.ErrNotExist) || fresh {
			if errors.Is(err, fs.ErrNotExist) {
				err = ErrGone
			}
			return nil, wrap("open message", m.dir, err)
		}
	}
}

// Header reads and parses the header of the message with the UID uid with
// [message.ReadHeader] and opts.
func (m *Maildir) Header(ctx context.Context, uid uint32, opts *message.ReadOptions) (*message.Header, error) {
	f, err := m.OpenMessage(ctx, uid)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h, _, err := message.ReadHeader(f, opts)
	if err != nil {
		return nil, wrap("read header", f.Name(), err)
	}
	return h, nil
}

// FlagOp says how [Maildir.SetFlags] combines the flags given with a
// message's flags, as IMAP STORE's FLAGS, +FLAGS and -FLAGS.
type FlagOp uint8

const (
	// FlagsReplace sets the standard flags (D F P R S T) and the keywords
	// to exactly those given; letters this package does not know are kept.
	FlagsReplace FlagOp = iota
	// FlagsAdd adds the flags and keywords given.
	FlagsAdd
	// FlagsRemove removes the flags and keywords given.
	FlagsRemove
)

const standardFlags Flags = "DFPRST"

// SetFlags changes the flags and keywords of the messages with the UIDs
// uids by renaming their files, which moves them to cur/ and keeps their
// UIDs. Letters a-z in flags are ignored: keywords go in keywords, and new
// ones are added to dovecot-keywords (except by FlagsRemove). It returns the
// messages as they are now; messages that are gone are left out.
func (m *Maildir) SetFlags(ctx context.Context, uids []uint32, op FlagOp, flags Flags, keywords []string) ([]Message, error) {
	sys, _ := MakeFlags(string(flags)).split()
	letters, err := m.keywordLetters(ctx, keywords, op != FlagsRemove)
	if err != nil {
		return nil, err
	}
	kw, err := m.readKeywords()
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Message, 0, len(uids))
	for _, uid := range uids {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		base, err := m.baseOf(uid)
		if err != nil {
			continue
		}
		for fresh := false; ; fresh = true {
			e, ok := m.locate(base, fresh)
			if !ok {
				break
			}
			n, _ := ParseName(e.name)
			cur := n.Flags()
			var next Flags
			switch op {
			case FlagsReplace:
				next = cur.Minus(standardFlags).Minus(lowercase).Union(sys).Union(letters)
			case FlagsAdd:
				next = cur.Union(sys).Union(letters)
			case FlagsRemove:
				next = cur.Minus(sys).Minus(letters)
			}
			to := fileEntry{sub: "cur", name: withFlags(base, next)}
			if to != e {
				err = os.Rename(filepath.Join(m.dir, e.rel()), filepath.Join(m.dir, to.rel()))
			} else {
				err = nil
			}
			if err == nil {
				m.names[base] = to
				msg := Message{UID: uid, Key: base, Name: to.name, Size: n.Size}
				msg.Flags, msg.letters = next.split()
				msg.Keywords = keywordNames(kw, msg.letters)
				if msg.Size < 0 {
					if fi, err := os.Stat(filepath.Join(m.dir, to.rel())); err == nil {
						msg.Size = fi.Size()
					}
				}
				out = append(out, msg)
				break
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return out, wrap("set flags", m.dir, err)
			}
			if fresh {
				break
			}
		}
	}
	return out, nil
}

const lowercase Flags = "abcdefghijklmnopqrstuvwxyz"

// Remove deletes the messages with the UIDs uids (IMAP EXPUNGE, POP3
// commit). Messages already gone are skipped. Their UIDs are dropped from
// dovecot-uidlist at the next [Maildir.Sync] and never used again.
func (m *Maildir) Remove(ctx context.Context, uids []uint32) error {
	dirs, err := m.remove(ctx, uids)
	// The directories are synced without holding m.mu: other sessions'
	// changes need not wait for this one's fsync.
	for sub := range dirs {
		if err := syncDir(filepath.Join(m.dir, sub)); err != nil {
			return err
		}
	}
	return err
}

// remove deletes the files of Remove and returns the subdirectories it
// removed files from.
func (m *Maildir) remove(ctx context.Context, uids []uint32) (map[string]bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	dirs := map[string]bool{}
	for _, uid := range uids {
		if err := ctx.Err(); err != nil {
			return dirs, err
		}
		base, err := m.baseOf(uid)
		if err != nil {
			continue
		}
		for fresh := false; ; fresh = true {
			e, ok := m.locate(base, fresh)
			if !ok {
				break
			}
			p := filepath.Join(m.dir, e.rel())
			var size int64 = -1
			if m.quota != nil {
				if fi, err := os.Stat(p); err == nil {
					size = fi.Size()
				}
			}
			err := os.Remove(p)
			if err == nil {
				delete(m.names, base)
				dirs[e.sub] = true
				if m.quota != nil && size >= 0 {
					m.quota.add(-size, -1)
				}
				break
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return dirs, wrap("remove", p, err)
			}
			if fresh {
				break
			}
		}
	}
	return dirs, nil
}

// Copy copies the messages with the UIDs uids into dst (which may be m)
// with their flags, keywords and delivery time, and returns the UIDs they
// got in dst, in the order of uids (0 for a message that was gone). The
// copy is a hard link when both folders are on one file system, as Dovecot
// makes it, and a durable delivery otherwise.
func (m *Maildir) Copy(ctx context.Context, uids []uint32, dst *Maildir) ([]uint32, error) {
	out := make([]uint32, len(uids))
	for i, uid := range uids {
		src, msg, err := m.source(uid)
		if errors.Is(err, ErrGone) {
			continue
		}
		if err != nil {
			return out, err
		}
		got, err := dst.copyFrom(ctx, src, msg)
		if errors.Is(err, fs.ErrNotExist) {
			continue // expunged meanwhile
		}
		if err != nil {
			return out, err
		}
		out[i] = got.UID
	}
	return out, nil
}

// Move copies the messages to dst and then removes them from m (IMAP MOVE),
// returning their UIDs in dst.
func (m *Maildir) Move(ctx context.Context, uids []uint32, dst *Maildir) ([]uint32, error) {
	got, err := m.Copy(ctx, uids, dst)
	if err != nil {
		return got, err
	}
	moved := make([]uint32, 0, len(uids))
	for i, uid := range uids {
		if got[i] != 0 {
			moved = append(moved, uid)
		}
	}
	return got, m.Remove(ctx, moved)
}

// source returns the path and the state of the message with UID uid.
func (m *Maildir) source(uid uint32) (string, Message, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	base, err := m.baseOf(uid)
	if err != nil {
		return "", Message{}, err
	}
	e, ok := m.locate(base, false)
	if !ok {
		return "", Message{}, ErrGone
	}
	if _, err := os.Stat(filepath.Join(m.dir, e.rel())); err != nil {
		if e, ok = m.locate(base, true); !ok {
			return "", Message{}, ErrGone
		}
	}
	n, _ := ParseName(e.name)
	msg := Message{UID: uid, Key: base, Name: e.name, Size: n.Size}
	msg.Flags, msg.letters = n.Flags().split()
	if msg.letters != "" {
		kw, err := m.readKeywords()
		if err != nil {
			return "", Message{}, err
		}
		msg.Keywords = keywordNames(kw, msg.letters)
	}
	return filepath.Join(m.dir, e.rel()), msg, nil
}

// copyFrom stores the file src (with the state msg) in m.
func (m *Maildir) copyFrom(ctx context.Context, src string, msg Message) (Message, error) {
	fi, err := os.Stat(src)
	if err != nil {
		return Message{}, err
	}
	letters, err := m.keywordLetters(ctx, msg.Keywords, true)
	if err != nil {
		return Message{}, err
	}
	flags := msg.Flags.Union(letters)
	n, _ := ParseName(msg.Name)
	for range 100 {
		base := uniqueBase(m.opts.now(), m.q.Add(1), m.opts.Hostname)
		tmp := filepath.Join(m.dir, "tmp", base)
		err := os.Link(src, tmp)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			break // another file system: copy the bytes
		}
		return m.install(ctx, tmp, base, fi.Size(), n.VSize, flags, fi.ModTime())
	}
	f, err := os.Open(src)
	if err != nil {
		return Message{}, err
	}
	defer f.Close()
	return m.Deliver(ctx, f, &DeliverOptions{Flags: msg.Flags, Keywords: msg.Keywords, Time: fi.ModTime()})
}
