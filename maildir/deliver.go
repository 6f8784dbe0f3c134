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
	"syscall"
	"time"

	"github.com/heraldmail/herald/internal/groupcommit"
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
// "<unique>,S=<size>,W=<size with CRLF>", given the next UID in
// dovecot-uidlist, and the directory and dovecot-uidlist are fsynced: when
// Deliver returns nil, the message is on disk and survives a crash. The
// fsyncs are shared with the concurrent deliveries (and delivery queue
// writes) of the process, unless Options.SyncEach is set: a delivery waits
// for the sync in progress, if any, and is then synced in one batch with
// those that waited beside it. If the UID cannot be assigned (a lock held
// too long), the message is delivered all the same, its UID is 0 and the
// next [Maildir.Sync] gives it one.
//
// A message longer than Options.MaxMessageBytes fails with ErrTooLarge, one
// beyond the quota with ErrQuotaExceeded; on any error, and when ctx ends
// while r is read, nothing is left in new/, cur/ or tmp/. Deliver reads r to
// its end; the bytes are stored as they are (CRLF or LF line endings).
func (m *Maildir) Deliver(ctx context.Context, r io.Reader, opts *DeliverOptions) (Message, error) {
	msgs, errs := DeliverMany(ctx, r, []*Maildir{m}, opts)
	return msgs[0], errs[0]
}

// DeliverMany stores one message read from r in each of the targets, as
// [Maildir.Deliver] would, reading r once: the message is written to the
// first target's tmp/ and hard-linked (or, across file systems, copied)
// into the tmp/ of the others, and all the copies share their fsyncs, with
// each other and with concurrent deliveries. It returns one Message and
// one error per target, in order; a nil error means that copy is durable.
// A target that fails (its quota is full, its folder is gone) does not fail
// the others; an error reading r fails them all. The message size limit is
// that of each target's Options; r is read up to the largest of them. The
// committer is that of the first target: the process-wide one, or none
// when its Options.SyncEach is set. A target named twice gets two copies.
func DeliverMany(ctx context.Context, r io.Reader, targets []*Maildir, opts *DeliverOptions) ([]Message, []error) {
	var o DeliverOptions
	if opts != nil {
		o = *opts
	}
	msgs := make([]Message, len(targets))
	errs := make([]error, len(targets))
	if len(targets) == 0 {
		_, _ = io.Copy(io.Discard, r)
		return msgs, errs
	}
	ds := make([]*delivery, len(targets))
	live := 0
	limit := int64(0)
	for i, m := range targets {
		d := &delivery{m: m}
		ds[i] = d
		d.err = m.prepare(ctx, &o, &d.flags)
		if d.err == nil {
			live++
			limit = max(limit, m.opts.MaxMessageBytes)
		}
	}
	if live == 0 {
		return msgs, collect(ds, msgs, errs)
	}
	// Spool into the first target that can take it.
	var spool *delivery
	for _, d := range ds {
		if d.err != nil {
			continue
		}
		f, base, tmpPath, err := d.m.createTmp()
		if err != nil {
			d.err = err
			continue
		}
		d.f, d.base, d.tmp = f, base, tmpPath
		spool = d
		break
	}
	if spool == nil {
		return msgs, collect(ds, msgs, errs)
	}
	f, tmpPath := spool.f, spool.tmp
	size, vsize, err := copyCounting(ctx, f, r, limit)
	if err != nil {
		f.Close()
		os.Remove(tmpPath)
		for _, d := range ds {
			if d.err == nil {
				d.err = wrap("deliver", d.m.dir, err)
			}
		}
		return msgs, collect(ds, msgs, errs)
	}
	for _, d := range ds {
		if d.err != nil || d == spool {
			continue
		}
		if size > d.m.opts.MaxMessageBytes {
			d.err = wrap("deliver", d.m.dir, ErrTooLarge)
			continue
		}
		d.err = d.m.tmpCopy(d, spool)
	}
	if size > spool.m.opts.MaxMessageBytes {
		spool.err = wrap("deliver", spool.m.dir, ErrTooLarge)
	}
	c := spool.m.committer()
	// Phase 1: the data of every copy is on disk before any name of it
	// appears in new/ or cur/.
	// A hard-linked copy is the spool's inode.
	reqs := make([]groupcommit.Request, len(ds))
	for i, d := range ds {
		if d.err == nil {
			f := d.f
			if f == nil {
				f = spool.f
			}
			reqs[i].Files = []*os.File{f}
		}
	}
	serrs := commit(ctx, c, reqs)
	for i, d := range ds {
		if d.f != nil {
			if err := d.f.Close(); err != nil && serrs[i] == nil {
				serrs[i] = err
			}
		}
		if d.err == nil && serrs[i] != nil {
			d.err = wrap("deliver", d.m.dir, serrs[i])
		}
	}
	// Phase 2: link into new/ or cur/, assign the UID, then sync the
	// directories and dovecot-uidlist.
	for i, d := range ds {
		reqs[i] = groupcommit.Request{}
		if d.err != nil {
			continue
		}
		d.err = d.m.link(ctx, d, size, vsize, o.Time)
		if d.err == nil {
			reqs[i].Paths = d.syncPaths
		}
	}
	serrs = commit(ctx, c, reqs)
	for i, d := range ds {
		if d.tmp != "" {
			os.Remove(d.tmp)
		}
		if d.err != nil {
			continue
		}
		d.err = d.m.installed(d, size, serrs[i])
	}
	return msgs, collect(ds, msgs, errs)
}

