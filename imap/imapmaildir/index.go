package imapmaildir

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/heraldmail/herald/imap"
	"github.com/heraldmail/herald/maildir"
)

// entry is one message of an index.
type entry struct {
	uid     uint32
	base    string
	name    string        // file name, with the info part
	new     bool          // in new/ rather than cur/
	size    int64         // RFC822.SIZE: the ",W=" size (with CRLF) when known
	raw     int64         // the file's size, ",S="
	date    time.Time     // INTERNALDATE: the file's modification time
	letters maildir.Flags // every letter of the info part
	flags   []imap.Flag   // never changed in place: replaced
	modseq  uint64        // mod-sequence of the last change (modseq.go)
}

// setSize sets the sizes from the file name n, or from raw, the file's
// size, where the name has none.
func (e *entry) setSize(n maildir.Name, raw int64) {
	e.raw = raw
	if n.Size >= 0 {
		e.raw = n.Size
	}
	e.size = e.raw
	if n.VSize >= 0 {
		e.size = n.VSize
	}
}

func (e *entry) path(dir string) string {
	// dir is clean and e.name one element: no filepath.Join, which
	// cleans the result again, on the path of every message sent.
	sub := "/cur/"
	if e.new {
		sub = "/new/"
	}
	return dir + sub + e.name
}

// index is the state of one folder kept in memory, shared by every session
// of the Backend that has it open. While a session has it selected, a
// watcher (inotify, or polling) keeps it current, and commands are answered
// without reading the folder again; changes made through the Backend are
// applied to it directly.
type index struct {
	// version changes with every change of msgs (imap.MailboxVersion):
	// each refresh, insert, recompute and notify moves it on, under mu;
	// it is read without mu, so that a session asking whether anything
	// changed does not wait for a change being made.
	version atomic.Uint64
	b       *Backend
	md      *maildir.Maildir

	// storeMu makes each store of flags one step with the check of
	// STORE (UNCHANGEDSINCE) before it (mailbox.go); taken before mu.
	storeMu sync.Mutex

	mu       sync.Mutex
	loaded   bool // msgs hold the folder as of the last refresh
	live     bool // a watcher keeps msgs current
	gone     bool // the folder was deleted or renamed
	validity uint32
	next     uint32
	msgs     []entry // by ascending UID
	// snap is msgs as the Mailbox returns them, made once per version
	// and shared by every session until the next change (snapOK: made
	// at snapVersion).
	snap        []imap.MessageInfo
	snapVersion uint64
	snapOK      bool
	byBase      map[string]uint32
	kw          []string // dovecot-keywords, the keyword of each letter a-z
	handles     map[*handle]struct{}
	stop        func() // ends the watcher
	// dirs resolve the names of message files while a watcher runs
	// (nil when cur/ and new/ could not be opened).
	dirs  *dirFDs
	reads int // full reads of the folder, for tests

	// recentFrom is the lowest UID that no session has claimed as
	// \Recent; when recentSet is false it is not known yet, and the
	// messages in new/ are the recent ones, as for Dovecot.
	recentFrom uint32
	recentSet  bool

	// sig is the state of the folder's files when it was last read
	// completely (see dirSig), for SELECT without a watcher running.
	sig dirSig

	// keys are the server's SORT and THREAD keys (sortkeys.go).
	keys keyCache

	// The metadata cache (cache.go).
	sums       map[uint32]*cached
	sumBytes   int64
	cacheRead  bool // the cache file was read
	cacheDirty bool // sums differ from the cache file
	flushTimer *time.Timer
	flushMu    sync.Mutex // one writer of the cache file at a time

	ms modseqState // mod-sequences (modseq.go)
}

func newIndex(b *Backend, md *maildir.Maildir) *index {
	return &index{b: b, md: md, handles: map[*handle]struct{}{}, sums: map[uint32]*cached{}}
}

func (x *index) dead() bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.gone
}

var errFolderGone = &imap.Error{Type: imap.StatusNo, Code: imap.CodeNonExistent, Text: "Mailbox was deleted or renamed", Err: imap.ErrNoSuchMailbox}

// kill marks the folder gone: sessions that have it selected see it empty.
func (x *index) kill() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.gone, x.msgs, x.byBase, x.loaded = true, nil, nil, false
	x.version.Add(1)
	if x.stop != nil {
		x.stop()
		x.stop = nil
	}
	x.live = false
	x.dirs.release()
	x.dirs = nil
	x.notify(nil)
}

