package imapmaildir

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/heraldmail/herald/maildir"
)

// settle is how long a watcher collects file system events before it
// applies them, so that a delivery's link, its rename into cur/ and its
// dovecot-uidlist record arrive as one change.
const settle = 20 * time.Millisecond

// event is a file that appeared in (add) or left a watched directory: sub
// is "new" or "cur", or "" for the folder's own directory.
type event struct {
	sub  string
	name string
	add  bool
}

// watch starts the watcher of the folder and returns the function that
// stops it; the function does not wait and may be called with x.mu held.
// It uses inotify, and polls every Backend.PollInterval when inotify cannot
// be used.
func (x *index) watch() func() {
	if !x.b.NoInotify {
		if stop, err := x.inotify(); err == nil {
			return stop
		} else {
			x.b.logger().Warn("imapmaildir: inotify unavailable, polling", "dir", x.md.Dir(), "err", err)
		}
	}
	done := make(chan struct{})
	go x.poll(done)
	return func() { close(done) }
}

func (x *index) poll(done chan struct{}) {
	t := time.NewTicker(x.b.pollInterval())
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		x.mu.Lock()
		select {
		case <-done:
			x.mu.Unlock()
			return
		default:
		}
		changed, err := x.refreshLocked(context.Background())
		if err != nil {
			x.refreshFailed(err)
		} else if changed {
			x.notify(nil)
		}
		x.mu.Unlock()
	}
}

const (
	dirMask  = unix.IN_CREATE | unix.IN_MOVED_TO | unix.IN_MOVED_FROM | unix.IN_DELETE | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_ONLYDIR
	rootMask = unix.IN_MOVED_TO | unix.IN_CLOSE_WRITE | unix.IN_MODIFY | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_ONLYDIR
)

func (x *index) inotify() (func(), error) {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, err
	}
	subs := map[int32]string{}
	dir := x.md.Dir()
	for _, w := range []struct {
		sub  string
		mask uint32
	}{{"new", dirMask}, {"cur", dirMask}, {"", rootMask}} {
		wd, err := unix.InotifyAddWatch(fd, filepath.Join(dir, w.sub), w.mask)
		if err != nil {
			unix.Close(fd)
			return nil, err
		}
		subs[int32(wd)] = w.sub
	}
	// A non-blocking descriptor goes through the runtime's poller: Read
	// blocks the goroutine only, and Close wakes it.
	f := os.NewFile(uintptr(fd), "inotify")
	done := make(chan struct{})
	go x.readEvents(f, subs, done)
	return func() {
		close(done)
		f.Close()
	}, nil
}

func (x *index) readEvents(f *os.File, subs map[int32]string, done chan struct{}) {
	var batch []event
	overflow := false
	readBursts(f, subs, done, func(evs []event, over bool) {
		batch = append(batch, evs...)
		overflow = overflow || over
		if len(batch) > 100000 {
			batch, overflow = nil, true
		}
	}, func() {
		x.apply(batch, overflow)
		batch, overflow = batch[:0], false
	})
}

// readBursts reads the inotify descriptor f until it is closed or done is
// closed: add takes the events of each read, and burst is called once no
// event came for settle, the burst over.
func readBursts(f *os.File, subs map[int32]string, done chan struct{}, add func(evs []event, over bool), burst func()) {
	buf := make([]byte, 64<<10)
	for {
		n, err := f.Read(buf)
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return // closed
		}
		if n > 0 {
			add(parseEvents(buf[:n], subs))
			f.SetReadDeadline(time.Now().Add(settle))
			continue
		}
		// The deadline passed: the burst is over.
		f.SetReadDeadline(time.Time{})
		select {
		case <-done:
			return
		default:
		}
		burst()
	}
}

// parseEvents decodes inotify events; over reports a lost event (queue
// overflow, a watched directory gone), after which only a full read of the
// folder is right.
func parseEvents(b []byte, subs map[int32]string) (evs []event, over bool) {
	for len(b) >= unix.SizeofInotifyEvent {
		raw := (*unix.InotifyEvent)(unsafe.Pointer(&b[0]))
		end := unix.SizeofInotifyEvent + int(raw.Len)
		if end > len(b) {
			break
		}
		name := b[unix.SizeofInotifyEvent:end]
		for len(name) > 0 && name[len(name)-1] == 0 {
			name = name[:len(name)-1]
		}
		b = b[end:]
		if raw.Mask&(unix.IN_Q_OVERFLOW|unix.IN_DELETE_SELF|unix.IN_MOVE_SELF|unix.IN_IGNORED) != 0 {
			over = true
			continue
		}
		sub, ok := subs[raw.Wd]
		if !ok || len(name) == 0 {
			continue
		}
		add := raw.Mask&(unix.IN_CREATE|unix.IN_MOVED_TO|unix.IN_CLOSE_WRITE|unix.IN_MODIFY) != 0
		evs = append(evs, event{sub: sub, name: string(name), add: add})
	}
	return evs, over
}