// installed ends a delivery whose final name was synced with the result
// err: it charges the quota, or removes the name again.
func (m *Maildir) installed(d *delivery, size int64, err error) error {
	if err != nil {
		os.Remove(filepath.Join(m.dir, d.entry.rel()))
		return wrap("deliver", m.dir, err)
	}
	if m.quota != nil {
		m.quota.add(size, 1)
	}
	return nil
}

// install moves the synced file tmpPath into new/ (flags empty) or cur/,
// assigns a UID, syncs the directory and dovecot-uidlist and charges the
// quota. The tmp file is removed in every case.
func (m *Maildir) install(ctx context.Context, tmpPath, base string, size, vsize int64, flags Flags, t time.Time) (Message, error) {
	defer os.Remove(tmpPath)
	d := &delivery{m: m, flags: flags, base: base, tmp: tmpPath}
	if err := m.link(ctx, d, size, vsize, t); err != nil {
		return Message{}, err
	}
	err := commit(ctx, m.committer(), []groupcommit.Request{{Paths: d.syncPaths}})[0]
	if err := m.installed(d, size, err); err != nil {
		return Message{}, err
	}
	return d.msg, nil
}

// delivery is one target of DeliverMany.
type delivery struct {
	m         *Maildir
	flags     Flags
	f         *os.File // the tmp/ file while its data is synced
	base, tmp string
	entry     fileEntry
	msg       Message
	syncPaths []string
	err       error
}

func collect(ds []*delivery, msgs []Message, errs []error) []error {
	for i, d := range ds {
		msgs[i], errs[i] = d.msg, d.err
		if d.err != nil {
			msgs[i] = Message{}
		}
	}
	return errs
}

// prepare checks what can be checked before reading the message: ctx, the
// quota, the keywords, which it adds to dovecot-keywords as needed.
func (m *Maildir) prepare(ctx context.Context, o *DeliverOptions, flags *Flags) error {
	if err := ctx.Err(); err != nil {
		return wrap("deliver", m.dir, err)
	}
	if m.quota != nil {
		if err := m.quota.check(0); err != nil {
			return wrap("deliver", m.dir, err)
		}
	}
	sys, _ := MakeFlags(string(o.Flags)).split()
	letters, err := m.keywordLetters(ctx, o.Keywords, true)
	if err != nil {
		return err
	}
	*flags = sys.Union(letters)
	return nil
}

func (m *Maildir) committer() *groupcommit.Committer {
	if m.opts.SyncEach {
		return nil
	}
	return groupcommit.Shared()
}

// commit syncs the requests through c, or one by one when c is nil.
func commit(ctx context.Context, c *groupcommit.Committer, reqs []groupcommit.Request) []error {
	return c.SyncAll(ctx, reqs)
}

