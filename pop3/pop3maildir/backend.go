package pop3maildir

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/heraldmail/herald/maildir"
	"github.com/heraldmail/herald/pop3"
)

// Backend is a [pop3.Backend] that serves the INBOX of a [maildir.Store]
// per user; pop3.Server.Auth checks the credentials and names the identity.
// Store is required; the other fields' zero
// values mean the documented defaults. A Backend must not be copied or
// changed after its first use; it is safe for concurrent use.
type Backend struct {
	// Store returns the Maildir++ store of identity, whose INBOX is the
	// maildrop. It may open a new Store on each call or keep them.
	Store func(ctx context.Context, identity string) (*maildir.Store, error)

	// LockWait is how long Open waits for a maildrop that another session
	// holds before answering [IN-USE]. Default DefaultLockWait; negative
	// means not at all.
	LockWait time.Duration
	// StaleLockTimeout is the age after which a maildrop lock of another
	// host, or without a pid, is removed as stale. Default
	// DefaultStaleLockTimeout.
	StaleLockTimeout time.Duration
	// Logger receives messages skipped, stale locks removed, and storage
	// errors with their causes. Nil discards.
	Logger *slog.Logger

	mu   sync.Mutex
	held map[string]bool // lock paths this Backend holds

	hostOnce sync.Once
	host     string
}

func (b *Backend) logger() *slog.Logger {
	if b.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return b.Logger
}

func (b *Backend) staleTimeout() time.Duration {
	if b.StaleLockTimeout > 0 {
		return b.StaleLockTimeout
	}
	return DefaultStaleLockTimeout
}

// hostname is the name written into lock files: the kernel's host name, as
// Dovecot writes and compares it.
func (b *Backend) hostname() string {
	b.hostOnce.Do(func() {
		b.host, _ = os.Hostname()
		if b.host == "" {
			b.host = "localhost"
		}
	})
	return b.host
}

// Open implements [pop3.Backend]: it takes the maildrop lock of the
// identity's INBOX, answering [IN-USE] while another session of Herald or
// Dovecot holds it, and finishes the deletions of a QUIT that a crash
// interrupted.
func (b *Backend) Open(ctx context.Context, info *pop3.ConnInfo, identity string) (pop3.Mailbox, error) {
	if b.Store == nil {
		return nil, errors.New("pop3maildir: Backend.Store is nil")
	}
	store, err := b.Store(ctx, identity)
	if err != nil {
		return nil, b.reply("open store", err)
	}
	inbox, err := store.Folder(maildir.Inbox)
	if err != nil {
		return nil, b.reply("open INBOX", err)
	}
	lk, err := b.lock(ctx, store.Root())
	if err != nil {
		return nil, b.reply("lock maildrop", err)
	}
	mb := &mailbox{b: b, root: store.Root(), inbox: inbox, lock: lk}
	if err := mb.recover(ctx); err != nil {
		lk.release()
		return nil, b.reply("finish interrupted commit", err)
	}
	return mb, nil
}
