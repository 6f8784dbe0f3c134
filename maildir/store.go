package maildir

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/heraldmail/herald/internal/imaputf7"
)

// Inbox is the name of the root folder of a [Store]; any case of it names
// the same folder, as in IMAP.
const Inbox = "INBOX"

// Separator is the hierarchy separator of folder names in a Maildir++ tree.
const Separator = '.'

// MaxFolderNameLength bounds a folder name in bytes, encoded on disk.
const MaxFolderNameLength = 200

// Store is a Maildir++ tree as Dovecot and Courier lay it out: the root
// directory is the INBOX Maildir, and every other folder is a Maildir named
// "." followed by its name in modified UTF-7 (RFC 3501 section 5.1.3), with
// "." between hierarchy levels ("Archive.2024" lives in ".Archive.2024")
// and an empty "maildirfolder" file. A folder may exist without its parent.
// The subscriptions file lists subscribed folders in Dovecot's format.
//
// A Store and the Maildirs it returns are safe for concurrent use.
type Store struct {
	root  string
	opts  Options
	q     *atomic.Uint64
	quota *quotaFile

	mu      sync.Mutex
	folders map[string]*Maildir // by canonical name
}

// OpenStore opens the Maildir++ tree at root, creating the root Maildir
// (INBOX) if it does not exist.
func OpenStore(root string, opts *Options) (*Store, error) {
	if err := makeMaildir(root); err != nil {
		return nil, err
	}
	s := &Store{root: root, opts: opts.withDefaults(), q: new(atomic.Uint64), folders: map[string]*Maildir{}}
	s.quota = &quotaFile{s: s}
	return s, nil
}

// Root returns the root directory.
func (s *Store) Root() string { return s.root }

// canonical checks a folder name and returns it with INBOX spelled
// "INBOX", and its directory.
func (s *Store) canonical(name string) (string, string, error) {
	if strings.EqualFold(name, Inbox) {
		return Inbox, s.root, nil
	}
	bad := func() (string, string, error) {
		return "", "", &Error{Op: "folder", Path: name, Err: ErrInvalidName}
	}
	if name == "" || name[0] == Separator || name[len(name)-1] == Separator ||
		strings.Contains(name, "..") || strings.ContainsAny(name, "/\\") || name[0] == '~' || strings.Contains(name, ".~") ||
		strings.HasPrefix(strings.ToUpper(name), "INBOX.") {
		return bad()
	}
	enc, err := imaputf7.Encode(name)
	if err != nil || len(enc) > MaxFolderNameLength {
		return bad()
	}
	for i := 0; i < len(name); i++ {
		if name[i] < 0x20 || name[i] == 0x7f {
			return bad()
		}
	}
	return name, filepath.Join(s.root, "."+enc), nil
}

// Folder returns the folder name; it fails with ErrNoFolder when it does
// not exist. The same *Maildir is returned for a name while it exists.
func (s *Store) Folder(name string) (*Maildir, error) {
	name, dir, err := s.canonical(name)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.folders[name]; ok {
		if _, err := os.Stat(filepath.Join(dir, "cur")); err == nil {
			return m, nil
		}
		delete(s.folders, name)
	}
	if _, err := Open(dir, &s.opts); err != nil {
		return nil, wrap("folder", name, err)
	}
	m := newMaildir(dir, s.opts, s.q)
	if !s.opts.Quota.isZero() || fileExists(filepath.Join(s.root, maildirsizeName)) {
		m.quota = s.quota
	}
	s.folders[name] = m
	return m, nil
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// CreateFolder creates the folder name (not its parents, which Maildir++
// does not need). It fails with ErrFolderExists if it exists.
//
// A folder name is UTF-8 with "." between non-empty levels; it may not hold
// "/", "\" or control characters, start a level with "~", or lie below
// INBOX ("INBOX.x": in Maildir++ every folder is already below it), and its
// encoded form is at most MaxFolderNameLength bytes. Other names fail with
// ErrInvalidName, in every method of Store.
func (s *Store) CreateFolder(name string) error {
	name, dir, err := s.canonical(name)
	if err != nil {
		return err
	}
	if name == Inbox {
		return &Error{Op: "create folder", Path: name, Err: ErrFolderExists}
	}
	// Build it aside and rename it in place, so that no other process sees
	// a half-made folder.
	tmp := filepath.Join(s.root, "tmp", "folder."+uniqueBase(s.opts.now(), s.q.Add(1), s.opts.Hostname))
	if err := makeMaildir(tmp); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "maildirfolder"), nil, 0o600); err != nil {
		os.RemoveAll(tmp)
		return wrap("create folder", name, err)
	}
	// rename(2) replaces an empty directory: refuse an existing one first
	// (an existing folder is never empty: it holds cur/, new/ and tmp/).
	if _, err := os.Lstat(dir); err == nil {
		os.RemoveAll(tmp)
		return &Error{Op: "create folder", Path: name, Err: ErrFolderExists}
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		if errors.Is(err, fs.ErrExist) || errors.Is(err, syscall.ENOTEMPTY) {
			return &Error{Op: "create folder", Path: name, Err: ErrFolderExists}
		}
		return wrap("create folder", name, err)
	}
	return syncDir(s.root)
}