// apply brings the index up to date with a burst of events: renames and
// removals of known messages are applied as they are, new messages get
// their UIDs from dovecot-uidlist, and only a message without a UID yet, a
// new UIDVALIDITY or lost events make it read the whole folder.
func (x *index) apply(evs []event, overflow bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.loaded || x.gone {
		return
	}
	defer x.endBatchLocked()
	ctx := context.Background()
	full := overflow
	changed := false
	pending := map[string]event{}
	var removed []string
	for _, ev := range evs {
		if ev.sub == "" {
			switch ev.name {
			case "dovecot-keywords":
				if kw, err := x.md.KeywordTable(); err == nil {
					x.kw = kw
					x.recomputeLocked()
					changed = true
				}
			case "dovecot-uidlist":
				if v, _, err := x.md.UIDValidity(); err == nil && v != 0 && v != x.validity {
					full = true
				}
			}
			continue
		}
		n, err := maildir.ParseName(ev.name)
		if err != nil {
			continue
		}
		uid, known := x.byBase[n.Base]
		if !ev.add {
			if p, ok := pending[n.Base]; ok && p.sub == ev.sub && p.name == ev.name {
				delete(pending, n.Base)
			}
			if known {
				removed = append(removed, n.Base)
			}
			continue
		}
		if !known {
			pending[n.Base] = ev
			continue
		}
		i, _ := x.find(uid)
		e := &x.msgs[i]
		if e.name != ev.name || e.new != (ev.sub == "new") {
			// An event older than what the index holds (the Backend
			// renamed the file again since, and gave the index the
			// newer name) names a file that is gone: taking it would
			// bring back old flags, and drop the message at the
			// removal event that follows.
			if _, err := os.Lstat(filepath.Join(x.md.Dir(), ev.sub, ev.name)); err != nil {
				continue
			}
			e.name, e.new = ev.name, ev.sub == "new"
			if f := n.Flags(); f != e.letters {
				e.letters = f
				e.flags = x.flagsOf(f)
				e.modseq = x.batchLocked()
				changed = true
			}
		}
	}
	dir := x.md.Dir()
	var drop []uint32
	for _, base := range removed {
		uid, ok := x.byBase[base]
		if !ok {
			continue
		}
		i, _ := x.find(uid)
		if _, err := os.Lstat(x.msgs[i].path(dir)); err != nil {
			drop = append(drop, uid)
		}
	}
	if len(drop) > 0 {
		// The events of one rename can come in two batches (the
		// watcher late to read them, its settle time past): the
		// removal of the old name in this one, the new name in the
		// next. Only a message that no listing shows under any name
		// is gone.
		drop, changed = x.stillThere(drop), true
		x.removedLocked(drop, nil)
	}
	for base, ev := range pending {
		if full {
			break
		}
		uid, ok, err := x.md.UIDOf(base)
		if err != nil || !ok {
			full = true
			break
		}
		n, _ := maildir.ParseName(ev.name)
		e := entry{uid: uid, base: base, name: ev.name, new: ev.sub == "new", letters: n.Flags()}
		fi, err := os.Stat(e.path(dir))
		if err != nil {
			full = true // moved again meanwhile
			break
		}
		e.date = fi.ModTime()
		e.setSize(n, fi.Size())
		x.insertLocked(e)
		changed = true
	}
	if full {
		c, err := x.refreshLocked(ctx)
		if err != nil {
			x.refreshFailed(err)
			return
		}
		changed = changed || c
	}
	if changed {
		x.notify(nil)
	}
}

// stillThere looks for the files of the messages uids, whose names the
// index has are gone, in new/ and cur/ under any name: it takes the names
// it finds and returns the UIDs of the messages it does not find in two
// listings. x.mu is held.
func (x *index) stillThere(uids []uint32) []uint32 {
	dir := x.md.Dir()
	found := map[string]event{}
	for range 2 {
		for _, sub := range []string{"cur", "new"} {
			d, err := os.Open(filepath.Join(dir, sub))
			if err != nil {
				return uids
			}
			names, err := d.Readdirnames(-1)
			d.Close()
			if err != nil {
				return uids
			}
			for _, name := range names {
				base, _, _ := strings.Cut(name, ":")
				if _, ok := found[base]; !ok || sub == "cur" {
					found[base] = event{sub: sub, name: name, add: true}
				}
			}
		}
		missing := false
		for _, u := range uids {
			if i, ok := x.find(u); ok {
				if _, there := found[x.msgs[i].base]; !there {
					missing = true
				}
			}
		}
		if !missing {
			break
		}
	}
	var gone []uint32
	for _, u := range uids {
		i, ok := x.find(u)
		if !ok {
			continue
		}
		e := &x.msgs[i]
		ev, there := found[e.base]
		if !there {
			gone = append(gone, u)
			continue
		}
		n, err := maildir.ParseName(ev.name)
		if err != nil {
			gone = append(gone, u)
			continue
		}
		e.name, e.new = ev.name, ev.sub == "new"
		if f := n.Flags(); f != e.letters {
			e.letters = f
			e.flags = x.flagsOf(f)
		}
	}
	return gone
}
