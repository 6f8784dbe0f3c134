package imapmaildir

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/heraldmail/herald/imap"
	"github.com/heraldmail/herald/maildir"
)

// DefaultPollInterval is how often a selected mailbox is read again for
// changes made by other processes when inotify is not available: half a
// second, so that a change shows within one second.
const DefaultPollInterval = 500 * time.Millisecond

// Backend is an [imap.Backend] over the Maildir++ tree of each user. Only
// Store is required; the zero value of every other field means its
// documented default. A Backend keeps one index per folder in memory,
// shared by all the sessions that have it open, and must not be copied
// after first use. It is safe for concurrent use.
type Backend struct {
	// Store returns the Maildir++ tree of the user identity that the
	// server authenticated; an error ends the login with NO. The caller
	// decides where mailboxes live and which users exist. Required.
	Store func(ctx context.Context, conn *imap.ConnInfo, identity string) (*maildir.Store, error)
	// PollInterval is how often a selected mailbox is read again when
	// inotify cannot watch it; 0 means DefaultPollInterval.
	PollInterval time.Duration
	// NoInotify makes every selected mailbox poll, as if inotify were
	// not available.
	NoInotify bool
	// MaxCacheBytes bounds the message summaries (ENVELOPE,
	// BODYSTRUCTURE) that each folder keeps in memory and in its
	// CacheFile; 0 means DefaultMaxCacheBytes.
	MaxCacheBytes int64
	// Logger receives warnings: a message file that cannot be read, a
	// watch that failed. Nil discards them.
	Logger *slog.Logger

	mu      sync.Mutex
	indexes map[string]*index // by folder directory

	lmu       sync.Mutex
	listeners map[*listener]struct{} // of Notify (notify.go)
	bufs      sync.Pool              // *[]byte buffers of crlfContent
}

func (b *Backend) logger() *slog.Logger {
	if b.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return b.Logger
}

func (b *Backend) pollInterval() time.Duration {
	if b.PollInterval > 0 {
		return b.PollInterval
	}
	return DefaultPollInterval
}

// Open implements [imap.Backend]: it opens the user's Store and creates the
// special-use folders that are missing.
func (b *Backend) Open(ctx context.Context, conn *imap.ConnInfo, identity string) (imap.User, error) {
	if b.Store == nil {
		return nil, errors.New("imapmaildir: Backend.Store is nil")
	}
	st, err := b.Store(ctx, conn, identity)
	if err != nil {
		return nil, err
	}
	if err := ensureSpecialFolders(ctx, st); err != nil {
		return nil, replyError(err)
	}
	return &user{b: b, st: st}, nil
}

// index returns the index of the folder md, creating it.
func (b *Backend) index(md *maildir.Maildir) *index {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.indexes == nil {
		b.indexes = map[string]*index{}
	}
	idx, ok := b.indexes[md.Dir()]
	if !ok || idx.md != md && idx.dead() {
		idx = newIndex(b, md)
		b.indexes[md.Dir()] = idx
	}
	return idx
}

// forget drops the indexes of the folder directories dirs (a deleted or
// renamed folder); sessions that had them selected see them empty.
func (b *Backend) forget(dirs ...string) {
	b.mu.Lock()
	var gone []*index
	for _, d := range dirs {
		if idx, ok := b.indexes[d]; ok {
			delete(b.indexes, d)
			gone = append(gone, idx)
		}
	}
	b.mu.Unlock()
	for _, idx := range gone {
		idx.kill()
	}
}

// storeName turns a mailbox name of the wire ("/" between levels) into a
// folder name of the Store ("." between levels). A name holding "." cannot
// be stored in Maildir++.
func storeName(name string) (string, error) {
	if strings.EqualFold(name, maildir.Inbox) {
		return maildir.Inbox, nil
	}
	if strings.ContainsRune(name, maildir.Separator) {
		return "", &imap.Error{Type: imap.StatusNo, Code: imap.CodeCannot, Text: `Mailbox names may not contain "."`, Err: imap.ErrCannot}
	}
	return strings.ReplaceAll(name, string(imap.Delimiter), string(maildir.Separator)), nil
}

