package maildir

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Message is one message of a [Snapshot].
type Message struct {
	// UID is the message's IMAP UID, stable for the life of the message
	// and shared with Dovecot through dovecot-uidlist.
	UID uint32
	// Key is the base name of the file (the part before ":"), unique in the
	// folder and stable while the message lives: a POP3 unique id.
	Key string
	// Name is the current file name, with the info part.
	Name string
	// Size is the size of the file in bytes, from ",S=" in the name when
	// present and from the file system otherwise.
	Size int64
	// Flags holds the flag letters other than the keyword letters a-z: the
	// standard ones (FlagSeen...) and any unknown ones, which are kept.
	Flags Flags
	// Keywords are the IMAP keywords of the letters a-z, as
	// dovecot-keywords maps them.
	Keywords []string
	// New reports a message still in new/: no client has seen it yet.
	New bool
	// Recent reports a message that this call to Sync moved from new/ to
	// cur/ (the IMAP \Recent flag of the session that did it).
	Recent bool

	letters Flags // the keyword letters a-z of the file name
}

// path returns the message file's path relative to the folder, such as
// "cur/1700000000.M1P2Q3.host,S=42:2,S".
func (msg *Message) path() string {
	if msg.New {
		return "new/" + msg.Name
	}
	return "cur/" + msg.Name
}

// Snapshot is the state of a folder at one point in time.
type Snapshot struct {
	// UIDValidity is the folder's UIDVALIDITY.
	UIDValidity uint32
	// UIDNext is the UID the next new message will get.
	UIDNext uint32
	// Messages are sorted by UID.
	Messages []Message
}

// Find returns the index of the message with the UID uid, and whether it is
// there.
func (s *Snapshot) Find(uid uint32) (int, bool) {
	i := sort.Search(len(s.Messages), func(i int) bool { return s.Messages[i].UID >= uid })
	return i, i < len(s.Messages) && s.Messages[i].UID == uid
}

// Changes is what changed between two snapshots of a folder, for an IMAP
// server's untagged EXPUNGE, EXISTS and FETCH FLAGS responses.
type Changes struct {
	// Reset reports a changed UIDVALIDITY: every UID of the old snapshot
	// is void, and the client must resynchronise from scratch.
	Reset bool
	// Expunged are the UIDs of the old snapshot that are gone, ascending.
	Expunged []uint32
	// Added are the messages that are new since the old snapshot.
	Added []Message
	// Changed are the messages of both whose flags or keywords differ.
	Changed []Message
}

// Diff returns what changed from old to s.
func (s *Snapshot) Diff(old *Snapshot) Changes {
	var c Changes
	if old.UIDValidity != s.UIDValidity {
		c.Reset = true
		c.Added = s.Messages
		return c
	}
	i, j := 0, 0
	for i < len(old.Messages) || j < len(s.Messages) {
		switch {
		case j == len(s.Messages) || i < len(old.Messages) && old.Messages[i].UID < s.Messages[j].UID:
			c.Expunged = append(c.Expunged, old.Messages[i].UID)
			i++
		case i == len(old.Messages) || s.Messages[j].UID < old.Messages[i].UID:
			c.Added = append(c.Added, s.Messages[j])
			j++
		default:
			if old.Messages[i].Flags != s.Messages[j].Flags || old.Messages[i].letters != s.Messages[j].letters {
				c.Changed = append(c.Changed, s.Messages[j])
			}
			i++
			j++
		}
	}
	return c
}

// SyncOptions configures [Maildir.Sync]; nil means the zero value.
type SyncOptions struct {
	// ClaimNew moves the messages of new/ to cur/ and reports them with
	// Recent set, as an IMAP server does when it opens the folder read-write.
	// A POP3 server leaves it false.
	ClaimNew bool
}

