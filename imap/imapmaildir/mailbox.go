package imapmaildir

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"

	"golang.org/x/sys/unix"

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

// ClaimRecent implements [imap.MailboxRecent]: the messages that were in
// new/ when the folder was first read, and those delivered since, are
// recent until a read-write session claims them. The claims are kept in
// memory, shared by the Backend's sessions.
func (h *handle) ClaimRecent(ctx context.Context, uids []imap.UID) []imap.UID {
	x := h.idx
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.recentSet {
		x.recentFrom, x.recentSet = x.next, true
		for _, e := range x.msgs {
			if e.new && e.uid < x.recentFrom {
				x.recentFrom = e.uid
			}
		}
	}
	var out []imap.UID
	for _, u := range uids {
		if uint32(u) >= x.recentFrom {
			out = append(out, u)
		}
	}
	if !h.readOnly && len(uids) > 0 && uint32(uids[len(uids)-1]) >= x.recentFrom {
		x.recentFrom = uint32(uids[len(uids)-1]) + 1
	}
	return out
}

func (h *handle) Messages(ctx context.Context) ([]imap.MessageInfo, error) {
	return h.idx.messages(), nil
}

// Version implements [imap.MailboxVersion].
func (h *handle) Version(ctx context.Context) (uint64, error) {
	return h.idx.version.Load(), nil
}

// OpenAhead implements [imap.MailboxOpenAhead]: Open is safe from another
// goroutine, and a FETCH of bodies reads up to this many files ahead.
func (h *handle) OpenAhead() int { return openAhead }

// openAhead is how many messages a FETCH opens ahead of the one it sends:
// enough to keep the next files read while one is written, few enough
// that the buffers held stay small (at most 64 KiB each).
const openAhead = 16

// Open returns the message file, read with CRLF line endings when it has
// bare LFs. A file that is gone, cannot be read or does not have the size
// its name gives is skipped with a log line: the server answers NO
// [EXPUNGEISSUED] for it and goes on with the others.
func (h *handle) Open(ctx context.Context, uid imap.UID) (imap.Content, error) {
	file, size, raw, verified, ok := h.idx.fileOf(uint32(uid))
	if !ok {
		return nil, imap.ErrNoSuchMessage
	}
	defer file.dirs.release()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if raw <= smallFile {
		// The file where the index last saw it; one renamed since by
		// another process is looked for below.
		dirfd, name := file.dirFD()
		c, err := openSmall(dirfd, name, size, raw, !verified, &h.u.b.bufs)
		if err == nil {
			return c, nil
		}
		if errors.Is(err, errFileSize) {
			h.u.b.logger().Warn("imapmaildir: message file does not have the size in its name, skipped", "dir", h.idx.md.Dir(), "uid", uid, "file", file.path())
			return nil, imap.ErrNoSuchMessage
		}
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
	// The size with CRLF is known right when a summary was made from
	// this very file; else the file is scanned first.
	c, err := newCRLFContent(f, size, !h.idx.verified(uint32(uid)), &h.u.b.bufs)
	if err != nil || c.size != size {
		return skip(err)
	}
	return c, nil
}

// summaryWorkers is how many messages Summaries parses at once: reading
// files not in the page cache overlaps, even on one core.
const summaryWorkers = 2

// Summaries implements imap.MailboxSummaries from the folder's metadata
// cache; messages without a summary yet are parsed, several at once, and
// their summaries kept.
func (h *handle) Summaries(ctx context.Context, uids []imap.UID, fn func(i int, s *imap.Summary, err error) error) error {
	x := h.idx
	sums := make([]*imap.Summary, len(uids))
	var miss []int
	var ents []entry
	x.mu.Lock()
	x.loadCacheLocked()
	for i, u := range uids {
		j, ok := x.find(uint32(u))
		if !ok {
			continue
		}
		e := &x.msgs[j]
		if c, ok := x.sums[e.uid]; ok && c.matches(e) {
			sums[i] = c.sum
			continue
		}
		miss = append(miss, i)
		ents = append(ents, *e)
	}
	x.mu.Unlock()

	// Parse the misses ahead of the writer, in order: a prefetcher
	// opens the files up to summaryAhead messages ahead and has the
	// kernel read them (which overlaps the reads of files not in the
	// page cache without a thread each), and workers parse them.
	res := make([]sumJob, len(miss))
	for k := range res {
		res[k].e = &ents[k]
		res[k].opened = make(chan struct{})
		res[k].done = make(chan struct{})
	}
	quit := make(chan struct{})
	defer close(quit)
	ahead := make(chan struct{}, summaryAhead)
	if len(miss) > 0 {
		go func() {
			for k := range res {
				select {
				case ahead <- struct{}{}:
				case <-quit:
					return
				}
				res[k].f, res[k].err = h.openForSummary(ctx, res[k].e)
				close(res[k].opened)
			}
		}()
		next := make(chan int, len(miss))
		for k := range miss {
			next <- k
		}
		close(next)
		for range min(summaryWorkers, len(miss)) {
			go func() {
				var buf []byte // the file read, reused
				for k := range next {
					j := &res[k]
					select {
					case <-j.opened:
					case <-quit:
						return
					}
					if j.err == nil {
						j.sum, j.err = h.summarize(j.f, j.e, &buf)
						j.f.Close()
					}
					close(j.done)
				}
			}()
		}
	}
	k := 0
	for i, u := range uids {
		s := sums[i]
		var err error
		if k < len(miss) && miss[k] == i {
			select {
			case <-res[k].done:
			case <-ctx.Done():
				return ctx.Err()
			}
			s, err = res[k].sum, res[k].err
			k++
			<-ahead
		} else if s == nil {
			err = imap.ErrNoSuchMessage
		}
		_ = u
		if err := fn(i, s, err); err != nil {
			return err
		}
	}
	return nil
}

// sumJob is one message Summaries parses.
type sumJob struct {
	e      *entry
	f      *os.File
	sum    *imap.Summary
	err    error
	opened chan struct{} // f and err are set
	done   chan struct{} // sum and err are set
}

// summaryAhead bounds the files Summaries has open ahead of the writer.
const summaryAhead = 256

// openForSummary opens the file of e and asks the kernel to read it in.
// A file that is gone or cannot be opened gives an error wrapping
// imap.ErrNoSuchMessage, with a log line.
func (h *handle) openForSummary(ctx context.Context, e *entry) (*os.File, error) {
	x := h.idx
	// At the path the index has, with the system calls of an open
	// only (os.Open adds five); a file renamed since is looked for.
	path := e.path(x.md.Dir())
	if fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOCTTY, 0); err == nil {
		unix.Fadvise(fd, 0, 0, unix.FADV_WILLNEED)
		return os.NewFile(uintptr(fd), path), nil
	}
	f, err := x.md.OpenMessage(ctx, e.uid)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !errors.Is(err, maildir.ErrGone) {
			h.u.b.logger().Warn("imapmaildir: cannot open message, skipped", "dir", x.md.Dir(), "uid", e.uid, "err", err)
		}
		return nil, &sentinelError{imap.ErrNoSuchMessage, err}
	}
	unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_WILLNEED)
	return f, nil
}