// ensure brings the index up to date unless a watcher keeps it so.
func (x *index) ensure(ctx context.Context) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.gone {
		return errFolderGone
	}
	if x.live && x.loaded {
		return nil
	}
	_, err := x.refreshLocked(ctx)
	return err
}

// refreshLocked reads the whole folder again with maildir.Sync, keeping
// the dates of the messages it knows, and reports whether anything
// changed. x.mu is held.
func (x *index) refreshLocked(ctx context.Context) (bool, error) {
	x.reads++
	x.version.Add(1)
	// Taken before the folder is read, so that a change made while
	// it is read shows as a difference next time.
	sig := x.readSig()
	snap, err := x.md.Sync(ctx, nil)
	if err != nil {
		return false, err
	}
	kw, err := x.md.KeywordTable()
	if err != nil {
		return false, err
	}
	old := make(map[string]*entry, len(x.msgs))
	for i := range x.msgs {
		old[x.msgs[i].base] = &x.msgs[i]
	}
	kwChanged := !slices.Equal(kw, x.kw)
	x.kw = kw
	changed := !x.loaded || kwChanged || snap.UIDValidity != x.validity || len(snap.Messages) != len(x.msgs)
	msgs := make([]entry, len(snap.Messages))
	byBase := make(map[string]uint32, len(snap.Messages))
	var undated []*entry
	for i, m := range snap.Messages {
		e := &msgs[i]
		n, _ := maildir.ParseName(m.Name)
		*e = entry{uid: m.UID, base: m.Key, name: m.Name, new: m.New, letters: n.Flags()}
		e.setSize(n, m.Size)
		byBase[m.Key] = m.UID
		if o, ok := old[m.Key]; ok && o.uid == m.UID {
			e.date = o.date
			if o.letters == e.letters && !kwChanged {
				e.flags = o.flags
			}
			changed = changed || o.letters != e.letters
		} else {
			changed = true
			undated = append(undated, e)
		}
		if e.flags == nil {
			e.flags = x.flagsOf(e.letters)
		}
	}
	statDates(x.md.Dir(), undated)
	x.modseqsRefreshed(old, msgs, snap.UIDValidity, kwChanged)
	if x.loaded && snap.UIDValidity != x.validity {
		x.dropSumsLocked()
	}
	x.msgs, x.byBase = msgs, byBase
	x.validity, x.next = snap.UIDValidity, snap.UIDNext
	x.loaded = true
	x.sig = sig
	return changed, nil
}

// flagsOf returns the IMAP flags of the info part letters f.
func (x *index) flagsOf(f maildir.Flags) []imap.Flag {
	sys, kl := f.Split()
	return imapFlags(sys, keywordsOf(x.kw, kl))
}

// statDates sets the dates of es from their files' modification times, in
// parallel for a large folder read cold.
func statDates(dir string, es []*entry) {
	const workers = 8
	if len(es) < 256 {
		for _, e := range es {
			e.date = fileDate(dir, e)
		}
		return
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(es); i += workers {
				es[i].date = fileDate(dir, es[i])
			}
		})
	}
	wg.Wait()
}

// fileDate returns a message's INTERNALDATE: its file's modification time,
// as Dovecot reads it, or the time in its name when the file is gone.
func fileDate(dir string, e *entry) time.Time {
	if fi, err := os.Stat(e.path(dir)); err == nil {
		return fi.ModTime()
	}
	if dot := strings.IndexByte(e.base, '.'); dot > 0 {
		if sec, err := strconv.ParseInt(e.base[:dot], 10, 64); err == nil {
			return time.Unix(sec, 0)
		}
	}
	return time.Unix(0, 0)
}

func (x *index) find(uid uint32) (int, bool) {
	return slices.BinarySearchFunc(x.msgs, uid, func(e entry, u uint32) int {
		return int(int64(e.uid) - int64(u))
	})
}

// status returns the counters of the index; x.mu is not held.
func (x *index) status() imap.MailboxStatus {
	x.mu.Lock()
	defer x.mu.Unlock()
	st := imap.MailboxStatus{Messages: uint32(len(x.msgs)), UIDNext: imap.UID(x.next), UIDValidity: x.validity, NewKeywords: true, HighestModSeq: x.ms.highest}
	for i := range x.msgs {
		e := &x.msgs[i]
		st.Size += e.size
		if !e.letters.Has(maildir.FlagSeen) {
			st.Unseen++
		}
		if e.letters.Has(maildir.FlagTrashed) {
			st.Deleted++
		}
	}
	for _, k := range x.kw {
		if k != "" {
			st.Keywords = append(st.Keywords, imap.Flag(k))
		}
	}
	return st
}

