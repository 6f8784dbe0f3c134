package pop3maildir

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/heraldmail/herald/maildir"
	"github.com/heraldmail/herald/pop3"
)

// closeTimeout bounds the work of Mailbox.Close (marking messages seen),
// which runs after the client is gone.
const closeTimeout = 30 * time.Second

// UIDL returns the unique-id of the message with the UID uid in a folder
// with the UIDVALIDITY uidValidity: both as 8 hexadecimal digits, 16
// characters whatever the host name, the same as Dovecot's
// pop3_uidl_format = %08Xu%08Xv on the same Maildir (Dovecot's X modifier
// writes lower-case digits).
func UIDL(uid, uidValidity uint32) string {
	const digits = "0123456789abcdef"
	var b [16]byte
	for i := 7; i >= 0; i-- {
		b[i] = digits[uid&0xf]
		b[8+i] = digits[uidValidity&0xf]
		uid >>= 4
		uidValidity >>= 4
	}
	return string(b[:])
}

// sizeFromName returns the size of a message in its CRLF form from its
// file name: the ",W=" field, which Herald's and Dovecot's deliveries
// record. ok is false when the name holds no usable ",W=" (absent, or
// smaller than ",S="), and the size must be counted from the file.
func sizeFromName(name string) (size int64, ok bool) {
	n, err := maildir.ParseName(name)
	if err != nil || n.VSize < 0 || n.VSize < n.Size {
		return 0, false
	}
	return n.VSize, true
}

// crlfSize counts the octets of r as the server sends them: every bare LF
// and every bare CR becomes CRLF.
func crlfSize(r io.Reader) (int64, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var n int64
	prevCR := false
	for {
		c, err := br.ReadByte()
		if err == io.EOF {
			if prevCR {
				n++
			}
			return n, nil
		}
		if err != nil {
			return 0, err
		}
		n++
		switch {
		case c == '\n' && !prevCR:
			n++
		case c != '\n' && prevCR:
			n++
		}
		prevCR = c == '\r'
	}
}

// entry is one message of the maildrop as listed at login.
type entry struct {
	key  string // base name, stable while the message lives
	uid  uint32
	size int64 // the ",S=" file size, or -1
}

// mailbox is one locked maildrop.
type mailbox struct {
	b     *Backend
	root  string
	inbox *maildir.Maildir
	lock  *sessionLock

	pending   []string // keys of a committed journal not yet carried out
	msgs      []entry
	retrieved []bool          // sent whole, to be marked seen at Close
	removed   map[string]bool // keys a Commit removed
}

// recover finishes the removals of a journal left by a QUIT that was
// interrupted after its commit point.
func (m *mailbox) recover(ctx context.Context) error {
	keys, err := readJournal(m.root)
	if errors.Is(err, errMalformedJournal) {
		m.b.logger().Error("pop3maildir: ignoring malformed commit journal; no message removed", "root", m.root)
		return removeJournal(m.root)
	}
	if err != nil || len(keys) == 0 {
		return err
	}
	m.b.logger().Warn("pop3maildir: finishing the deletions of an interrupted QUIT", "root", m.root, "messages", len(keys))
	if err := m.removeKeys(ctx, keys); err != nil {
		// They stay committed: hide them and try again next time.
		m.b.logger().Error("pop3maildir: cannot finish an interrupted QUIT", "root", m.root, "err", err)
		m.pending = keys
		return nil
	}
	return removeJournal(m.root)
}

// current maps the base names of the INBOX's messages to their UIDs now,
// so that a dovecot-uidlist rebuilt since the login cannot make a UID name
// another message.
func (m *mailbox) current(ctx context.Context, keys []string) ([]uint32, error) {
	snap, err := m.inbox.Sync(ctx, nil)
	if err != nil {
		return nil, err
	}
	want := make(map[string]bool, len(keys))
	for _, k := range keys {
		want[k] = true
	}
	var uids []uint32
	for _, msg := range snap.Messages {
		if want[msg.Key] {
			uids = append(uids, msg.UID)
		}
	}
	return uids, nil
}

func (m *mailbox) removeKeys(ctx context.Context, keys []string) error {
	uids, err := m.current(ctx, keys)
	if err != nil {
		return err
	}
	return m.inbox.Remove(ctx, uids)
}

// List implements [pop3.Mailbox]: the INBOX in UID order, as Dovecot
// numbers it, with sizes from the file names.
func (m *mailbox) List(ctx context.Context) ([]pop3.MessageInfo, error) {
	snap, err := m.inbox.Sync(ctx, nil)
	if err != nil {
		return nil, m.b.reply("list", err)
	}
	hide := make(map[string]bool, len(m.pending))
	for _, k := range m.pending {
		hide[k] = true
	}
	list := make([]pop3.MessageInfo, 0, len(snap.Messages))
	m.msgs = make([]entry, 0, len(snap.Messages))
	for _, msg := range snap.Messages {
		if hide[msg.Key] {
			continue
		}
		size, ok := sizeFromName(msg.Name)
		if !ok {
			if size, err = m.countSize(ctx, msg.UID); err != nil {
				m.b.logger().Warn("pop3maildir: message skipped: cannot get its size", "root", m.root, "file", msg.Name, "err", err)
				continue
			}
		}
		n, _ := maildir.ParseName(msg.Name)
		m.msgs = append(m.msgs, entry{key: msg.Key, uid: msg.UID, size: n.Size})
		list = append(list, pop3.MessageInfo{Size: size, UID: UIDL(msg.UID, snap.UIDValidity)})
	}
	m.retrieved = make([]bool, len(m.msgs))
	m.removed = map[string]bool{}
	return list, nil
}