// wireName is the inverse of storeName.
func wireName(name string) string {
	return strings.ReplaceAll(name, string(maildir.Separator), string(imap.Delimiter))
}

// user is the imap.User of one session.
type user struct {
	b  *Backend
	st *maildir.Store
}

func (u *user) folder(name string) (*maildir.Maildir, string, error) {
	sn, err := storeName(name)
	if err != nil {
		return nil, "", err
	}
	md, err := u.st.Folder(sn)
	if err != nil {
		return nil, "", replyError(err)
	}
	return md, sn, nil
}

func (u *user) List(ctx context.Context) ([]imap.MailboxInfo, error) {
	folders, err := u.st.Folders()
	if err != nil {
		return nil, replyError(err)
	}
	subs, err := u.st.Subscriptions()
	if err != nil {
		return nil, replyError(err)
	}
	special, err := readSpecialUse(u.st)
	if err != nil {
		return nil, replyError(err)
	}
	out := make([]imap.MailboxInfo, 0, len(folders))
	for _, f := range folders {
		mi := imap.MailboxInfo{Name: wireName(f.Name), Subscribed: slices.Contains(subs, f.Name)}
		if f.NoSelect {
			mi.Attributes = append(mi.Attributes, imap.AttrNoSelect)
		}
		mi.Attributes = append(mi.Attributes, special.of(f.Name)...)
		out = append(out, mi)
	}
	// Subscribed names that are not folders (RFC 5258 \NonExistent).
	for _, sn := range subs {
		if !slices.ContainsFunc(folders, func(f maildir.FolderInfo) bool { return f.Name == sn }) {
			out = append(out, imap.MailboxInfo{Name: wireName(sn), Attributes: []imap.MailboxAttr{imap.AttrNonExistent}, Subscribed: true})
		}
	}
	return out, nil
}

func (u *user) Status(ctx context.Context, name string) (imap.MailboxStatus, error) {
	md, _, err := u.folder(name)
	if err != nil {
		return imap.MailboxStatus{}, err
	}
	idx := u.b.index(md)
	if err := idx.ensure(ctx); err != nil {
		return imap.MailboxStatus{}, replyError(err)
	}
	return idx.status(), nil
}

func (u *user) Create(ctx context.Context, name string, specialUse []imap.MailboxAttr) error {
	name = strings.TrimSuffix(name, string(imap.Delimiter))
	sn, err := storeName(name)
	if err != nil {
		return err
	}
	if err := checkSpecialUse(specialUse); err != nil {
		return err
	}
	if err := u.st.CreateFolder(sn); err != nil {
		return replyError(err)
	}
	u.b.named(u.st.Root(), imap.MailboxChange{Kind: imap.ChangeMailboxName, Name: wireName(sn)}, true)
	if len(specialUse) > 0 {
		return replyError(setSpecialUse(ctx, u.st, sn, specialUse))
	}
	return nil
}

func (u *user) Delete(ctx context.Context, name string) error {
	sn, err := storeName(name)
	if err != nil {
		return err
	}
	if sn == maildir.Inbox {
		return &imap.Error{Type: imap.StatusNo, Code: imap.CodeCannot, Text: "INBOX cannot be deleted", Err: imap.ErrCannot}
	}
	md, err := u.st.Folder(sn)
	if err != nil {
		return replyError(err)
	}
	dir := md.Dir()
	if err := u.st.DeleteFolder(sn); err != nil {
		return replyError(err)
	}
	u.b.forget(dir)
	u.b.named(u.st.Root(), imap.MailboxChange{Kind: imap.ChangeMailboxName, Name: wireName(sn)}, false)
	return replyError(renameSpecialUse(ctx, u.st, sn, ""))
}