// summarize parses the message e from its file f and keeps its summary. A
// file that cannot be read or is not what its name says gives an error
// wrapping imap.ErrNoSuchMessage, with a log line.
func (h *handle) summarize(f *os.File, e *entry, buf *[]byte) (*imap.Summary, error) {
	x := h.idx
	var src io.Reader = f
	if e.raw <= maxWholeRead {
		// One read for the file: the scan then runs on memory.
		if int64(cap(*buf)) < e.raw+1 {
			*buf = make([]byte, e.raw+1)
		}
		b := (*buf)[:e.raw+1]
		// One read: a regular file gives all it has up to the size
		// asked; fewer bytes than its size only when interrupted.
		n, err := f.Read(b)
		for err == nil && n > 0 && int64(n) < e.raw {
			var m int
			m, err = f.Read(b[n:])
			n += m
		}
		if err != nil && err != io.EOF { // EOF: an empty file
			h.u.b.logger().Warn("imapmaildir: cannot read message, skipped", "dir", x.md.Dir(), "uid", e.uid, "err", err)
			return nil, &sentinelError{imap.ErrNoSuchMessage, err}
		}
		src = bytes.NewReader(b[:n])
	}
	cr := &countReader{r: src}
	var r io.Reader = cr
	if e.raw != e.size {
		c := crlfReaders.Get().(*crlfReader)
		c.reset(cr)
		defer func() {
			c.reset(nil)
			crlfReaders.Put(c)
		}()
		r = c
	}
	s, err := imap.Summarize(r)
	if err == nil && (cr.n != e.raw || s.Size() != e.size) {
		err = errors.New("the file does not have the size in its name")
	}
	if err != nil {
		h.u.b.logger().Warn("imapmaildir: cannot parse message, skipped", "dir", x.md.Dir(), "uid", e.uid, "file", f.Name(), "err", err)
		return nil, &sentinelError{imap.ErrNoSuchMessage, err}
	}
	x.mu.Lock()
	if j, ok := x.find(e.uid); ok && x.msgs[j].base == e.base {
		x.keepLocked(&x.msgs[j], s)
	}
	x.mu.Unlock()
	return s, nil
}

// maxWholeRead is the largest message file summarize reads at once.
const maxWholeRead = 4 << 20

// countReader counts the bytes read.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func toUint32(uids []imap.UID) []uint32 {
	out := make([]uint32, len(uids))
	for i, u := range uids {
		out[i] = uint32(u)
	}
	return out
}

func (h *handle) Store(ctx context.Context, uids []imap.UID, op imap.StoreOp, flags []imap.Flag) error {
	h.idx.storeMu.Lock()
	defer h.idx.storeMu.Unlock()
	return h.storeLocked(ctx, uids, op, flags)
}

// StoreUnchanged implements [imap.MailboxStoreUnchanged]: the check of
// the mod-sequences and the store are one step for every session of this
// Backend, as both hold the folder's store lock, so that of two sessions
// storing with the same UNCHANGEDSINCE the second always finds the
// first's change. A change by another process (Dovecot, a mail reader on
// the Maildir) counts from when the index notices it.
func (h *handle) StoreUnchanged(ctx context.Context, uids []imap.UID, unchangedSince uint64, op imap.StoreOp, flags []imap.Flag) ([]imap.UID, error) {
	x := h.idx
	x.storeMu.Lock()
	defer x.storeMu.Unlock()
	var modified, targets []imap.UID
	x.mu.Lock()
	for _, u := range uids {
		i, ok := x.find(uint32(u))
		switch {
		case !ok:
			// Expunged meanwhile: nothing to store.
		case x.msgs[i].modseq > unchangedSince:
			modified = append(modified, u)
		default:
			targets = append(targets, u)
		}
	}
	x.mu.Unlock()
	if len(targets) == 0 {
		return modified, nil
	}
	return modified, h.storeLocked(ctx, targets, op, flags)
}

// storeLocked changes the flags; the caller holds h.idx.storeMu.
func (h *handle) storeLocked(ctx context.Context, uids []imap.UID, op imap.StoreOp, flags []imap.Flag) error {
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