// tmpCopy gives d a file in its tmp/ with the contents of the spool: a hard
// link on the same file system, a copy otherwise.
func (m *Maildir) tmpCopy(d, spool *delivery) error {
	for range 100 {
		base := uniqueBase(m.opts.now(), m.q.Add(1), m.opts.Hostname)
		p := filepath.Join(m.dir, "tmp", base)
		err := os.Link(spool.tmp, p)
		if err == nil {
			d.base, d.tmp = base, p
			return nil
		}
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		var le *os.LinkError
		if !errors.As(err, &le) || !errors.Is(le.Err, syscall.EXDEV) && !errors.Is(le.Err, syscall.EPERM) && !errors.Is(le.Err, syscall.EMLINK) {
			if errors.Is(err, fs.ErrNotExist) {
				err = &noFolderError{err}
			}
			return wrap("deliver", m.dir, err)
		}
		// Another file system (or no hard links there): copy.
		src, err := os.Open(spool.tmp)
		if err != nil {
			return wrap("deliver", m.dir, err)
		}
		defer src.Close()
		f, base, tmpPath, err := m.createTmp()
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, src); err != nil {
			f.Close()
			os.Remove(tmpPath)
			return wrap("deliver", m.dir, err)
		}
		d.f, d.base, d.tmp = f, base, tmpPath
		return nil
	}
	return &Error{Op: "deliver", Path: m.dir, Err: fs.ErrExist}
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

// link moves the synced file d.tmp into new/ (no flags) or cur/ and
// assigns its UID, without syncing either: it sets d.syncPaths to what must
// be synced before the delivery counts, and d.msg.
func (m *Maildir) link(ctx context.Context, d *delivery, size, vsize int64, t time.Time) error {
	fail := func(err error) error { return wrap("deliver", m.dir, err) }
	if m.quota != nil {
		if err := m.quota.check(size); err != nil {
			return fail(err)
		}
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	if !t.IsZero() {
		if err := os.Chtimes(d.tmp, t, t); err != nil {
			return fail(err)
		}
	}
	b := append([]byte(d.base), ",S="...)
	b = strconv.AppendInt(b, size, 10)
	if vsize >= 0 {
		b = append(b, ",W="...)
		b = strconv.AppendInt(b, vsize, 10)
	}
	final := string(b)
	e := fileEntry{sub: "new", name: final}
	if d.flags != "" {
		e = fileEntry{sub: "cur", name: withFlags(final, d.flags)}
	}
	dest := filepath.Join(m.dir, e.rel())
	// link() never replaces an existing file, unlike rename().
	if err := os.Link(d.tmp, dest); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fail(err)
		}
		if err := os.Rename(d.tmp, dest); err != nil {
			return fail(err)
		}
	}
	d.entry = e
	d.syncPaths = []string{filepath.Join(m.dir, e.sub)}
	msg := Message{Key: final, Name: e.name, Size: size, New: e.sub == "new"}
	msg.Flags, msg.letters = d.flags.split()
	if msg.letters != "" {
		if kw, err := m.readKeywords(); err == nil {
			msg.Keywords = keywordNames(kw, msg.letters)
		}
	}
	uid, synced, err := m.assignOne(ctx, final, e)
	if err != nil {
		m.opts.Logger.Warn("maildir: delivered message has no UID yet", "dir", m.dir, "file", e.name, "err", err)
	}
	if uid != 0 && !synced {
		d.syncPaths = append(d.syncPaths, filepath.Join(m.dir, uidListName))
	}
	msg.UID = uid
	d.msg = msg
	return nil
}

// assignOne gives the message base the next UID, appending one record to
// dovecot-uidlist under its lock; a missing or corrupt list is built by a
// full sync instead. synced reports whether dovecot-uidlist was synced;
// an appended record is not, unless Options.SyncEach is set.
func (m *Maildir) assignOne(ctx context.Context, base string, e fileEntry) (uid uint32, synced bool, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.refresh(); err != nil {
		return 0, false, err
	}
	if m.ul != nil && !m.corrupt {
		path := filepath.Join(m.dir, uidListName)
		lk, err := lockFile(ctx, path, m.opts.lockTimeout(), m.opts.staleLockTimeout(), m.opts.now)
		if err != nil {
			return 0, false, err
		}
		defer lk.unlock()
		if err := m.refresh(); err != nil {
			return 0, false, err
		}
		if m.ul != nil && !m.corrupt {
			if uid, ok := m.uids[base]; ok {
				return uid, true, nil
			}
			recs := m.assign([]string{base})
			if m.names != nil {
				m.names[base] = e
			}
			return recs[0].uid, m.opts.SyncEach, m.appendRecords(path, recs, m.opts.SyncEach)
		}
		lk.unlock()
	}
	files, err := m.scanAll()
	if err != nil {
		return 0, false, err
	}
	if _, err := m.lockedSync(ctx, false, &files); err != nil {
		return 0, false, err
	}
	return m.uids[base], true, nil
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
