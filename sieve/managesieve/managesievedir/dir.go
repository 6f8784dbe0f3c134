// Package managesievedir is a managesieve.Backend that keeps each user's
// scripts as files, in the layout of Dovecot Pigeonhole's default
// "sieve = file:~/sieve;active=~/.dovecot.sieve", so that a mail server
// (Herald's, or Dovecot's LDA) finds the active script of a user at one
// fixed path.
//
// # Layout
//
// Each user has a directory, Root/USER by default (Backend.UserDir changes
// that):
//
//	USER/sieve/NAME.sieve   one file per script, named after the script
//	USER/.dovecot.sieve     symbolic link to sieve/NAME.sieve, the active
//	                        script; absent when none is active
//
// Writes are atomic: a script is written to a temporary file in sieve/
// (a name starting with ".", which is never a script), synced and renamed
// over NAME.sieve; the link is replaced by renaming a new link over it.
// Script names starting with "." or containing "/" are refused with
// managesieve.ErrInvalidName. Changes are serialized per user within one
// process; several processes must not write the same directory at once.
package managesievedir

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/heraldmail/herald/sieve/managesieve"
)

// Names in a user's directory.
const (
	// ScriptDir is the directory of the scripts, inside the user's.
	ScriptDir = "sieve"
	// ActiveLink is the symbolic link to the active script, inside the
	// user's directory.
	ActiveLink = ".dovecot.sieve"
	// Ext ends the file name of every script.
	Ext = ".sieve"
)

// Backend opens the script directories of users. Set its fields before
// the first use; it is safe for concurrent use.
type Backend struct {
	// Root holds a directory per user, named after the user, created on
	// first login. Used when UserDir is nil.
	Root string
	// UserDir, when set, returns the directory of a user instead.
	UserDir func(user string) (string, error)
	// Quota applies to every user.
	Quota managesieve.Quota

	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

// ErrInvalidUser is returned for a user name that cannot be a directory
// name under Root: empty, ".", "..", or with "/" or NUL.
var ErrInvalidUser = errors.New("managesievedir: invalid user name")

// Dir returns the directory of user.
func (b *Backend) Dir(user string) (string, error) {
	if b.UserDir != nil {
		return b.UserDir(user)
	}
	if user == "" || user == "." || user == ".." || strings.ContainsAny(user, "/\x00") {
		return "", ErrInvalidUser
	}
	return filepath.Join(b.Root, user), nil
}

func (b *Backend) lock(dir string) *sync.Mutex {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.locks == nil {
		b.locks = map[string]*sync.Mutex{}
	}
	l, ok := b.locks[dir]
	if !ok {
		l = &sync.Mutex{}
		b.locks[dir] = l
	}
	return l
}

// Open returns the store of identity, creating its directories.
func (b *Backend) Open(ctx context.Context, info *managesieve.ConnInfo, identity string) (managesieve.Store, error) {
	dir, err := b.Dir(identity)
	if err != nil {
		return nil, err
	}
	return OpenDir(dir, b.Quota, b.lock(dir))
}

// ActiveScript returns the path of the active script of user, or "" when
// none is active: what a mail server runs at delivery.
func (b *Backend) ActiveScript(user string) (string, error) {
	dir, err := b.Dir(user)
	if err != nil {
		return "", err
	}
	return ActivePath(dir)
}

// ActivePath returns the path of the active script in the user directory
// dir, or "" when none is active.
func ActivePath(dir string) (string, error) {
	name, err := activeName(dir)
	if err != nil || name == "" {
		return "", err
	}
	return filepath.Join(dir, ScriptDir, name+Ext), nil
}

// activeName returns the name of the active script, "" for none.
func activeName(dir string) (string, error) {
	target, err := os.Readlink(filepath.Join(dir, ActiveLink))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	d, f := filepath.Split(target)
	if filepath.Clean(d) != ScriptDir || !strings.HasSuffix(f, Ext) {
		return "", nil // a link this package did not make
	}
	name := strings.TrimSuffix(f, Ext)
	if _, err := os.Stat(filepath.Join(dir, target)); errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	return name, nil
}

// OpenDir returns the store of the user directory dir with quota q,
// creating dir and its script directory. mu serializes the changes of
// every store of dir; nil gives the store a lock of its own.
func OpenDir(dir string, q managesieve.Quota, mu *sync.Mutex) (managesieve.Store, error) {
	if err := os.MkdirAll(filepath.Join(dir, ScriptDir), 0o700); err != nil {
		return nil, err
	}
	if mu == nil {
		mu = &sync.Mutex{}
	}
	return &store{dir: dir, scripts: filepath.Join(dir, ScriptDir), quota: q, mu: mu}, nil
}

type store struct {
	dir, scripts string
	quota        managesieve.Quota
	mu           *sync.Mutex
}

func checkName(name string) error {
	if !managesieve.ValidName(name) || strings.HasPrefix(name, ".") || strings.ContainsRune(name, '/') {
		return managesieve.ErrInvalidName
	}
	return nil
}

func (s *store) path(name string) string { return filepath.Join(s.scripts, name+Ext) }

// entries returns the scripts with their sizes.
func (s *store) entries() (map[string]int64, error) {
	des, err := os.ReadDir(s.scripts)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, de := range des {
		n := de.Name()
		if strings.HasPrefix(n, ".") || !strings.HasSuffix(n, Ext) || !de.Type().IsRegular() {
			continue
		}
		fi, err := de.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, err
		}
		out[strings.TrimSuffix(n, Ext)] = fi.Size()
	}
	return out, nil
}

