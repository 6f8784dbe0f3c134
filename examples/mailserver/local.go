package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"syscall"

	"github.com/heraldmail/herald/delivery"
	"github.com/heraldmail/herald/maildir"
	"github.com/heraldmail/herald/smtp"
)

// mailboxes opens the Maildir++ store of each local user, once per
// process, so that the SMTP side's deliveries and the IMAP and POP3 sides
// share one Store (and IMAP sessions in IDLE see new mail at once).
type mailboxes struct {
	cfg *config
	db  *userDB
	log *slog.Logger

	mu     sync.Mutex
	stores map[string]*maildir.Store
}

func newMailboxes(cfg *config, db *userDB, log *slog.Logger) *mailboxes {
	return &mailboxes{cfg: cfg, db: db, log: log, stores: map[string]*maildir.Store{}}
}

// store returns the store of user addr, creating its Maildir on first use.
func (m *mailboxes) store(addr string) (*maildir.Store, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.stores[addr]; s != nil {
		return s, nil
	}
	dir := m.cfg.mailDir(addr)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	s, err := maildir.OpenStore(dir, &maildir.Options{
		MaxMessageBytes: m.cfg.maxSize + 64<<10, // room for the trace fields added here
		Hostname:        m.cfg.hostname,
		Logger:          m.log,
	})
	if err != nil {
		return nil, err
	}
	m.stores[addr] = s
	return s, nil
}

// deliverUsers stores the message read from r in the INBOX of each user,
// each copy durable when its error is nil. It reads r once.
func (m *mailboxes) deliverUsers(ctx context.Context, r io.Reader, users []string) ([]maildir.Message, []error) {
	msgs := make([]maildir.Message, len(users))
	errs := make([]error, len(users))
	targets := make([]*maildir.Maildir, 0, len(users))
	idx := make([]int, 0, len(users))
	for i, u := range users {
		s, err := m.store(u)
		if err == nil {
			var inbox *maildir.Maildir
			inbox, err = s.Folder("INBOX")
			if err == nil {
				targets = append(targets, inbox)
				idx = append(idx, i)
				continue
			}
		}
		errs[i] = err
	}
	if len(targets) == 0 {
		io.Copy(io.Discard, r)
		return msgs, errs
	}
	got, gerrs := maildir.DeliverMany(ctx, r, targets, nil)
	for j, i := range idx {
		msgs[i], errs[i] = got[j], gerrs[j]
	}
	return msgs, errs
}

// reopen returns a reader of a message deliverUsers stored for user.
func (m *mailboxes) reopen(ctx context.Context, user string, msg maildir.Message) (*os.File, error) {
	s, err := m.store(user)
	if err != nil {
		return nil, err
	}
	inbox, err := s.Folder("INBOX")
	if err != nil {
		return nil, err
	}
	if msg.UID == 0 {
		return nil, fmt.Errorf("message %s has no UID yet", msg.Key)
	}
	return inbox.OpenMessage(ctx, msg.UID)
}

// deliveryReply is the SMTP reply for a local delivery error. Errors of
// package maildir match syscall errors, which package smtp maps to replies
// the same way when a Session returns them (quota 452 4.2.2, too large 552
// 5.3.4, full disk 452 4.3.1); the queue needs them as RecipientResults.
func deliveryReply(err error) (delivery.Status, smtp.ReplyCode, smtp.EnhancedCode, string) {
	var se *smtp.Error
	switch {
	case errors.As(err, &se):
		st := delivery.StatusTemporary
		if se.Code >= 500 {
			st = delivery.StatusPermanent
		}
		return st, se.Code, se.Enhanced, se.Message
	case errors.Is(err, errNoUser):
		return delivery.StatusPermanent, 550, 5_001_001, "no such user here"
	case errors.Is(err, maildir.ErrTooLarge), errors.Is(err, syscall.EFBIG):
		return delivery.StatusPermanent, 552, 5_003_004, "message too big for the mailbox"
	case errors.Is(err, maildir.ErrQuotaExceeded), errors.Is(err, syscall.EDQUOT):
		return delivery.StatusTemporary, 452, 4_002_002, "mailbox full"
	case errors.Is(err, syscall.ENOSPC):
		return delivery.StatusTemporary, 452, 4_003_001, "insufficient system storage"
	default:
		return delivery.StatusTemporary, 451, 4_003_000, "local delivery failed, will retry"
	}
}
