package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"

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

	filter *filter // users' Sieve scripts; nil runs none

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

// deliverUsers stores the message read from r in the INBOX of each user
// (in spec's folder, created when missing, with spec's flags and keywords),
// each copy durable when its error is nil. It reads r once.
func (m *mailboxes) deliverUsers(ctx context.Context, env *smtp.Envelope, r io.Reader, users []string, spec deliverSpec) ([]maildir.Message, []error) {
	// A user's script files the message, unless a verdict (Junk) already
	// has: then it goes where the verdict says.
	if spec.held != nil { // the scripts ran at DATA
		return m.deliverFiltered(ctx, env, r, users, spec)
	}
	if m.filter != nil && spec.folder == "" {
		for _, u := range users {
			if sc, err := m.filter.script(u); sc != nil || err != nil {
				return m.deliverFiltered(ctx, env, r, users, spec)
			}
		}
	}
	msgs := make([]maildir.Message, len(users))
	errs := make([]error, len(users))
	targets := make([]*maildir.Maildir, 0, len(users))
	idx := make([]int, 0, len(users))
	for i, u := range users {
		s, err := m.store(u)
		if err == nil {
			var inbox *maildir.Maildir
			inbox, err = folder(ctx, s, spec.folderName())
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
	got, gerrs := maildir.DeliverMany(ctx, r, targets, spec.opts)
	for j, i := range idx {
		msgs[i], errs[i] = got[j], gerrs[j]
	}
	return msgs, errs
}

// folder returns the folder name of s, creating and subscribing it when
// it does not exist yet (the Junk folder before the user's first IMAP
// login).
func folder(ctx context.Context, s *maildir.Store, name string) (*maildir.Maildir, error) {
	f, err := s.Folder(name)
	if !errors.Is(err, maildir.ErrNoFolder) {
		return f, err
	}
	if err := s.CreateFolder(name); err != nil && !errors.Is(err, maildir.ErrFolderExists) {
		return nil, err
	}
	s.Subscribe(ctx, name)
	return s.Folder(name)
}

// reopen returns a reader of a message deliverUsers stored for user in
// folder name.
func (m *mailboxes) reopen(ctx context.Context, user, name string, msg maildir.Message) (*os.File, error) {
	s, err := m.store(user)
	if err != nil {
		return nil, err
	}
	inbox, err := s.Folder(name)
	if err != nil {
		return nil, err
	}
	if msg.UID == 0 {
		return nil, fmt.Errorf("message %s has no UID yet", msg.Key)
	}
	return inbox.OpenMessage(ctx, msg.UID)
}

// deliveryReply is the SMTP reply for a local delivery error, as the queue
// records it: the storage errors of package maildir as package smtp maps
// them for a Session, an address removed since RCPT as 550 5.1.1.
func deliveryReply(err error) (delivery.Status, smtp.ReplyCode, smtp.EnhancedCode, string) {
	se := smtp.StorageError(err)
	switch {
	case se != nil, errors.As(err, &se):
	case errors.Is(err, errNoUser):
		se = errNoSuchUser
	default:
		se = &smtp.Error{Code: 451, Enhanced: 4_003_000, Message: "Local delivery failed, will retry"}
	}
	st := delivery.StatusTemporary
	if se.Code >= 500 {
		st = delivery.StatusPermanent
	}
	return st, se.Code, se.Enhanced, se.Message
}
