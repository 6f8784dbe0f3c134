package imap

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/netip"
	"time"
)

// ConnInfo describes a client connection to the Backend.
type ConnInfo struct {
	// RemoteAddr and LocalAddr are the two ends of the connection, or
	// the addresses of a trusted PROXY header (Server.ProxyProtocol).
	RemoteAddr net.Addr
	LocalAddr  net.Addr
	// ProxyAddr is the proxy that sent the PROXY header, or the zero
	// value when the client connected directly.
	ProxyAddr netip.AddrPort
	// TLS is the connection's TLS state, nil before STARTTLS or without
	// TLS.
	TLS *tls.ConnectionState
}

// Backend opens the mail store of a user once the server has
// authenticated them with Server.Auth. It is called concurrently for
// different connections.
type Backend interface {
	// Open returns the store of the user identity that authenticated.
	// An error ends the login with NO.
	Open(ctx context.Context, conn *ConnInfo, identity string) (User, error)
}

// BackendFunc adapts a function to the Backend interface.
type BackendFunc func(ctx context.Context, conn *ConnInfo, identity string) (User, error)

// Open calls f.
func (f BackendFunc) Open(ctx context.Context, conn *ConnInfo, identity string) (User, error) {
	return f(ctx, conn, identity)
}

// MailboxInfo describes one mailbox for LIST.
type MailboxInfo struct {
	// Name is the full name in UTF-8 with "/" as the hierarchy delimiter;
	// "INBOX" is the inbox.
	Name string
	// Attributes holds special-use attributes (RFC 6154) and \Noselect
	// or \Noinferiors; the server adds \HasChildren, \HasNoChildren and
	// \Subscribed itself. \NonExistent marks a subscribed name that is
	// not a mailbox (RFC 5258 section 3.1).
	Attributes []MailboxAttr
	// Subscribed reports whether the user subscribed to the mailbox.
	Subscribed bool
}

// MailboxStatus is the state of a mailbox for STATUS and SELECT.
type MailboxStatus struct {
	// Messages is the number of messages.
	Messages uint32
	// UIDNext is the UID the next message will get, at least.
	UIDNext UID
	// UIDValidity changes whenever UIDs of the mailbox are reassigned.
	UIDValidity uint32
	// Unseen and Deleted count messages without \Seen and with
	// \Deleted.
	Unseen, Deleted uint32
	// Size is the sum of the message sizes (RFC 8438).
	Size int64
	// Keywords are the keywords in use or defined, listed in FLAGS.
	Keywords []Flag
	// NewKeywords reports whether clients may create keywords (\* in
	// PERMANENTFLAGS).
	NewKeywords bool
	// HighestModSeq is the highest mod-sequence of the mailbox (RFC
	// 7162), or zero when the mailbox keeps no persistent
	// mod-sequences (NOMODSEQ).
	HighestModSeq uint64
}

// AppendOptions are the arguments of APPEND besides the message.
type AppendOptions struct {
	Flags []Flag
	// InternalDate is the date the client gave, or the zero time for
	// now.
	InternalDate time.Time
}

// AppendResult says where APPEND put the message (RFC 4315 APPENDUID).
// A zero result sends no APPENDUID code.
type AppendResult struct {
	UIDValidity uint32
	UID         UID
}

// CopyResult maps source UIDs to the UIDs of the copies (RFC 4315
// COPYUID). A zero result sends no COPYUID code.
type CopyResult struct {
	UIDValidity uint32
	Source      []UID
	Dest        []UID
}

// User is the mail store of one authenticated user. Its methods are called
// for one connection, one call at a time (by the connection's goroutine,
// or by its NOTIFY goroutine while the other waits); the same user's store may be open
// on other connections at once. Mailbox names are UTF-8 with "/" as the
// hierarchy delimiter.
type User interface {
	// List returns every mailbox of the user, INBOX included, and the
	// subscribed names that are not mailboxes, with AttrNonExistent and
	// Subscribed set, for LSUB and LIST (SUBSCRIBED).
	List(ctx context.Context) ([]MailboxInfo, error)
	// Status returns the counters of a mailbox.
	Status(ctx context.Context, name string) (MailboxStatus, error)
	// Create creates a mailbox, with an optional special-use attribute;
	// ErrMailboxExists when it exists.
	Create(ctx context.Context, name string, specialUse []MailboxAttr) error
	// Delete removes a mailbox and its messages.
	Delete(ctx context.Context, name string) error
	// Rename renames a mailbox and its children. Renaming INBOX moves its
	// messages to the new mailbox and leaves INBOX empty (RFC 9051
	// section 6.3.6).
	Rename(ctx context.Context, from, to string) error
	// SetSubscribed subscribes to or unsubscribes from a name, which
	// need not exist.
	SetSubscribed(ctx context.Context, name string, subscribed bool) error
	// Append adds a message read from r (size bytes, which must all be
	// read before Append returns successfully) to a mailbox.
	Append(ctx context.Context, name string, r io.Reader, size int64, opts AppendOptions) (AppendResult, error)
	// Select opens a mailbox for SELECT (readOnly false) or EXAMINE.
	Select(ctx context.Context, name string, readOnly bool) (Mailbox, error)
	// Logout releases the store at the end of the session.
	Logout(ctx context.Context) error
}

