package imapmaildir

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/heraldmail/herald/imap"
)

// listener is one caller of Notify: the folders of one Store whose
// messages it watches, and the names and subscriptions it has been told
// of, against which the watcher compares what it reads.
type listener struct {
	root string
	f    func(imap.MailboxChange)
	dirs map[string]string // folder directory to wire name, the watched ones

	mu      sync.Mutex // guards the rest, and serializes the calls of f
	stopped bool
	folders map[string]bool // wire names of the selectable folders
	subs    map[string]bool // wire names subscribed
}

func (l *listener) emit(ch imap.MailboxChange) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.stopped {
		l.f(ch)
	}
}

// Notify implements [imap.UserNotifier]. Changes made through the Backend
// (any session of the process) are reported at once; those of other
// processes, and of a maildir.Store used directly, are seen by one
// goroutine per call with one inotify descriptor watching the root of the
// tree and the new/ and cur/ directories of the folders in watch, or, when
// inotify cannot be used, by reading their modification times every
// Backend.PollInterval.
func (u *user) Notify(ctx context.Context, watch []string, f func(imap.MailboxChange)) (func(), error) {
	l := &listener{root: u.st.Root(), f: f, dirs: map[string]string{}}
	for _, name := range watch {
		md, _, err := u.folder(name)
		if err != nil {
			continue // not a folder (any more): nothing to watch
		}
		l.dirs[filepath.Clean(md.Dir())] = name
	}
	folders, subs, err := u.names()
	if err != nil {
		return nil, replyError(err)
	}
	l.folders, l.subs = folders, subs
	u.b.addListener(l)
	done := make(chan struct{})
	stopWatch := u.watchTree(l, done)
	var once sync.Once
	return func() {
		once.Do(func() {
			u.b.removeListener(l)
			close(done)
			if stopWatch != nil {
				stopWatch()
			}
			l.mu.Lock()
			l.stopped = true
			l.mu.Unlock()
		})
	}, nil
}

// names returns the selectable folders and the subscriptions, by wire name.
func (u *user) names() (folders, subs map[string]bool, err error) {
	fs, err := u.st.Folders()
	if err != nil {
		return nil, nil, err
	}
	folders = map[string]bool{}
	for _, fi := range fs {
		if !fi.NoSelect {
			folders[wireName(fi.Name)] = true
		}
	}
	ss, err := u.st.Subscriptions()
	if err != nil {
		return nil, nil, err
	}
	subs = map[string]bool{}
	for _, s := range ss {
		subs[wireName(s)] = true
	}
	return folders, subs, nil
}