// DeleteFolder deletes the folder name and its messages; its children
// stay. INBOX cannot be deleted. The folder is first renamed out of sight,
// so other clients see it either whole or gone.
func (s *Store) DeleteFolder(name string) error {
	name, dir, err := s.canonical(name)
	if err != nil {
		return err
	}
	if name == Inbox {
		return &Error{Op: "delete folder", Path: name, Err: ErrInvalidName}
	}
	s.mu.Lock()
	delete(s.folders, name)
	s.mu.Unlock()
	trash := filepath.Join(s.root, "..DOVECOT-TRASHED."+uniqueBase(s.opts.now(), s.q.Add(1), s.opts.Hostname))
	if err := os.Rename(dir, trash); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			err = &noFolderError{err}
		}
		return wrap("delete folder", name, err)
	}
	if err := os.RemoveAll(trash); err != nil {
		return wrap("delete folder", name, err)
	}
	return syncDir(s.root)
}

// RenameFolder renames the folder from, and every folder below it, to to;
// UIDs and UIDVALIDITY move with them. It fails with ErrNoFolder when from
// does not exist and ErrFolderExists when to does. INBOX cannot be renamed.
func (s *Store) RenameFolder(from, to string) error {
	from, _, err := s.canonical(from)
	if err != nil {
		return err
	}
	to, _, err = s.canonical(to)
	if err != nil {
		return err
	}
	if from == Inbox || to == Inbox || strings.HasPrefix(to, from+".") {
		return &Error{Op: "rename folder", Path: from, Err: ErrInvalidName}
	}
	folders, err := s.Folders()
	if err != nil {
		return err
	}
	type move struct{ oldDir, newDir, newName string }
	var moves []move
	found := false
	for _, f := range folders {
		if f.Name == from {
			found = true
		}
		if f.NoSelect {
			// Only a name in the hierarchy: its folders below move.
			continue
		}
		if f.Name == from || strings.HasPrefix(f.Name, from+".") {
			newName := to + f.Name[len(from):]
			_, nd, err := s.canonical(newName)
			if err != nil {
				return err
			}
			if _, err := os.Lstat(nd); err == nil {
				return &Error{Op: "rename folder", Path: newName, Err: ErrFolderExists}
			}
			_, od, _ := s.canonical(f.Name)
			moves = append(moves, move{od, nd, newName})
		}
	}
	if !found {
		return &Error{Op: "rename folder", Path: from, Err: &noFolderError{fs.ErrNotExist}}
	}
	s.mu.Lock()
	clear(s.folders)
	s.mu.Unlock()
	for _, mv := range moves {
		if err := os.Rename(mv.oldDir, mv.newDir); err != nil {
			return wrap("rename folder", mv.newName, err)
		}
	}
	return syncDir(s.root)
}

// FolderInfo describes one folder of [Store.Folders].
type FolderInfo struct {
	// Name is the folder name in UTF-8, "." between levels.
	Name string
	// NoSelect reports a name that exists only as the parent of other
	// folders (IMAP \Noselect, \NonExistent).
	NoSelect bool
	// HasChildren reports folders below this one.
	HasChildren bool
}

// Folders lists every folder, INBOX first and the others sorted by name,
// with the parents that exist only as names of a hierarchy marked NoSelect.
// Directories whose names are not valid modified UTF-7 are skipped.
func (s *Store) Folders() ([]FolderInfo, error) {
	entries, err := os.ReadDir(s.root)
	if err != nil {
		return nil, wrap("list folders", s.root, err)
	}
	exists := map[string]bool{}
	for _, e := range entries {
		n := e.Name()
		if len(n) < 2 || n[0] != '.' || n[1] == '.' || !e.IsDir() {
			continue
		}
		name, err := imaputf7.Decode(n[1:])
		if err != nil {
			continue
		}
		if _, _, err := s.canonical(name); err != nil {
			continue
		}
		if !fileExists(filepath.Join(s.root, n, "cur")) {
			continue
		}
		exists[name] = true
	}
	all := map[string]bool{}
	for name := range exists {
		all[name] = true
		for i := strings.LastIndexByte(name, Separator); i > 0; i = strings.LastIndexByte(name[:i], Separator) {
			all[name[:i]] = true
		}
	}
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	out := []FolderInfo{{Name: Inbox}}
	for i, n := range names {
		fi := FolderInfo{Name: n, NoSelect: !exists[n]}
		fi.HasChildren = i+1 < len(names) && strings.HasPrefix(names[i+1], n+".")
		out = append(out, fi)
	}
	return out, nil
}

// usage sums the sizes and the number of messages of every folder.
func (s *Store) usage() (int64, int64, error) {
	folders, err := s.Folders()
	if err != nil {
		return 0, 0, err
	}
	var b, c int64
	for _, f := range folders {
		if f.NoSelect {
			continue
		}
		_, dir, _ := s.canonical(f.Name)
		for _, sub := range []string{"new", "cur"} {
			entries, err := os.ReadDir(filepath.Join(dir, sub))
			if err != nil {
				continue
			}
			for _, e := range entries {
				n, err := ParseName(e.Name())
				if err != nil {
					continue
				}
				size := n.Size
				if size < 0 {
					fi, err := e.Info()
					if err != nil {
						continue
					}
					size = fi.Size()
				}
				b += size
				c++
			}
		}
	}
	return b, c, nil
}

// CleanTmp runs [Maildir.CleanTmp] in every folder and returns how many
// leftover files it removed in all.
func (s *Store) CleanTmp() (int, error) {
	folders, err := s.Folders()
	if err != nil {
		return 0, err
	}
	total := 0
	for _, f := range folders {
		if f.NoSelect {
			continue
		}
		m, err := s.Folder(f.Name)
		if err != nil {
			continue // deleted meanwhile
		}
		n, err := m.CleanTmp()
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}