// MessageInfo is the metadata of one message in a mailbox.
type MessageInfo struct {
	UID          UID
	Flags        []Flag
	Size         int64
	InternalDate time.Time
	// ModSeq is the mod-sequence of the message's last change (RFC
	// 7162), zero in a mailbox without mod-sequences.
	ModSeq uint64
}

// Content is a message's bytes, read at any offset. It is closed when the
// server is done with it.
type Content interface {
	io.ReaderAt
	io.Closer
}

// Mailbox is a mailbox open on one connection. The server keeps the
// session's view of it (sequence numbers) and asks for the current state
// with Messages, so a Mailbox needs no per-session bookkeeping.
type Mailbox interface {
	// Status returns UIDVALIDITY, UIDNEXT and the keywords.
	Status(ctx context.Context) (MailboxStatus, error)
	// Messages returns every message, ordered by ascending UID. The
	// server calls it after every command in the selected state and on
	// each signal from Updates, so it should answer from an index kept
	// in memory rather than scan the store each time. The server does
	// not modify the slice or the Flags of its elements, so a Mailbox
	// may hand the same slice to every session until the mailbox
	// changes.
	Messages(ctx context.Context) ([]MessageInfo, error)
	// Open returns the content of a message; ErrNoSuchMessage when it
	// has been expunged.
	Open(ctx context.Context, uid UID) (Content, error)
	// Store changes the flags of messages. UIDs that no longer exist are
	// ignored. For STORE (UNCHANGEDSINCE) the server calls
	// [MailboxStoreUnchanged.StoreUnchanged] instead when the Mailbox
	// implements it, which makes the check of the mod-sequences and the
	// store one step; without it, a change by another session between
	// the server's check and Store is overwritten without MODIFIED.
	Store(ctx context.Context, uids []UID, op StoreOp, flags []Flag) error
	// Expunge removes the messages flagged \Deleted, only those in uids
	// when uids is not nil, and returns the UIDs removed.
	Expunge(ctx context.Context, uids []UID) ([]UID, error)
	// Copy copies messages to another mailbox of the user.
	Copy(ctx context.Context, uids []UID, dest string) (CopyResult, error)
	// Updates returns a channel that receives a value whenever the
	// mailbox may have changed through another connection or delivery;
	// the server then calls Messages. It may return nil.
	Updates() <-chan struct{}
	// Close releases the mailbox.
	Close(ctx context.Context) error
}

// MailboxRecent is implemented by a Mailbox that tracks the \Recent flag
// of IMAP4rev1 (RFC 3501 section 2.3.2), which RFC 9051 removed: a
// message is recent in the one session that first sees it. The server
// asks it only for IMAP4rev1 sessions and shows \Recent, the RECENT
// count and SEARCH RECENT and NEW from what it returns; without it no
// message is recent.
type MailboxRecent interface {
	// ClaimRecent returns, of uids (ascending), those that no session has
	// claimed yet, and claims them for this session when the mailbox is
	// read-write; a read-only (EXAMINE) session sees them without
	// claiming them.
	ClaimRecent(ctx context.Context, uids []UID) []UID
}

// MailboxMove is implemented by a Mailbox that moves messages atomically
// (RFC 6851). Without it, MOVE copies, flags the originals \Deleted and
// expunges them.
type MailboxMove interface {
	Move(ctx context.Context, uids []UID, dest string) (CopyResult, error)
}

// ChangeKind says what changed in a mailbox, for [UserNotifier]. The
// kinds are bits: one report may carry several.
type ChangeKind uint8

const (
	// ChangeMessages: messages were added or expunged, or their flags
	// changed.
	ChangeMessages ChangeKind = 1 << iota
	// ChangeMailboxName: the mailbox was created, deleted or renamed.
	ChangeMailboxName
	// ChangeSubscription: the name was subscribed or unsubscribed.
	ChangeSubscription
)

// MailboxChange is one change reported by a [UserNotifier]. It says only
// which mailbox changed and how; the server asks Status or List for the
// state it then reports.
type MailboxChange struct {
	Kind ChangeKind
	// Name is the mailbox's name, the new one after a rename.
	Name string
	// OldName is the name before a rename, when the notifier knows it;
	// a notifier that does not report a rename as the deletion of the
	// old name and the creation of the new one.
	OldName string
}

// UserNotifier is implemented by a User that reports changes of any of its
// mailboxes, for NOTIFY (RFC 5465). Without it NOTIFY SET takes only the
// SELECTED and SELECTED-DELAYED filters, whose changes come from
// Mailbox.Updates, and answers NO [CANNOT] to events on other mailboxes.
type UserNotifier interface {
	// Notify calls f for the changes of the user's mailboxes made from
	// now on by any session, delivery or other process, until the
	// returned stop function is called; f is not called once stop has
	// returned. Changes of messages need be reported only for the
	// mailboxes in watch, which the server keeps bounded
	// (Server.MaxNotifyMailboxes); name and subscription changes are
	// reported for every mailbox. Reports may be merged or repeated,
	// never lost: the server compares the state it then reads with what
	// it has told. f is called from any goroutine, must not block and
	// must not call the User. Notify may be called again to change
	// watch; each call has its own stop.
	Notify(ctx context.Context, watch []string, f func(MailboxChange)) (stop func(), err error)
}