// messages returns the messages for the server's view.
func (x *index) messages() []imap.MessageInfo {
	x.mu.Lock()
	defer x.mu.Unlock()
	// Every change of msgs moves version on under x.mu, so a list made
	// at this version is still the folder: ten sessions told of one
	// change share one copy instead of making ten.
	if x.snapOK && x.snapVersion == x.version.Load() {
		return x.snap
	}
	out := make([]imap.MessageInfo, len(x.msgs))
	for i := range x.msgs {
		e := &x.msgs[i]
		out[i] = imap.MessageInfo{UID: imap.UID(e.uid), Flags: e.flags, Size: e.size, InternalDate: e.date, ModSeq: e.modseq}
	}
	x.snap, x.snapVersion, x.snapOK = out, x.version.Load(), true
	return out
}

// notify signals every handle but skip.
func (x *index) notify(skip *handle) {
	x.version.Add(1)
	x.b.touched(filepath.Clean(x.md.Dir()))
	for h := range x.handles {
		if h == skip {
			continue
		}
		select {
		case h.ch <- struct{}{}:
		default:
		}
	}
}

// insertLocked adds a message the index does not hold yet.
func (x *index) insertLocked(e entry) {
	x.version.Add(1)
	if _, ok := x.byBase[e.base]; ok {
		return
	}
	e.flags = x.flagsOf(e.letters)
	i, found := x.find(e.uid)
	if found {
		return
	}
	e.modseq = x.batchLocked()
	x.msgs = slices.Insert(x.msgs, i, e)
	x.byBase[e.base] = e.uid
	if e.uid >= x.next {
		x.next = e.uid + 1
	}
}

// added records a message APPEND delivered and returns the folder's
// UIDVALIDITY (0 when unknown).
func (x *index) added(ctx context.Context, msg maildir.Message, date time.Time) uint32 {
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.loaded || x.gone || msg.UID == 0 {
		v, _, err := x.md.UIDValidity()
		if err != nil {
			return 0
		}
		return v
	}
	n, _ := maildir.ParseName(msg.Name)
	e := entry{uid: msg.UID, base: msg.Key, name: msg.Name, new: msg.New, letters: n.Flags(), date: date}
	e.setSize(n, msg.Size)
	if kl := keywordLettersOf(e.letters); kl != "" {
		if kw, err := x.md.KeywordTable(); err == nil {
			x.kw = kw
			x.recomputeLocked()
		}
	}
	if date.IsZero() {
		e.date = fileDate(x.md.Dir(), &e)
	}
	x.insertLocked(e)
	x.endBatchLocked()
	x.notify(nil)
	return x.validity
}

func keywordLettersOf(f maildir.Flags) maildir.Flags {
	_, k := f.Split()
	return k
}

// recomputeLocked derives every message's flags again, after
// dovecot-keywords changed.
func (x *index) recomputeLocked() {
	x.version.Add(1)
	for i := range x.msgs {
		if keywordLettersOf(x.msgs[i].letters) != "" {
			old := x.msgs[i].flags
			x.msgs[i].flags = x.flagsOf(x.msgs[i].letters)
			if !slices.Equal(old, x.msgs[i].flags) {
				x.msgs[i].modseq = x.batchLocked()
			}
		}
	}
}

// flagged records the messages as SetFlags left them.
func (x *index) flagged(msgs []maildir.Message, by *handle) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.loaded {
		return
	}
	defer x.endBatchLocked()
	reread := false
	for _, m := range msgs {
		i, ok := x.find(m.UID)
		if !ok {
			continue
		}
		n, _ := maildir.ParseName(m.Name)
		e := &x.msgs[i]
		e.name, e.new = m.Name, m.New
		if e.letters != n.Flags() {
			e.letters = n.Flags()
			e.modseq = x.batchLocked()
			_, kl := e.letters.Split()
			for j := 0; j < len(kl); j++ {
				if c := int(kl[j] - 'a'); c >= len(x.kw) || x.kw[c] == "" {
					reread = true
				}
			}
			e.flags = nil
		}
	}
	if reread {
		if kw, err := x.md.KeywordTable(); err == nil {
			x.kw = kw
			x.recomputeLocked()
		}
	}
	for i := range x.msgs {
		if x.msgs[i].flags == nil {
			x.msgs[i].flags = x.flagsOf(x.msgs[i].letters)
		}
	}
	x.notify(by)
}