func (s *store) List(ctx context.Context) ([]managesieve.Script, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.entries()
	if err != nil {
		return nil, err
	}
	active, err := activeName(s.dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	out := make([]managesieve.Script, len(names))
	for i, n := range names {
		out[i] = managesieve.Script{Name: n, Active: n == active}
	}
	return out, nil
}

func (s *store) Get(ctx context.Context, name string) ([]byte, error) {
	if err := checkName(name); err != nil {
		return nil, managesieve.ErrNonexistent
	}
	b, err := os.ReadFile(s.path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, managesieve.ErrNonexistent
	}
	return b, err
}

// fits checks the quota for a script name of size octets.
func (s *store) fits(name string, size int64) error {
	m, err := s.entries()
	if err != nil {
		return err
	}
	var u managesieve.Usage
	for _, sz := range m {
		u.Scripts++
		u.Bytes += sz
	}
	old, replaces := m[name]
	return s.quota.Fits(u, replaces, old, size)
}

func (s *store) HaveSpace(ctx context.Context, name string, size int64) error {
	if err := checkName(name); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fits(name, size)
}

func tmpName(prefix string) string {
	var b [8]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func (s *store) Put(ctx context.Context, name string, content []byte) error {
	if err := checkName(name); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.fits(name, int64(len(content))); err != nil {
		return err
	}
	tmp := filepath.Join(s.scripts, tmpName(".tmp-"))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(content)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, s.path(name))
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(s.scripts)
}

// link points the active link at name atomically, or removes it for "".
func (s *store) link(name string) error {
	linkPath := filepath.Join(s.dir, ActiveLink)
	if name == "" {
		err := os.Remove(linkPath)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return syncDir(s.dir)
	}
	if fi, err := os.Lstat(linkPath); err == nil && fi.Mode()&fs.ModeSymlink == 0 {
		// A script file of its own, from before this store: keep it
		// rather than overwrite it.
		return errors.New("managesievedir: " + linkPath + " is not a symbolic link; move it into " + ScriptDir + "/")
	}
	tmp := filepath.Join(s.dir, tmpName(ActiveLink+".tmp-"))
	if err := os.Symlink(filepath.Join(ScriptDir, name+Ext), tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, linkPath); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(s.dir)
}

func (s *store) exists(name string) (bool, error) {
	_, err := os.Stat(s.path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

func (s *store) SetActive(ctx context.Context, name string) error {
	if name != "" {
		if err := checkName(name); err != nil {
			return managesieve.ErrNonexistent
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if name != "" {
		ok, err := s.exists(name)
		if err != nil {
			return err
		}
		if !ok {
			return managesieve.ErrNonexistent
		}
	}
	return s.link(name)
}

func (s *store) Delete(ctx context.Context, name string) error {
	if err := checkName(name); err != nil {
		return managesieve.ErrNonexistent
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ok, err := s.exists(name)
	if err != nil {
		return err
	}
	if !ok {
		return managesieve.ErrNonexistent
	}
	active, err := activeName(s.dir)
	if err != nil {
		return err
	}
	if active == name {
		return managesieve.ErrActive
	}
	if err := os.Remove(s.path(name)); err != nil {
		return err
	}
	return syncDir(s.scripts)
}

func (s *store) Rename(ctx context.Context, oldName, newName string) error {
	if err := checkName(oldName); err != nil {
		return managesieve.ErrNonexistent
	}
	if err := checkName(newName); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ok, err := s.exists(oldName)
	if err != nil {
		return err
	}
	if !ok {
		return managesieve.ErrNonexistent
	}
	if ok, err := s.exists(newName); err != nil {
		return err
	} else if ok {
		return managesieve.ErrAlreadyExists
	}
	active, err := activeName(s.dir)
	if err != nil {
		return err
	}
	if active != oldName {
		if err := os.Rename(s.path(oldName), s.path(newName)); err != nil {
			return err
		}
		return syncDir(s.scripts)
	}
	// The active script: link the new name, move the active link to it,
	// then drop the old name, so that the link never dangles.
	if err := os.Link(s.path(oldName), s.path(newName)); err != nil {
		return err
	}
	if err := s.link(newName); err != nil {
		os.Remove(s.path(newName))
		return err
	}
	if err := os.Remove(s.path(oldName)); err != nil {
		return err
	}
	return syncDir(s.scripts)
}

func (s *store) Close() error { return nil }
