package maildir

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"time"
)

// Default lock timings of [Options].
const (
	// DefaultLockTimeout bounds the wait for a dot-lock, 2 minutes, as
	// Dovecot waits for dovecot-uidlist.lock.
	DefaultLockTimeout = 2 * time.Minute
	// DefaultStaleLockTimeout is the age after which a dot-lock that has
	// not been touched is taken for the leftover of a crashed process and
	// removed, 2 minutes, Dovecot's value for dovecot-uidlist.lock.
	DefaultStaleLockTimeout = 2 * time.Minute
)

// dotlock is a held "<file>.lock" created with O_EXCL, the way Dovecot
// locks dovecot-uidlist and dovecot-keywords. The holder may write the
// file's new contents into the lock and rename it over the file, which
// releases the lock in the same step.
type dotlock struct {
	path string // the lock file
	f    *os.File
}

// lockFile takes the dot-lock of target, waiting while another process
// holds it, up to timeout or the end of ctx. A lock whose modification time
// is older than stale (by now) is removed first.
func lockFile(ctx context.Context, target string, timeout, stale time.Duration, now func() time.Time) (*dotlock, error) {
	path := target + ".lock"
	deadline := time.Now().Add(timeout)
	wait := time.Millisecond
	for {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			return &dotlock{path: path, f: f}, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, wrap("lock", path, err)
		}
		if fi, err := os.Stat(path); err == nil && now().Sub(fi.ModTime()) > stale {
			// Remove only the lock we judged: if another process replaced
			// it meanwhile, its inode differs and we leave it.
			if cur, err := os.Stat(path); err == nil && os.SameFile(fi, cur) {
				os.Remove(path)
				continue
			}
		}
		if time.Now().After(deadline) {
			return nil, &Error{Op: "lock", Path: path, Err: ErrLocked}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, wrap("lock", path, ctx.Err())
		case <-t.C:
		}
		if wait < 50*time.Millisecond {
			wait *= 2
		}
	}
}

// unlock releases the lock without replacing the file.
func (l *dotlock) unlock() {
	if l.f == nil {
		return
	}
	l.f.Close()
	os.Remove(l.path)
	l.f = nil
}

// replace writes data into the lock file, syncs it and renames it over
// target, which both installs the new contents and releases the lock.
func (l *dotlock) replace(target string, data []byte) error {
	if _, err := l.f.Write(data); err != nil {
		l.unlock()
		return wrap("write", l.path, err)
	}
	if err := l.f.Sync(); err != nil {
		l.unlock()
		return wrap("sync", l.path, err)
	}
	if err := l.f.Close(); err != nil {
		l.f = nil
		os.Remove(l.path)
		return wrap("write", l.path, err)
	}
	l.f = nil
	if err := os.Rename(l.path, target); err != nil {
		os.Remove(l.path)
		return wrap("rename", l.path, err)
	}
	return nil
}