// removed drops the messages with the UIDs uids.
func (x *index) removed(uids []uint32, by *handle) {
	x.mu.Lock()
	defer x.mu.Unlock()
	defer x.endBatchLocked()
	x.removedLocked(uids, by)
}

func (x *index) removedLocked(uids []uint32, by *handle) {
	if len(uids) == 0 {
		return
	}
	drop := make(map[uint32]bool, len(uids))
	for _, u := range uids {
		drop[u] = true
	}
	var gone []uint32
	x.msgs = slices.DeleteFunc(x.msgs, func(e entry) bool {
		if drop[e.uid] {
			delete(x.byBase, e.base)
			gone = append(gone, e.uid)
			return true
		}
		return false
	})
	x.expungedLocked(gone)
	x.notify(by)
}

// deletedUIDs returns the UIDs of the messages flagged \Deleted, only those
// in uids when uids is not nil.
func (x *index) deletedUIDs(uids []imap.UID) []uint32 {
	x.mu.Lock()
	defer x.mu.Unlock()
	var want map[uint32]bool
	if uids != nil {
		want = make(map[uint32]bool, len(uids))
		for _, u := range uids {
			want[uint32(u)] = true
		}
	}
	var out []uint32
	for i := range x.msgs {
		e := &x.msgs[i]
		if e.letters.Has(maildir.FlagTrashed) && (want == nil || want[e.uid]) {
			out = append(out, e.uid)
		}
	}
	return out
}

// fileOf returns where the message uid's file is as the index knows it
// (it may have been renamed since by another process), its size with
// CRLF and its raw size, and whether a summary made from this very file
// verified the size with CRLF. The file's name is resolved against dirs
// when it is not nil; the caller releases dirs after opening the file.
func (x *index) fileOf(uid uint32) (f msgFile, size, raw int64, verified, ok bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	i, ok := x.find(uid)
	if !ok {
		return msgFile{}, 0, 0, false, false
	}
	e := &x.msgs[i]
	c, sum := x.sums[uid]
	f = msgFile{dir: x.md.Dir(), name: e.name, new: e.new}
	if x.dirs != nil {
		x.dirs.refs.Add(1)
		f.dirs = x.dirs
	}
	return f, e.size, e.raw, sum && c.matches(e), true
}

// msgFile is where a message file is: in cur/ or new/ of dir, and
// descriptors of those when the index had them open.
type msgFile struct {
	dir, name string
	new       bool
	dirs      *dirFDs
}

func (f msgFile) path() string {
	e := entry{name: f.name, new: f.new}
	return e.path(f.dir)
}

// dirFD returns the descriptor to open the file relative to, and the name
// to open: the subdirectory's descriptor and the file name, or AT_FDCWD
// and the whole path.
func (f msgFile) dirFD() (int, string) {
	switch {
	case f.dirs == nil:
		return unix.AT_FDCWD, f.path()
	case f.new:
		return f.dirs.new, f.name
	default:
		return f.dirs.cur, f.name
	}
}

// dirFDs are descriptors of a folder's cur/ and new/: a message file
// opened relative to them costs the kernel one name lookup, not the walk
// of the whole path, which was a tenth of the time of a FETCH of bodies.
// They stay valid when the folder is renamed; a file that is not found
// through them is looked for again by maildir. The index holds one
// reference while a watcher runs and each Open one while it opens a file;
// the last release closes them.
type dirFDs struct {
	cur, new int
	refs     atomic.Int32
}

// openDirFDs opens cur/ and new/ of dir, or returns nil.
func openDirFDs(dir string) *dirFDs {
	const flags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC
	cur, err := unix.Open(dir+"/cur", flags, 0)
	if err != nil {
		return nil
	}
	nw, err := unix.Open(dir+"/new", flags, 0)
	if err != nil {
		unix.Close(cur)
		return nil
	}
	d := &dirFDs{cur: cur, new: nw}
	d.refs.Store(1)
	return d
}