// Sync reads the folder: it lists cur/ and new/, gives the messages that do
// not have a UID yet the next UIDs in order of arrival (recording them in
// dovecot-uidlist under its lock), forgets the UIDs of messages that are
// gone, and returns the messages sorted by UID.
//
// When every message already has a UID, Sync takes no lock and writes
// nothing. A corrupt dovecot-uidlist is rebuilt with a new UIDVALIDITY, as
// Dovecot does.
func (m *Maildir) Sync(ctx context.Context, opts *SyncOptions) (*Snapshot, error) {
	var o SyncOptions
	if opts != nil {
		o = *opts
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.refresh(); err != nil {
		return nil, err
	}
	files, err := m.scanAll()
	if err != nil {
		return nil, err
	}
	var recent map[string]bool
	if m.needsLock(files, o.ClaimNew) {
		if recent, err = m.lockedSync(ctx, o.ClaimNew, &files); err != nil {
			return nil, err
		}
	}
	return m.snapshot(files, recent)
}

// needsLock reports whether a sync must write: messages without a UID, no
// or a corrupt uidlist, records of gone messages, or new/ to claim.
func (m *Maildir) needsLock(files map[string]fileEntry, claimNew bool) bool {
	if m.ul == nil || m.corrupt || len(m.uids) != len(files) {
		return true
	}
	for base, e := range files {
		if _, ok := m.uids[base]; !ok {
			return true
		}
		if claimNew && e.sub == "new" {
			return true
		}
	}
	return false
}

// lockedSync assigns UIDs, drops records of gone messages and claims new/
// under the uidlist lock; *files is updated. It returns the base names of
// the messages it moved from new/ to cur/.
func (m *Maildir) lockedSync(ctx context.Context, claimNew bool, files *map[string]fileEntry) (recent map[string]bool, err error) {
	path := filepath.Join(m.dir, uidListName)
	lk, err := lockFile(ctx, path, m.opts.lockTimeout(), m.opts.staleLockTimeout(), m.opts.now)
	if err != nil {
		return nil, err
	}
	defer lk.unlock()
	// Another process may have written the list and moved files while we
	// waited: read both again.
	if err := m.refresh(); err != nil {
		return nil, err
	}
	if *files, err = m.scanAll(); err != nil {
		return nil, err
	}
	rewrite := m.ul == nil || m.corrupt
	if rewrite {
		if m.corrupt {
			m.opts.Logger.Warn("maildir: rebuilding corrupt dovecot-uidlist with a new UIDVALIDITY", "dir", m.dir)
		}
		m.ul = &uidList{version: 3, uidValidity: m.newUIDValidity(), nextUID: 1, guid: newGUID()}
		m.uids = map[string]uint32{}
		m.corrupt = false
	}
	// Drop the records of gone messages.
	if len(m.uids) > 0 {
		kept := m.ul.records[:0]
		for _, r := range m.ul.records {
			if _, ok := (*files)[r.base]; ok {
				kept = append(kept, r)
			} else {
				delete(m.uids, r.base)
				rewrite = true
			}
		}
		clear(m.ul.records[len(kept):])
		m.ul.records = kept
	}
	var unknown []string
	for base := range *files {
		if _, ok := m.uids[base]; !ok {
			unknown = append(unknown, base)
		}
	}
	sortByArrival(unknown)
	added := m.assign(unknown)
	if claimNew {
		recent = m.claim(*files)
	}
	if rewrite {
		data := m.ul.format()
		if err := lk.replace(path, data); err != nil {
			return nil, err
		}
		return recent, m.noteWritten(path, int64(len(data)))
	}
	if len(added) > 0 {
		return recent, m.appendRecords(path, added, true)
	}
	return recent, nil
}

// assign gives the next UIDs to bases and returns the new records.
func (m *Maildir) assign(bases []string) []uidRecord {
	recs := make([]uidRecord, 0, len(bases))
	next := m.ul.next()
	for _, b := range bases {
		r := uidRecord{uid: next, base: b}
		next++
		recs = append(recs, r)
		m.ul.records = append(m.ul.records, r)
		m.uids[b] = r.uid
	}
	m.ul.nextUID = next
	return recs
}

// claim renames the files of new/ into cur/ with an info part and returns
// their base names.
func (m *Maildir) claim(files map[string]fileEntry) map[string]bool {
	recent := map[string]bool{}
	for base, e := range files {
		if e.sub != "new" {
			continue
		}
		n, _ := ParseName(e.name)
		to := fileEntry{sub: "cur", name: withFlags(base, n.Flags())}
		if err := os.Rename(filepath.Join(m.dir, e.rel()), filepath.Join(m.dir, to.rel())); err == nil {
			files[base] = to
			recent[base] = true
		}
	}
	return recent
}

// appendRecords appends records to dovecot-uidlist (the lock is held) in
// one write, and syncs it if sync is set.
func (m *Maildir) appendRecords(path string, recs []uidRecord, sync bool) error {
	var b []byte
	for _, r := range recs {
		b = appendRecord(b, r)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return wrap("append", path, err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return wrap("append", path, err)
	}
	if sync {
		if err := f.Sync(); err != nil {
			f.Close()
			return wrap("append", path, err)
		}
	}
	if err := f.Close(); err != nil {
		return wrap("append", path, err)
	}
	return m.noteWritten(path, m.ulOff+int64(len(b)))
}

// noteWritten records that the file at path now holds what m.ul holds, in
// size bytes, so that the next refresh does not read it again.
func (m *Maildir) noteWritten(path string, size int64) error {
	fi, err := os.Stat(path)
	if err != nil {
		return wrap("stat", path, err)
	}
	if fi.Size() != size {
		// Someone appended meanwhile (impossible under the lock, but
		// harmless): read it all again next time.
		m.ulInfo = nil
		return nil
	}
	m.ulInfo, m.ulOff = fi, size
	return nil
}

func (m *Maildir) newUIDValidity() uint32 {
	v := uint32(m.opts.now().Unix())
	if m.ul != nil && v <= m.ul.uidValidity {
		v = m.ul.uidValidity + 1
	}
	if v == 0 {
		v = 1
	}
	return v
}

func newGUID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// refresh brings m.ul up to date with dovecot-uidlist: nothing to do when
// the file is unchanged, only the appended records when it grew in place,
// and a full read when it was replaced.
func (m *Maildir) refresh() error {
	path := filepath.Join(m.dir, uidListName)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		m.ul, m.ulInfo, m.uids, m.corrupt = nil, nil, nil, false
		return nil
	}
	if err != nil {
		return wrap("read", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return wrap("read", path, err)
	}
	if fi.Size() > m.opts.MaxUIDListBytes {
		// Not corrupt, only beyond what the caller let us read: rebuilding
		// it would change UIDVALIDITY, so refuse instead.
		return &Error{Op: "read", Path: path, Err: &detailError{ErrMalformed, "file larger than MaxUIDListBytes"}}
	}
	if m.ulInfo != nil && os.SameFile(fi, m.ulInfo) && fi.Size() >= m.ulOff && !m.corrupt {
		if fi.Size() == m.ulOff {
			return nil
		}
		tail := make([]byte, fi.Size()-m.ulOff)
		n, err := f.ReadAt(tail, m.ulOff)
		if err != nil && err != io.EOF {
			return wrap("read", path, err)
		}
		used, err := m.ul.parseRecords(tail[:n], 0, m.uids)
		m.ulOff += int64(used)
		if err != nil {
			m.corrupt = true
		}
		return nil
	}
	data, err := io.ReadAll(io.LimitReader(f, m.opts.MaxUIDListBytes))
	if err != nil {
		return wrap("read", path, err)
	}
	ul, used, perr := parseUIDList(data)
	if perr != nil {
		m.opts.Logger.Warn("maildir: corrupt dovecot-uidlist", "dir", m.dir, "err", perr)
		// Keep the old UIDVALIDITY when we can, so that the rebuilt list
		// gets a larger one.
		if ul != nil {
			m.ul = ul
		}
		m.corrupt, m.ulInfo, m.uids = true, nil, nil
		return nil
	}
	m.ul, m.ulInfo, m.ulOff, m.corrupt = ul, fi, int64(used), false
	m.uids, ul.uids = ul.uids, nil
	return nil
}

// scanAll lists new/ then cur/ (in that order, so that a message moving
// from new/ to cur/ meanwhile is seen at least once). When a message with a
// UID is missing, it lists both again: a file renamed in cur/ while it was
// being read can be missed by one listing, never by two.
func (m *Maildir) scanAll() (map[string]fileEntry, error) {
	files := make(map[string]fileEntry, len(m.uids)+16)
	if err := m.scan(files); err != nil {
		return nil, err
	}
	for base := range m.uids {
		if _, ok := files[base]; !ok {
			if err := m.scan(files); err != nil {
				return nil, err
			}
			break
		}
	}
	m.names = files
	return files, nil
}

func (m *Maildir) scan(files map[string]fileEntry) error {
	for _, sub := range []string{"new", "cur"} {
		dir := filepath.Join(m.dir, sub)
		d, err := os.Open(dir)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return wrap("sync", m.dir, &noFolderError{err})
			}
			return wrap("sync", dir, err)
		}
		names, err := d.Readdirnames(-1)
		d.Close()
		if err != nil {
			return wrap("sync", dir, err)
		}
		for _, name := range names {
			n, err := ParseName(name)
			if err != nil {
				continue
			}
			if old, ok := files[n.Base]; ok && old.sub == "cur" && sub == "new" {
				continue
			}
			files[n.Base] = fileEntry{sub: sub, name: name}
		}
	}
	return nil
}

