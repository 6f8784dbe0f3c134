package pop3maildir

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// SessionLockName is the maildrop lock: the file Dovecot's pop3 creates at
// the root of the INBOX (its index directory, which for
// "mail_location = maildir:~/Maildir" is the Maildir itself) when
// pop3_lock_session = yes. It is a dot-lock, made by linking a file that
// already holds "<pid>:<hostname>" to this name, so Herald and Dovecot see
// each other's sessions.
const SessionLockName = "dovecot-pop3-session.lock"

// Lock timings of [Backend].
const (
	// DefaultStaleLockTimeout is the age after which a maildrop lock
	// whose holder cannot be checked (another host, no pid) is taken for
	// a leftover and removed: 5 minutes, Dovecot's value. A lock of a
	// process on this host is judged by whether that process lives.
	DefaultStaleLockTimeout = 5 * time.Minute
	// DefaultLockWait is how long Open waits for a maildrop lock held by
	// another session before answering [IN-USE]: a client that logs in
	// again right after QUIT may arrive before the old session let go.
	DefaultLockWait = 3 * time.Second
)

// maxLockContent bounds what is read of a lock file, as Dovecot reads.
const maxLockContent = 512

// errInUse reports a maildrop locked by another live session.
var errInUse = errors.New("pop3maildir: maildrop locked by another session")

// sessionLock is a held maildrop lock.
type sessionLock struct {
	b    *Backend
	path string
	fi   os.FileInfo // the lock file we created
	stop chan struct{}
	done chan struct{}
}

// lockOwner parses the content of a dot-lock, "<pid>:<host>" with an
// optional final newline. ok is false for anything else (an empty file
// whose holder has not written it yet, another program's format, a host
// name with control characters, which can be no host's).
func lockOwner(data []byte) (pid int, host string, ok bool) {
	s := string(data)
	if n := len(s); n > 0 && s[n-1] == '\n' {
		s = s[:n-1]
	}
	i := 0
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	if i == 0 || i > 10 || i == len(s) || s[i] != ':' {
		return 0, "", false
	}
	p, err := strconv.Atoi(s[:i])
	host = s[i+1:]
	if err != nil || p <= 0 || host == "" || strings.ContainsFunc(host, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return 0, "", false
	}
	return p, host, true
}

// processAlive reports whether the process pid exists on this host. A
// process we may not signal exists too.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// lock takes the maildrop lock in dir, waiting up to LockWait while
// another live session holds it; it fails with errInUse then.
func (b *Backend) lock(ctx context.Context, dir string) (*sessionLock, error) {
	path := filepath.Join(dir, SessionLockName)
	wait := b.LockWait
	if wait == 0 {
		wait = DefaultLockWait
	}
	deadline := time.Now().Add(wait)
	pause := 10 * time.Millisecond
	for {
		l, err := b.tryLock(path)
		if !errors.Is(err, errInUse) {
			return l, err
		}
		if !time.Now().Before(deadline) {
			return nil, err
		}
		t := time.NewTimer(min(pause, time.Until(deadline)))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		pause = min(2*pause, 200*time.Millisecond)
	}
}

// tryLock creates the lock once, removing a stale one first. The lock is
// written whole under a temporary name and then linked to its own, which
// fails if the lock exists: a crash can never leave an empty lock that
// names no holder (which would keep the maildrop locked for
// StaleLockTimeout), as creating the lock and then writing into it could.
func (b *Backend) tryLock(path string) (*sessionLock, error) {
	tmp, err := b.writeTemp(path)
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp)
	for range 3 {
		err := os.Link(tmp, path)
		if err == nil {
			return b.hold(path)
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		fi, err := os.Lstat(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // released meanwhile
		}
		if err != nil {
			return nil, err
		}
		if !b.stale(path, fi) {
			return nil, errInUse
		}
		// Remove only the lock we judged, as Dovecot does: one that was
		// replaced meanwhile is another session's.
		if cur, err := os.Lstat(path); err == nil && os.SameFile(fi, cur) && cur.ModTime().Equal(fi.ModTime()) {
			b.logger().Warn("pop3maildir: removing stale maildrop lock", "path", path)
			os.Remove(path)
		}
	}
	return nil, errInUse
}

// writeTemp writes "<pid>:<host>" into a file beside the lock path, named
// after this host and process so that a crash leaves at most one behind,
// which the next session of the same pid reuses.
func (b *Backend) writeTemp(path string) (string, error) {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+"."+b.hostname()+"."+strconv.Itoa(os.Getpid()))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return "", err
	}
	_, err = f.WriteString(strconv.Itoa(os.Getpid()) + ":" + b.hostname())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp) // a full disk: leave nothing half-written
		return "", err
	}
	return tmp, nil
}

// hold records the lock just linked at path as held by this Backend and
// starts touching it.
func (b *Backend) hold(path string) (*sessionLock, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		os.Remove(path)
		return nil, err
	}
	l := &sessionLock{b: b, path: path, fi: fi, stop: make(chan struct{}), done: make(chan struct{})}
	b.mu.Lock()
	if b.held == nil {
		b.held = map[string]bool{}
	}
	b.held[path] = true
	b.mu.Unlock()
	go l.refresh(b.staleTimeout() / 3)
	return l, nil
}

// stale judges a lock file found in place. A lock of another process on
// this host is stale when that process is gone. A lock of this process is
// live while this Backend holds it; otherwise (another Backend in this
// process, or a leftover of an earlier process with the same pid) it is
// judged by age. Any other lock is stale once it has not been touched for
// StaleLockTimeout.
func (b *Backend) stale(path string, fi os.FileInfo) bool {
	data, err := readLock(path)
	if err != nil {
		return false
	}
	old := time.Since(fi.ModTime()) > b.staleTimeout()
	pid, host, ok := lockOwner(data)
	if !ok || host != b.hostname() {
		return old
	}
	if pid == os.Getpid() {
		b.mu.Lock()
		mine := b.held[path]
		b.mu.Unlock()
		return !mine && old
	}
	return !processAlive(pid)
}

func readLock(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxLockContent))
}

// refresh touches the lock every interval, so that no other reader takes
// it for stale, until release.
func (l *sessionLock) refresh(interval time.Duration) {
	defer close(l.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			if !l.ours() {
				l.b.logger().Error("pop3maildir: maildrop lock was removed by another process", "path", l.path)
				return
			}
			now := time.Now()
			os.Chtimes(l.path, now, now)
		}
	}
}

// ours reports whether the lock file in place is still the one we made.
func (l *sessionLock) ours() bool {
	cur, err := os.Lstat(l.path)
	return err == nil && os.SameFile(cur, l.fi)
}

// release removes the lock file if it is still ours.
func (l *sessionLock) release() error {
	close(l.stop)
	<-l.done
	l.b.mu.Lock()
	delete(l.b.held, l.path)
	l.b.mu.Unlock()
	if !l.ours() {
		return errors.New("pop3maildir: maildrop lock " + l.path + " was replaced by another process")
	}
	if err := os.Remove(l.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