// release drops a reference to d, which may be nil.
func (d *dirFDs) release() {
	if d != nil && d.refs.Add(-1) == 0 {
		unix.Close(d.cur)
		unix.Close(d.new)
	}
}

// changed reads the folder again after a change the index cannot follow
// message by message, and tells the sessions.
func (x *index) changed(ctx context.Context) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.loaded || x.gone {
		return
	}
	if _, err := x.refreshLocked(ctx); err != nil {
		x.refreshFailed(err)
		return
	}
	x.notify(nil)
}

// refreshFailed handles an error of a refresh made in the background: a
// folder that is gone is emptied, others are logged.
func (x *index) refreshFailed(err error) {
	if errors.Is(err, maildir.ErrNoFolder) {
		x.gone, x.msgs, x.byBase, x.loaded = true, nil, nil, false
		x.notify(nil)
		return
	}
	x.b.logger().Warn("imapmaildir: reading folder failed", "dir", x.md.Dir(), "err", err)
}

// attach opens the index for a session: it starts the watcher if none
// runs, then brings the index up to date.
func (x *index) attach(ctx context.Context, h *handle) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.gone {
		return errFolderGone
	}
	if x.stop == nil {
		// Nothing watched the folder since the last session: read it
		// again unless its files show it did not change.
		x.stop = x.watch()
		x.live = true
		x.dirs.release()
		x.dirs = openDirFDs(x.md.Dir())
		if !x.sig.trusted() || x.sig.files != x.readSig().files {
			x.loaded = false
		}
	}
	if !x.loaded {
		if _, err := x.refreshLocked(ctx); err != nil {
			if len(x.handles) == 0 {
				x.stop()
				x.stop, x.live = nil, false
				x.dirs.release()
				x.dirs = nil
			}
			return err
		}
	}
	x.handles[h] = struct{}{}
	return nil
}

// detach closes the index for a session; the last one stops the watcher
// and writes the cache file if it changed.
func (x *index) detach(h *handle) {
	x.release(h)
	x.mu.Lock()
	last := len(x.handles) == 0 && x.cacheDirty
	lastMS := len(x.handles) == 0 && x.ms.dirty
	x.mu.Unlock()
	if last {
		x.flush()
	}
	if lastMS {
		x.flushModSeqs()
	}
}

func (x *index) release(h *handle) {
	x.mu.Lock()
	defer x.mu.Unlock()
	delete(x.handles, h)
	if len(x.handles) == 0 && x.stop != nil {
		x.stop()
		x.stop, x.live = nil, false
		x.dirs.release()
		x.dirs = nil
	}
	if len(x.handles) == 0 && x.flushTimer != nil {
		x.flushTimer.Stop()
		x.flushTimer = nil
	}
	if len(x.handles) == 0 {
		x.stopModSeqTimerLocked()
	}
}

// dirSig is what tells whether a folder changed since it was read, without
// reading it: the modification times, sizes and inodes of cur/, new/,
// dovecot-uidlist and dovecot-keywords. Every delivery, flag change
// (rename) or expunge by any process changes one of them.
type dirSig struct {
	files [4]fileSig
	taken time.Time
}

type fileSig struct {
	mtime int64
	size  int64
	ino   uint64
}

// sigFiles are the files of a folder that dirSig covers.
var sigFiles = [4]string{"cur", "new", "dovecot-uidlist", "dovecot-keywords"}

// sigGrace is how old the newest modification time of a signature must be
// for the signature to be trusted: a change in the same tick of the file
// system's clock would leave the time as it was.
const sigGrace = 2 * time.Second

func (x *index) readSig() dirSig {
	sig := dirSig{taken: time.Now()}
	for i, name := range sigFiles {
		fi, err := os.Stat(filepath.Join(x.md.Dir(), name))
		if err != nil {
			sig.files[i] = fileSig{mtime: -1}
			continue
		}
		sig.files[i] = fileSig{mtime: fi.ModTime().UnixNano(), size: fi.Size()}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			sig.files[i].ino = st.Ino
		}
	}
	return sig
}

// trusted reports whether the signature can tell that nothing changed: it
// was taken, and no file was modified shortly before.
func (s dirSig) trusted() bool {
	if s.taken.IsZero() {
		return false
	}
	limit := s.taken.Add(-sigGrace).UnixNano()
	for _, f := range s.files {
		if f.mtime > limit {
			return false
		}
	}
	return true
}
