package maildir

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// DeliverOptions configures [Maildir.Deliver]; nil means the zero value.
type DeliverOptions struct {
	// Flags are the flag letters to deliver with (FlagSeen...); letters
	// a-z are ignored, keywords go in Keywords. A message delivered with
	// flags or keywords goes to cur/, as an IMAP APPEND does; one without
	// goes to new/.
	Flags Flags
	// Keywords are IMAP keywords to set; unknown ones are added to
	// dovecot-keywords.
	Keywords []string
	// Time is the delivery time stored as the file's modification time,
	// which Dovecot reports as the IMAP INTERNALDATE; zero means now.
	Time time.Time
}

// Deliver stores the message read from r in the folder, atomically and
// durably, and returns it with its UID.
//
// The message is written to tmp/ under a new unique name, fsynced, linked
// into new/ (or cur/ with flags) under its final name
// "<unique>,S=<size>,W=<size with CRLF>" and the directory is fsynced: when
// Deliver returns nil, the message is on disk and survives a crash. Then it
// gets the next UID in dovecot-uidlist. If that last step fails (a lock
// held too long), the message is delivered all the same, its UID is 0 and
// the next [Maildir.Sync] gives it one.
//
// A message longer than Options.MaxMessageBytes fails with ErrTooLarge, one
// beyond the quota with ErrQuotaExceeded; on any error, and when ctx ends
// while r is read, nothing is left in new/, cur/ or tmp/. Deliver reads r to
// its end; the bytes are stored as they are (CRLF or LF line endings).
func (m *Maildir) Deliver(ctx context.Context, r io.Reader, opts *DeliverOptions) (Message, error) {
	var o DeliverOptions
	if opts != nil {
		o = *opts
	}
	if err := ctx.Err(); err != nil {
		return Message{}, wrap("deliver", m.dir, err)
	}
	if m.quota != nil {
		if err := m.quota.check(0); err != nil {
			return Message{}, wrap("deliver", m.dir, err)
		}
	}
	sys, _ := MakeFlags(string(o.Flags)).split()
	letters, err := m.keywordLetters(ctx, o.Keywords, true)
	if err != nil {
		return Message{}, err
	}
	f, base, tmpPath, err := m.createTmp()
	if err != nil {
		return Message{}, err
	}
	size, vsize, err := copyCounting(ctx, f, r, m.opts.MaxMessageBytes)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmpPath)
		return Message{}, wrap("deliver", m.dir, err)
	}
	return m.install(ctx, tmpPath, base, size, vsize, sys.Union(letters), o.Time)
}

// createTmp creates a new file in tmp/ with O_EXCL under a unique name.
func (m *Maildir) createTmp() (*os.File, string, string, error) {
	for range 100 {
		base := uniqueBase(m.opts.now(), m.q.Add(1), m.opts.Hostname)
		p := filepath.Join(m.dir, "tmp", base)
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			return f, base, p, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			if errors.Is(err, fs.ErrNotExist) {
				err = &noFolderError{err}
			}
			return nil, "", "", wrap("deliver", m.dir, err)
		}
	}
	return nil, "", "", &Error{Op: "deliver", Path: m.dir, Err: fs.ErrExist}
}

// install moves the synced file tmpPath into new/ (flags empty) or cur/,
// syncs the directory, charges the quota and assigns a UID. The tmp file is
// removed in every case.
func (m *Maildir) install(ctx context.Context, tmpPath, base string, size, vsize int64, flags Flags, t time.Time) (Message, error) {
	defer os.Remove(tmpPath)
	fail := func(err error) (Message, error) { return Message{}, wrap("deliver", m.dir, err) }
	if m.quota != nil {
		if err := m.quota.check(size); err != nil {
			return fail(err)
		}
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	if !t.IsZero() {
		if err := os.Chtimes(tmpPath, t, t); err != nil {
			return fail(err)
		}
	}
	b := append([]byte(base), ",S="...)
	b = strconv.AppendInt(b, size, 10)
	if vsize >= 0 {
		b = append(b, ",W="...)
		b = strconv.AppendInt(b, vsize, 10)
	}
	final := string(b)
	e := fileEntry{sub: "new", name: final}
	if flags != "" {
		e = fileEntry{sub: "cur", name: withFlags(final, flags)}
	}
	dest := filepath.Join(m.dir, e.rel())
	// link() never replaces an existing file, unlike rename().
	if err := os.Link(tmpPath, dest); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fail(err)
		}
		if err := os.Rename(tmpPath, dest); err != nil {
			return fail(err)
		}
	}
	if err := syncDir(filepath.Join(m.dir, e.sub)); err != nil {
		os.Remove(dest)
		return fail(err)
	}
	if m.quota != nil {
		m.quota.add(size, 1)
	}
	msg := Message{Key: final, Name: e.name, Size: size, New: e.sub == "new"}
	msg.Flags, msg.letters = flags.split()
	if msg.letters != "" {
		if kw, err := m.readKeywords(); err == nil {
			msg.Keywords = keywordNames(kw, msg.letters)
		}
	}
	uid, err := m.assignOne(ctx, final, e)
	if err != nil {
		m.opts.Logger.Warn("maildir: delivered message has no UID yet", "dir", m.dir, "file", e.name, "err", err)
	}
	msg.UID = uid
	return msg, nil
}

// assignOne gives the message base the next UID, appending one record to
// dovecot-uidlist under its lock; a missing or corrupt list is built by a
// full sync instead.
func (m *Maildir) assignOne(ctx context.Context, base string, e fileEntry) (uint32, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.refresh(); err != nil {
		return 0, err
	}
	if m.ul != nil && !m.corrupt {
		path := filepath.Join(m.dir, uidListName)
		lk, err := lockFile(ctx, path, m.opts.lockTimeout(), m.opts.staleLockTimeout(), m.opts.now)
		if err != nil {
			return 0, err
		}
		defer lk.unlock()
		if err := m.refresh(); err != nil {
			return 0, err
		}
		if m.ul != nil && !m.corrupt {
			if uid, ok := m.uids[base]; ok {
				return uid, nil
			}
			recs := m.assign([]string{base})
			if m.names != nil {
				m.names[base] = e
			}
			return recs[0].uid, m.appendRecords(path, recs)
		}
		lk.unlock()
	}
	files, err := m.scanAll()
	if err != nil {
		return 0, err
	}
	if _, err := m.lockedSync(ctx, false, &files); err != nil {
		return 0, err
	}
	return m.uids[base], nil
}

// copyCounting copies r to w, at most limit bytes, checking ctx between
// chunks; it returns the size and the size with bare LFs counted as CRLF.
func copyCounting(ctx context.Context, w io.Writer, r io.Reader, limit int64) (size, vsize int64, err error) {
	buf := make([]byte, 64<<10)
	prevCR := false
	bare := int64(0)
	for {
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		n, rerr := r.Read(buf)
		if n > 0 {
			if size+int64(n) > limit {
				return 0, 0, ErrTooLarge
			}
			chunk := buf[:n]
			for i := 0; i < len(chunk); {
				j := bytes.IndexByte(chunk[i:], '\n')
				if j < 0 {
					break
				}
				p := i + j
				if p == 0 && !prevCR || p > 0 && chunk[p-1] != '\r' {
					bare++
				}
				i = p + 1
			}
			prevCR = chunk[n-1] == '\r'
			if _, err := w.Write(chunk); err != nil {
				return 0, 0, err
			}
			size += int64(n)
		}
		if rerr == io.EOF {
			return size, size + bare, nil
		}
		if rerr != nil {
			return 0, 0, rerr
		}
	}
}