// rescan compares the folders and subscriptions with what l has told and
// reports the differences.
func (u *user) rescan(l *listener) {
	folders, subs, err := u.names()
	if err != nil {
		u.b.logger().Warn("imapmaildir: reading folders for NOTIFY failed", "root", l.root, "err", err)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return
	}
	var changes []imap.MailboxChange
	diff := func(old, cur map[string]bool, kind imap.ChangeKind) {
		for name := range cur {
			if !old[name] {
				changes = append(changes, imap.MailboxChange{Kind: kind, Name: name})
			}
		}
		for name := range old {
			if !cur[name] {
				changes = append(changes, imap.MailboxChange{Kind: kind, Name: name})
			}
		}
	}
	diff(l.folders, folders, imap.ChangeMailboxName)
	diff(l.subs, subs, imap.ChangeSubscription)
	l.folders, l.subs = folders, subs
	slices.SortFunc(changes, func(a, b imap.MailboxChange) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	for _, ch := range changes {
		l.f(ch)
	}
}

func (b *Backend) addListener(l *listener) {
	b.lmu.Lock()
	defer b.lmu.Unlock()
	if b.listeners == nil {
		b.listeners = map[*listener]struct{}{}
	}
	b.listeners[l] = struct{}{}
}

func (b *Backend) removeListener(l *listener) {
	b.lmu.Lock()
	defer b.lmu.Unlock()
	delete(b.listeners, l)
}

// touched tells the listeners watching the folder directory dir that its
// messages changed.
func (b *Backend) touched(dir string) {
	b.lmu.Lock()
	var ls []*listener
	var names []string
	for l := range b.listeners {
		if name, ok := l.dirs[dir]; ok {
			ls, names = append(ls, l), append(names, name)
		}
	}
	b.lmu.Unlock()
	for i, l := range ls {
		l.emit(imap.MailboxChange{Kind: imap.ChangeMessages, Name: names[i]})
	}
}

// named tells the listeners of the Store at root of a change of names or
// subscriptions made through the Backend, on whether the name exists or
// is subscribed after it, and updates what they know so that their
// watchers do not report it again.
func (b *Backend) named(root string, ch imap.MailboxChange, on bool) {
	b.lmu.Lock()
	var ls []*listener
	for l := range b.listeners {
		if l.root == root {
			ls = append(ls, l)
		}
	}
	b.lmu.Unlock()
	for _, l := range ls {
		l.mu.Lock()
		set := l.folders
		if ch.Kind == imap.ChangeSubscription {
			set = l.subs
		}
		if !l.stopped && (set[ch.Name] != on || ch.OldName != "") {
			if on {
				set[ch.Name] = true
			} else {
				delete(set, ch.Name)
			}
			if ch.OldName != "" {
				delete(set, ch.OldName)
			}
			l.f(ch)
		}
		l.mu.Unlock()
	}
}

// watchTree starts the goroutine that sees the changes of other processes
// and returns the function that stops it, or nil when there is none.
func (u *user) watchTree(l *listener, done chan struct{}) func() {
	if !u.b.NoInotify {
		stop, err := u.inotifyTree(l, done)
		if err == nil {
			return stop
		}
		u.b.logger().Warn("imapmaildir: inotify unavailable for NOTIFY, polling", "root", l.root, "err", err)
	}
	u.pollTree(l, done)
	return nil
}

const (
	treeRootMask   = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO | unix.IN_CLOSE_WRITE | unix.IN_ONLYDIR
	treeFolderMask = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO | unix.IN_ONLYDIR
)

func (u *user) inotifyTree(l *listener, done chan struct{}) (func(), error) {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, err
	}
	// Each watch descriptor maps to the folder directory it is in, ""
	// for the root of the tree.
	subs := map[int32]string{}
	wd, err := unix.InotifyAddWatch(fd, l.root, treeRootMask)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	subs[int32(wd)] = ""
	for dir := range l.dirs {
		for _, sub := range []string{"new", "cur"} {
			wd, err := unix.InotifyAddWatch(fd, filepath.Join(dir, sub), treeFolderMask)
			if errors.Is(err, unix.ENOENT) {
				continue
			}
			if err != nil {
				unix.Close(fd) // ENOSPC: out of watches
				return nil, err
			}
			subs[int32(wd)] = dir
		}
	}
	f := os.NewFile(uintptr(fd), "inotify")
	go u.readTreeEvents(l, f, subs, done)
	return func() { f.Close() }, nil
}

// readTreeEvents reads the events of the tree, collects a burst for
// settle and reports it: the folders whose messages changed, and the
// names when the root changed.
func (u *user) readTreeEvents(l *listener, f *os.File, subs map[int32]string, done chan struct{}) {
	dirs := map[string]bool{}
	root := false
	readBursts(f, subs, done, func(evs []event, over bool) {
		root = root || over
		for _, ev := range evs {
			if ev.sub == "" {
				root = root || len(ev.name) > 1 && ev.name[0] == '.' || ev.name == "subscriptions"
			} else if len(dirs) < len(l.dirs)+1 {
				dirs[ev.sub] = true
			}
		}
		if over {
			for d := range l.dirs {
				dirs[d] = true
			}
		}
	}, func() {
		if root {
			u.rescan(l)
		}
		for d := range dirs {
			l.emit(imap.MailboxChange{Kind: imap.ChangeMessages, Name: l.dirs[d]})
		}
		clear(dirs)
		root = false
	})
}

// treeSig is what pollTree compares: the modification times and sizes of
// the root of the tree, its subscriptions file and the new/ and cur/ of
// each watched folder.
func treeSig(path string) [2]int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return [2]int64{-1, -1}
	}
	return [2]int64{fi.ModTime().UnixNano(), fi.Size()}
}

// pollTree reads the signatures every Backend.PollInterval; the first
// ones are taken before it returns, so that no change made after Notify
// is missed.
func (u *user) pollTree(l *listener, done chan struct{}) {
	rootSig := func() [4]int64 {
		a, b := treeSig(l.root), treeSig(filepath.Join(l.root, "subscriptions"))
		return [4]int64{a[0], a[1], b[0], b[1]}
	}
	dirSig := func(dir string) [4]int64 {
		a, b := treeSig(filepath.Join(dir, "new")), treeSig(filepath.Join(dir, "cur"))
		return [4]int64{a[0], a[1], b[0], b[1]}
	}
	lastRoot := rootSig()
	last := make(map[string][4]int64, len(l.dirs))
	for d := range l.dirs {
		last[d] = dirSig(d)
	}
	go func() {
		t := time.NewTicker(u.b.pollInterval())
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			if s := rootSig(); s != lastRoot {
				lastRoot = s
				u.rescan(l)
			}
			for d, name := range l.dirs {
				if s := dirSig(d); s != last[d] {
					last[d] = s
					l.emit(imap.MailboxChange{Kind: imap.ChangeMessages, Name: name})
				}
			}
		}
	}()
}