// snapshot builds the sorted message list of files.
func (m *Maildir) snapshot(files map[string]fileEntry, recent map[string]bool) (*Snapshot, error) {
	s := &Snapshot{UIDValidity: m.ul.uidValidity, UIDNext: m.ul.next()}
	s.Messages = make([]Message, 0, len(files))
	var kw *[maxKeywords]string
	for _, r := range m.ul.records {
		e, ok := files[r.base]
		if !ok {
			continue
		}
		msg := Message{UID: r.uid, Key: r.base, Name: e.name, New: e.sub == "new", Recent: recent[r.base]}
		n, _ := ParseName(e.name)
		msg.Flags, msg.letters = n.Flags().split()
		if msg.letters != "" {
			if kw == nil {
				k, err := m.readKeywords()
				if err != nil {
					return nil, err
				}
				kw = &k
			}
			msg.Keywords = keywordNames(*kw, msg.letters)
		}
		msg.Size = n.Size
		if msg.Size < 0 {
			fi, err := os.Stat(filepath.Join(m.dir, msg.path()))
			if err != nil {
				continue // gone since the listing
			}
			msg.Size = fi.Size()
		}
		s.Messages = append(s.Messages, msg)
	}
	return s, nil
}

// locate returns where the message with base name base is now, listing the
// folder again when the last known name is gone.
func (m *Maildir) locate(base string, fresh bool) (fileEntry, bool) {
	if !fresh {
		if e, ok := m.names[base]; ok {
			return e, true
		}
	}
	files, err := m.scanAll()
	if err != nil {
		return fileEntry{}, false
	}
	e, ok := files[base]
	return e, ok
}

// baseOf returns the base name of the message with UID uid, reading
// dovecot-uidlist again if needed.
func (m *Maildir) baseOf(uid uint32) (string, error) {
	find := func() (string, bool) {
		if m.ul == nil {
			return "", false
		}
		recs := m.ul.records
		i := sort.Search(len(recs), func(i int) bool { return recs[i].uid >= uid })
		if i < len(recs) && recs[i].uid == uid {
			return recs[i].base, true
		}
		return "", false
	}
	if base, ok := find(); ok {
		return base, nil
	}
	// Not in the list as last read: another Maildir (another process,
	// or another Store in this one) may have given the UID since.
	if err := m.refresh(); err != nil {
		return "", err
	}
	if base, ok := find(); ok {
		return base, nil
	}
	return "", ErrGone
}

// validBase reports whether base can be a message's base name.
func validBase(base string) bool {
	return base != "" && base[0] != '.' && !strings.ContainsAny(base, "/:\x00") && len(base) <= MaxNameLength
}