// countSize reads a message whose name holds no ",W=" to count its size.
func (m *mailbox) countSize(ctx context.Context, uid uint32) (int64, error) {
	f, err := m.inbox.OpenMessage(ctx, uid)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if !fi.Mode().IsRegular() {
		return 0, errCorrupt
	}
	return crlfSize(f)
}

// Message implements [pop3.Mailbox]. A message removed by another client
// since the login, or whose file is not what its name says, is answered
// "-ERR" and logged; the session goes on.
func (m *mailbox) Message(ctx context.Context, n int) (io.ReadCloser, error) {
	if n < 1 || n > len(m.msgs) {
		return nil, &pop3.Error{Message: "No such message"}
	}
	e := m.msgs[n-1]
	// The operation, for an error only: RETR is hot.
	op := func() string { return fmt.Sprintf("open message %d (%s)", n, e.key) }
	f, err := m.inbox.OpenMessage(ctx, e.uid)
	if err != nil {
		return nil, m.b.reply(op(), err)
	}
	if nm, err := maildir.ParseName(filepath.Base(f.Name())); err != nil || nm.Base != e.key {
		f.Close()
		return nil, m.b.reply(op(), maildir.ErrGone)
	}
	fi, err := f.Stat()
	if err == nil && (!fi.Mode().IsRegular() || e.size >= 0 && fi.Size() != e.size) {
		err = fmt.Errorf("%w: %s is %d bytes, its name says %d", errCorrupt, f.Name(), fi.Size(), e.size)
	}
	if err != nil {
		f.Close()
		return nil, m.b.reply(op(), err)
	}
	return &messageReader{f: f, done: &m.retrieved[n-1]}, nil
}

// messageReader reads a message file and notes when it was read to its
// end: the whole message was sent.
type messageReader struct {
	f    io.ReadCloser
	eof  bool
	done *bool
}

func (r *messageReader) Read(p []byte) (int, error) {
	n, err := r.f.Read(p)
	if err == io.EOF {
		r.eof = true
	}
	return n, err
}

func (r *messageReader) Close() error {
	if r.eof {
		*r.done = true
	}
	return r.f.Close()
}

// Commit implements [pop3.Mailbox]: all or nothing, even across a crash
// (see JournalName).
func (m *mailbox) Commit(ctx context.Context, deleted []int) error {
	keys := make([]string, 0, len(deleted))
	for _, n := range deleted {
		if n < 1 || n > len(m.msgs) {
			return &pop3.Error{Message: "No such message"}
		}
		keys = append(keys, m.msgs[n-1].key)
	}
	if !m.lock.ours() {
		m.b.logger().Error("pop3maildir: maildrop lock lost; not removing messages", "root", m.root)
		return &pop3.Error{Code: pop3.CodeSysTemp, Message: "Maildrop lock was lost, try again later"}
	}
	all := append(append([]string(nil), m.pending...), keys...)
	if err := writeJournal(m.root, all); err != nil {
		return m.b.reply("commit", err)
	}
	// Committed: from here on the messages go, if not now then when the
	// maildrop is opened next.
	for _, k := range keys {
		m.removed[k] = true
	}
	ctx = context.WithoutCancel(ctx)
	if err := m.removeKeys(ctx, all); err != nil {
		m.b.logger().Error("pop3maildir: removing committed messages failed; the next session finishes it", "root", m.root, "err", err)
		m.pending = all
		return nil
	}
	m.pending = nil
	if err := removeJournal(m.root); err != nil {
		m.b.logger().Error("pop3maildir: cannot remove commit journal", "root", m.root, "err", err)
	}
	return nil
}

// Close implements [pop3.Mailbox]: it marks the messages sent whole and
// not removed seen, moving them to cur/ with the S flag as Dovecot does at
// the end of a session, and releases the lock.
func (m *mailbox) Close() error {
	var seen []string
	for i, r := range m.retrieved {
		if r && !m.removed[m.msgs[i].key] {
			seen = append(seen, m.msgs[i].key)
		}
	}
	if len(seen) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		uids, err := m.current(ctx, seen)
		if err == nil {
			_, err = m.inbox.SetFlags(ctx, uids, maildir.FlagsAdd, maildir.FlagSeen, nil)
		}
		cancel()
		if err != nil {
			m.b.logger().Error("pop3maildir: cannot mark retrieved messages seen", "root", m.root, "err", err)
		}
	}
	return m.lock.release()
}
