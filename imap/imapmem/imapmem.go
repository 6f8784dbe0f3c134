// Package imapmem is an in-memory store for the imap server, for tests,
// examples and as a reference of the imap.Backend contract. Everything is
// lost when the process ends.
package imapmem

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/heraldmail/herald/imap"
)

// Backend holds users and their mailboxes. It is safe for concurrent use;
// the zero value is not usable, call New.
type Backend struct {
	mu       sync.Mutex
	users    map[string]*User
	validity uint32
	// Now returns the time for messages appended without a date; nil
	// means time.Now.
	Now func() time.Time
}

// New returns an empty Backend.
func New() *Backend {
	return &Backend{users: map[string]*User{}, validity: 1}
}

// AddUser creates a user with an empty INBOX, or returns the existing one.
func (b *Backend) AddUser(name string) *User {
	b.mu.Lock()
	defer b.mu.Unlock()
	if u, ok := b.users[name]; ok {
		return u
	}
	u := &User{b: b, name: name, boxes: map[string]*mailbox{}, subscribed: map[string]bool{}, listeners: map[*listener]struct{}{}}
	u.boxes["INBOX"] = b.newMailbox(u, "INBOX")
	u.subscribed["INBOX"] = true
	b.users[name] = u
	return u
}

func (b *Backend) newMailbox(u *User, name string) *mailbox {
	b.validity++
	return &mailbox{u: u, name: name, validity: b.validity, next: 1, watchers: map[chan struct{}]struct{}{}, modseqs: modseqs{highest: 1}}
}

func (b *Backend) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

// Open implements imap.Backend.
func (b *Backend) Open(ctx context.Context, conn *imap.ConnInfo, identity string) (imap.User, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	u, ok := b.users[identity]
	if !ok {
		return nil, imap.ErrAuthFailed
	}
	return &session{u: u}, nil
}

// User is one user's mailboxes.
type User struct {
	b          *Backend
	name       string
	boxes      map[string]*mailbox
	subscribed map[string]bool
	// listeners receive the changes of the user's mailboxes
	// (imap.UserNotifier).
	listeners map[*listener]struct{}
}

type message struct {
	uid    imap.UID
	flags  []imap.Flag
	date   time.Time
	data   []byte
	modseq uint64
}

type mailbox struct {
	u        *User
	name     string
	validity uint32
	next     imap.UID
	msgs     []*message
	special  []imap.MailboxAttr
	watchers map[chan struct{}]struct{}
	// recentFrom is the lowest UID no session has claimed as recent.
	recentFrom imap.UID
	// Mod-sequences (modseq.go).
	modseqs
}

