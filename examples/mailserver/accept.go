package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/heraldmail/herald/smtp"
)

// localTargets returns the users that mail for the local address addr goes
// to. postmaster@ of every local domain always exists (RFC 5321 section
// 4.5.1): without a user or alias of that name, its mail is kept in the
// mailbox DIR/mail/DOMAIN/postmaster/ for an administrator to read once a
// user postmaster@DOMAIN is added.
func (s *server) localTargets(addr string) ([]string, error) {
	users, err := s.db.resolve(addr)
	if errors.Is(err, errNoUser) && strings.HasPrefix(addr, "postmaster@") {
		return []string{addr}, nil
	}
	return users, err
}

// accept takes responsibility for a message: recipients in the local
// domains get it in their INBOX (or the folder of spec), durably, before accept returns; the others
// (and local copies that failed for a reason that may pass) go into the
// outbound queue, durably too. An error means nobody got the message, so
// the client may send it again without causing duplicates; the one
// exception, a queue that fails after some local copies were stored, is
// logged as an error and answered with a temporary failure, since a
// duplicate is better than a loss (RFC 5321 section 6.1).
func (s *server) accept(ctx context.Context, log *slog.Logger, env *smtp.Envelope, r io.Reader, spec deliverSpec) error {
	if s.mailboxRelay != nil {
		return s.handOver(ctx, log, env, r, spec)
	}
	var remote []smtp.Recipient
	var local []smtp.Path
	var localIdx []int
	for i, rc := range env.To {
		if s.cfg.isLocalDomain(rc.Path.Domain) {
			local, localIdx = append(local, rc.Path), append(localIdx, i)
		} else {
			remote = append(remote, rc)
		}
	}
	targets, users, terrs := s.resolveLocal(local)
	rcptUsers := make([][]string, len(env.To))
	for j, i := range localIdx {
		if terrs[j] != nil {
			// Removed between RCPT and the end of the data: the
			// queue decides (and bounces it).
			remote = append(remote, env.To[i])
			continue
		}
		rcptUsers[i] = targets[j]
	}
	if len(users) == 0 {
		qid, err := s.queue.Enqueue(ctx, env, r)
		if err != nil {
			return err
		}
		log.Info("queued", "queue_id", qid, "rcpts", len(env.To))
		return nil
	}

	if spec.held == nil && spec.folder == "" && s.boxes.scripted(users) {
		// The scripts run at delivery (submission, a trusted relay
		// client): the message is held once for them, for the copies
		// they ask for and for the queue.
		held, err := holdMessage(filepath.Join(s.cfg.dataDir, "tmp"), r)
		if err != nil {
			log.Error("message not held for the Sieve scripts", "err", err)
			return &smtp.Error{Code: 451, Enhanced: 4_003_000, Message: "Temporary failure, please try again"}
		}
		defer held.close()
		spec.held = held
		if r, err = held.reader(); err != nil {
			return &smtp.Error{Code: 451, Enhanced: 4_003_000, Message: "Temporary failure, please try again"}
		}
	}
	msgs, errs := s.boxes.deliverUsers(ctx, env, r, users, spec)
	ok, stored := -1, -1 // the first user without an error, and with a stored copy
	failed := map[string]error{}
	for i, u := range users {
		if errs[i] == nil {
			if ok < 0 {
				ok = i
			}
			if msgs[i].Key == "" {
				// A script rejected or discarded it, or filed no copy here.
				log.Info("delivered", "user", u, "stored", false)
				continue
			}
			if stored < 0 {
				stored = i
			}
			log.Info("delivered", "user", u, "folder", spec.folderName(), "uid", msgs[i].UID, "size", msgs[i].Size)
		} else {
			failed[u] = errs[i]
			log.Warn("local delivery failed", "user", u, "err", errs[i])
		}
	}
	if ok < 0 {
		return replyFor(errs[0])
	}
	left := remote
	for i, rc := range env.To {
		for _, u := range rcptUsers[i] {
			if failed[u] != nil {
				left = append(left, rc)
				break
			}
		}
	}
	if len(left) == 0 {
		return nil
	}
	var src io.Reader
	var err error
	switch {
	case spec.held != nil:
		src, err = spec.held.reader()
	case stored >= 0:
		var f *os.File
		if f, err = s.boxes.reopen(ctx, users[stored], spec.folderName(), msgs[stored]); err == nil {
			defer f.Close()
			src = f
		}
	default:
		err = errors.New("no stored copy of the message")
	}
	if err == nil {
		var qid string
		qid, err = s.queue.Enqueue(ctx, &smtp.Envelope{From: env.From, Options: env.Options, To: left}, src)
		if err == nil {
			log.Info("queued", "queue_id", qid, "rcpts", len(left))
			return nil
		}
	}
	log.Error("message stored for some recipients but could not be queued for the others; the client will send it again", "err", err)
	return &smtp.Error{Code: 451, Enhanced: 4_003_000, Message: "Temporary failure, please try again"}
}

// replyFor turns a local delivery error into the reply for the client.
func replyFor(err error) error {
	_, code, enh, text := deliveryReply(err)
	return &smtp.Error{Code: code, Enhanced: enh, Message: text}
}