func (u *user) Rename(ctx context.Context, from, to string) error {
	fn, err := storeName(from)
	if err != nil {
		return err
	}
	tn, err := storeName(strings.TrimSuffix(to, string(imap.Delimiter)))
	if err != nil {
		return err
	}
	if fn == maildir.Inbox {
		return u.renameInbox(ctx, tn)
	}
	// The indexes of the folder and its children go: their directories
	// change.
	folders, err := u.st.Folders()
	if err != nil {
		return replyError(err)
	}
	var dirs, moved []string
	for _, f := range folders {
		if f.NoSelect || f.Name != fn && !strings.HasPrefix(f.Name, fn+string(maildir.Separator)) {
			continue
		}
		if md, err := u.st.Folder(f.Name); err == nil {
			dirs = append(dirs, md.Dir())
			moved = append(moved, f.Name)
		}
	}
	if err := u.st.RenameFolder(fn, tn); err != nil {
		return replyError(err)
	}
	u.b.forget(dirs...)
	slices.Sort(moved)
	for _, old := range moved {
		u.b.named(u.st.Root(), imap.MailboxChange{Kind: imap.ChangeMailboxName, Name: wireName(tn + old[len(fn):]), OldName: wireName(old)}, true)
	}
	return replyError(renameSpecialUse(ctx, u.st, fn, tn))
}

// renameInbox moves every message of INBOX to a new folder (RFC 9051
// section 6.3.6).
func (u *user) renameInbox(ctx context.Context, to string) error {
	if err := u.st.CreateFolder(to); err != nil {
		return replyError(err)
	}
	u.b.named(u.st.Root(), imap.MailboxChange{Kind: imap.ChangeMailboxName, Name: wireName(to)}, true)
	src, err := u.st.Folder(maildir.Inbox)
	if err != nil {
		return replyError(err)
	}
	dst, err := u.st.Folder(to)
	if err != nil {
		return replyError(err)
	}
	snap, err := src.Sync(ctx, nil)
	if err != nil {
		return replyError(err)
	}
	uids := make([]uint32, len(snap.Messages))
	for i, m := range snap.Messages {
		uids[i] = m.UID
	}
	if _, err := src.Move(ctx, uids, dst); err != nil {
		return replyError(err)
	}
	u.b.index(src).changed(ctx)
	return nil
}

func (u *user) SetSubscribed(ctx context.Context, name string, subscribed bool) error {
	sn, err := storeName(name)
	if err != nil {
		return err
	}
	if subscribed {
		err = u.st.Subscribe(ctx, sn)
	} else {
		err = u.st.Unsubscribe(ctx, sn)
	}
	if err == nil {
		u.b.named(u.st.Root(), imap.MailboxChange{Kind: imap.ChangeSubscription, Name: wireName(sn)}, subscribed)
	}
	return replyError(err)
}

func (u *user) Append(ctx context.Context, name string, r io.Reader, size int64, opts imap.AppendOptions) (imap.AppendResult, error) {
	md, _, err := u.folder(name)
	if err != nil {
		return imap.AppendResult{}, err
	}
	letters, kw := maildirFlags(opts.Flags, false)
	msg, err := md.Deliver(ctx, io.LimitReader(r, size), &maildir.DeliverOptions{Flags: letters, Keywords: kw, Time: opts.InternalDate})
	if err != nil {
		return imap.AppendResult{}, replyError(err)
	}
	idx := u.b.index(md)
	validity := idx.added(ctx, msg, opts.InternalDate)
	if msg.UID == 0 || validity == 0 {
		return imap.AppendResult{}, nil
	}
	return imap.AppendResult{UIDValidity: validity, UID: imap.UID(msg.UID)}, nil
}

func (u *user) Select(ctx context.Context, name string, readOnly bool) (imap.Mailbox, error) {
	md, _, err := u.folder(name)
	if err != nil {
		return nil, err
	}
	idx := u.b.index(md)
	h := &handle{u: u, idx: idx, readOnly: readOnly, ch: make(chan struct{}, 1)}
	if err := idx.attach(ctx, h); err != nil {
		return nil, replyError(err)
	}
	return h, nil
}

func (u *user) Logout(ctx context.Context) error { return nil }