// notify wakes the sessions that have the mailbox selected and tells the
// user's listeners that its messages changed.
func (m *mailbox) notify() {
	for ch := range m.watchers {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	m.u.emit(imap.MailboxChange{Kind: imap.ChangeMessages, Name: m.name})
}

// Deliver adds a message to a mailbox of the user, as a delivery agent
// would, and returns its UID. It notifies sessions that have the mailbox
// selected.
func (u *User) Deliver(mailbox string, data []byte, flags []imap.Flag, date time.Time) (imap.UID, error) {
	u.b.mu.Lock()
	defer u.b.mu.Unlock()
	m, ok := u.boxes[mailbox]
	if !ok {
		return 0, imap.ErrNoSuchMailbox
	}
	if date.IsZero() {
		date = u.b.now()
	}
	uid := m.add(bytes.Clone(data), flags, date)
	m.notify()
	return uid, nil
}

// CreateMailbox creates a mailbox with optional special-use attributes.
func (u *User) CreateMailbox(name string, special ...imap.MailboxAttr) error {
	return (&session{u: u}).Create(context.Background(), name, special)
}

func (m *mailbox) add(data []byte, flags []imap.Flag, date time.Time) imap.UID {
	uid := m.next
	m.next++
	m.msgs = append(m.msgs, &message{uid: uid, flags: slices.Clone(flags), date: date, data: data, modseq: m.bump()})
	return uid
}

// session is the imap.User of one connection.
type session struct {
	u *User
}

func (s *session) lock() func() {
	s.u.b.mu.Lock()
	return s.u.b.mu.Unlock
}

func (s *session) List(ctx context.Context) ([]imap.MailboxInfo, error) {
	defer s.lock()()
	out := make([]imap.MailboxInfo, 0, len(s.u.boxes))
	for name, m := range s.u.boxes {
		out = append(out, imap.MailboxInfo{Name: name, Attributes: slices.Clone(m.special), Subscribed: s.u.subscribed[name]})
	}
	for name := range s.u.subscribed {
		if _, ok := s.u.boxes[name]; !ok {
			out = append(out, imap.MailboxInfo{Name: name, Attributes: []imap.MailboxAttr{imap.AttrNonExistent}, Subscribed: true})
		}
	}
	slices.SortFunc(out, func(a, b imap.MailboxInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func status(m *mailbox) imap.MailboxStatus {
	st := imap.MailboxStatus{Messages: uint32(len(m.msgs)), UIDNext: m.next, UIDValidity: m.validity, NewKeywords: true, HighestModSeq: m.highest}
	for _, msg := range m.msgs {
		st.Size += int64(len(msg.data))
		if !slices.Contains(msg.flags, imap.FlagSeen) {
			st.Unseen++
		}
		if slices.Contains(msg.flags, imap.FlagDeleted) {
			st.Deleted++
		}
		for _, f := range msg.flags {
			if !strings.HasPrefix(string(f), `\`) && !slices.Contains(st.Keywords, f) {
				st.Keywords = append(st.Keywords, f)
			}
		}
	}
	return st
}

func (s *session) Status(ctx context.Context, name string) (imap.MailboxStatus, error) {
	defer s.lock()()
	m, ok := s.u.boxes[name]
	if !ok {
		return imap.MailboxStatus{}, imap.ErrNoSuchMailbox
	}
	return status(m), nil
}

func (s *session) Create(ctx context.Context, name string, special []imap.MailboxAttr) error {
	defer s.lock()()
	if _, ok := s.u.boxes[name]; ok {
		return imap.ErrMailboxExists
	}
	m := s.u.b.newMailbox(s.u, name)
	m.special = slices.Clone(special)
	s.u.boxes[name] = m
	s.u.emit(imap.MailboxChange{Kind: imap.ChangeMailboxName, Name: name})
	return nil
}

func (s *session) Delete(ctx context.Context, name string) error {
	defer s.lock()()
	m, ok := s.u.boxes[name]
	if !ok {
		return imap.ErrNoSuchMailbox
	}
	delete(s.u.boxes, name)
	m.msgs = nil
	m.notify()
	s.u.emit(imap.MailboxChange{Kind: imap.ChangeMailboxName, Name: name})
	return nil
}

func (s *session) Rename(ctx context.Context, from, to string) error {
	defer s.lock()()
	m, ok := s.u.boxes[from]
	if !ok {
		return imap.ErrNoSuchMailbox
	}
	if _, ok := s.u.boxes[to]; ok {
		return imap.ErrMailboxExists
	}
	if from == "INBOX" {
		// RFC 9051 section 6.3.6: the messages move, INBOX stays.
		n := s.u.b.newMailbox(s.u, to)
		var gone []imap.UID
		for _, msg := range m.msgs {
			n.add(msg.data, msg.flags, msg.date)
			gone = append(gone, msg.uid)
		}
		m.msgs = nil
		m.expunged(gone)
		s.u.boxes[to] = n
		m.notify()
		s.u.emit(imap.MailboxChange{Kind: imap.ChangeMailboxName, Name: to})
		return nil
	}
	var moved []imap.MailboxChange
	for name, b := range s.u.boxes {
		if name == from || strings.HasPrefix(name, from+"/") {
			delete(s.u.boxes, name)
			nn := to + name[len(from):]
			b.name = nn
			s.u.boxes[nn] = b
			moved = append(moved, imap.MailboxChange{Kind: imap.ChangeMailboxName, Name: nn, OldName: name})
		}
	}
	slices.SortFunc(moved, func(a, b imap.MailboxChange) int { return strings.Compare(a.Name, b.Name) })
	for _, ch := range moved {
		s.u.emit(ch)
	}
	return nil
}

func (s *session) SetSubscribed(ctx context.Context, name string, on bool) error {
	defer s.lock()()
	if on == s.u.subscribed[name] {
		return nil
	}
	if on {
		s.u.subscribed[name] = true
	} else {
		delete(s.u.subscribed, name)
	}
	s.u.emit(imap.MailboxChange{Kind: imap.ChangeSubscription, Name: name})
	return nil
}

func (s *session) Append(ctx context.Context, name string, r io.Reader, size int64, opts imap.AppendOptions) (imap.AppendResult, error) {
	s.u.b.mu.Lock()
	_, ok := s.u.boxes[name]
	s.u.b.mu.Unlock()
	if !ok {
		return imap.AppendResult{}, imap.ErrNoSuchMailbox
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(r, data); err != nil {
		return imap.AppendResult{}, fmt.Errorf("imapmem: reading message: %w", err)
	}
	defer s.lock()()
	m, ok := s.u.boxes[name]
	if !ok {
		return imap.AppendResult{}, imap.ErrNoSuchMailbox
	}
	date := opts.InternalDate
	if date.IsZero() {
		date = s.u.b.now()
	}
	uid := m.add(data, opts.Flags, date)
	m.notify()
	return imap.AppendResult{UIDValidity: m.validity, UID: uid}, nil
}

func (s *session) Select(ctx context.Context, name string, readOnly bool) (imap.Mailbox, error) {
	defer s.lock()()
	m, ok := s.u.boxes[name]
	if !ok {
		return nil, imap.ErrNoSuchMailbox
	}
	h := &handle{s: s, m: m, ch: make(chan struct{}, 1), readOnly: readOnly}
	m.watchers[h.ch] = struct{}{}
	return h, nil
}

func (s *session) Logout(ctx context.Context) error { return nil }

// listener is one caller of Notify.
type listener struct {
	f func(imap.MailboxChange)
}

// emit tells every listener of a change; b.mu is held.
func (u *User) emit(ch imap.MailboxChange) {
	for l := range u.listeners {
		l.f(ch)
	}
}

// Notify implements [imap.UserNotifier]: every change made through the
// Backend (any session, Deliver, CreateMailbox) is reported at once,
// whatever watch holds, as each is made in memory.
func (s *session) Notify(ctx context.Context, watch []string, f func(imap.MailboxChange)) (func(), error) {
	defer s.lock()()
	l := &listener{f: f}
	s.u.listeners[l] = struct{}{}
	return func() {
		defer s.lock()()
		delete(s.u.listeners, l)
	}, nil
}

// handle is a mailbox selected by one connection.
type handle struct {
	s        *session
	m        *mailbox
	ch       chan struct{}
	readOnly bool
}

// ClaimRecent implements [imap.MailboxRecent]: the messages delivered
// since a read-write session last claimed them are recent.
func (h *handle) ClaimRecent(ctx context.Context, uids []imap.UID) []imap.UID {
	defer h.s.lock()()
	var out []imap.UID
	for _, u := range uids {
		if u >= h.m.recentFrom {
			out = append(out, u)
		}
	}
	if !h.readOnly && len(uids) > 0 && uids[len(uids)-1] >= h.m.recentFrom {
		h.m.recentFrom = uids[len(uids)-1] + 1
	}
	return out
}

func (h *handle) Status(ctx context.Context) (imap.MailboxStatus, error) {
	defer h.s.lock()()
	return status(h.m), nil
}

func (h *handle) Messages(ctx context.Context) ([]imap.MessageInfo, error) {
	defer h.s.lock()()
	out := make([]imap.MessageInfo, len(h.m.msgs))
	for i, msg := range h.m.msgs {
		out[i] = imap.MessageInfo{UID: msg.uid, Flags: slices.Clone(msg.flags), Size: int64(len(msg.data)), InternalDate: msg.date, ModSeq: msg.modseq}
	}
	return out, nil
}

func (h *handle) find(uid imap.UID) (int, bool) {
	return slices.BinarySearchFunc(h.m.msgs, uid, func(m *message, u imap.UID) int { return int(int64(m.uid) - int64(u)) })
}

type content struct{ *bytes.Reader }

func (content) Close() error { return nil }

func (h *handle) Open(ctx context.Context, uid imap.UID) (imap.Content, error) {
	defer h.s.lock()()
	i, ok := h.find(uid)
	if !ok {
		return nil, imap.ErrNoSuchMessage
	}
	return content{bytes.NewReader(h.m.msgs[i].data)}, nil
}

func (h *handle) Store(ctx context.Context, uids []imap.UID, op imap.StoreOp, flags []imap.Flag) error {
	defer h.s.lock()()
	h.m.store(uids, maxModSeq, op, flags)
	return nil
}

func apply(cur []imap.Flag, op imap.StoreOp, fs []imap.Flag) []imap.Flag {
	has := func(list []imap.Flag, f imap.Flag) bool {
		return slices.ContainsFunc(list, func(g imap.Flag) bool { return strings.EqualFold(string(g), string(f)) })
	}
	var out []imap.Flag
	switch op {
	case imap.StoreReplace:
		for _, f := range fs {
			if !has(out, f) {
				out = append(out, f)
			}
		}
	case imap.StoreAdd:
		out = slices.Clone(cur)
		for _, f := range fs {
			if !has(out, f) {
				out = append(out, f)
			}
		}
	case imap.StoreRemove:
		for _, f := range cur {
			if !has(fs, f) {
				out = append(out, f)
			}
		}
	}
	return out
}

func (h *handle) Expunge(ctx context.Context, uids []imap.UID) ([]imap.UID, error) {
	defer h.s.lock()()
	var gone []imap.UID
	kept := h.m.msgs[:0:0]
	for _, msg := range h.m.msgs {
		if slices.Contains(msg.flags, imap.FlagDeleted) && (uids == nil || slices.Contains(uids, msg.uid)) {
			gone = append(gone, msg.uid)
			continue
		}
		kept = append(kept, msg)
	}
	h.m.msgs = kept
	if len(gone) > 0 {
		h.m.expunged(gone)
		h.m.notify()
	}
	return gone, nil
}

func (h *handle) Copy(ctx context.Context, uids []imap.UID, dest string) (imap.CopyResult, error) {
	defer h.s.lock()()
	d, ok := h.s.u.boxes[dest]
	if !ok {
		return imap.CopyResult{}, imap.ErrNoSuchMailbox
	}
	res := imap.CopyResult{UIDValidity: d.validity}
	for _, uid := range uids {
		i, ok := h.find(uid)
		if !ok {
			continue
		}
		msg := h.m.msgs[i]
		res.Source = append(res.Source, uid)
		res.Dest = append(res.Dest, d.add(msg.data, msg.flags, msg.date))
	}
	d.notify()
	return res, nil
}

func (h *handle) Move(ctx context.Context, uids []imap.UID, dest string) (imap.CopyResult, error) {
	res, err := h.Copy(ctx, uids, dest)
	if err != nil {
		return res, err
	}
	defer h.s.lock()()
	kept := h.m.msgs[:0:0]
	for _, msg := range h.m.msgs {
		if !slices.Contains(res.Source, msg.uid) {
			kept = append(kept, msg)
		}
	}
	h.m.msgs = kept
	h.m.expunged(res.Source)
	h.m.notify()
	return res, nil
}

func (h *handle) Updates() <-chan struct{} { return h.ch }

func (h *handle) Close(ctx context.Context) error {
	defer h.s.lock()()
	delete(h.m.watchers, h.ch)
	return nil
}
