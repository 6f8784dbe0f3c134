package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/heraldmail/herald/delivery"
	"github.com/heraldmail/herald/maildir"
	"github.com/heraldmail/herald/message"
	"github.com/heraldmail/herald/smtp"
)

// verdictHeader carries an MX instance's filing decision to the mailbox
// instance: "junk" when the junk filter or a DMARC quarantine policy sent
// the message to the Junk folder. The MX removes any such field a client
// sent before it adds its own, and the mailbox instance removes it before
// it stores the message, so the field only ever travels over LMTP between
// the two.
const verdictHeader = "X-Herald-Verdict"

const verdictJunk = "junk"

// errLMTPNotAllowed refuses an LMTP client outside -lmtp-from.
var errLMTPNotAllowed = &smtp.Error{Code: 554, Enhanced: 5_007_001, Message: "Not an MX instance of this mailbox server"}

// lmtpBackend makes the sessions of the LMTP listener of a mailbox
// instance: MX instances hand it the mail of local users, one reply per
// recipient after the data (RFC 2033).
type lmtpBackend struct {
	srv *server
}

func (b *lmtpBackend) NewSession(ctx context.Context, info *smtp.ConnInfo) (smtp.Session, error) {
	log := b.srv.log.With("proto", "lmtp", "client", info.RemoteAddr.String(), "conn", newID())
	a := info.RemoteAddr.Addr().Unmap()
	allowed := false
	for _, p := range b.srv.cfg.lmtpFrom {
		if p.Contains(a) {
			allowed = true
			break
		}
	}
	if !allowed {
		log.Warn("refused: not in -lmtp-from")
		return nil, errLMTPNotAllowed
	}
	log.Debug("connect")
	return &lmtpSession{srv: b.srv, info: info, log: log}, nil
}

// lmtpSession is one LMTP connection from an MX instance.
type lmtpSession struct {
	srv   *server
	info  *smtp.ConnInfo
	log   *slog.Logger
	from  smtp.Path
	opts  smtp.MailOptions
	rcpts []smtp.Path
}

func (s *lmtpSession) Hello(ctx context.Context, name string) error { return nil }

func (s *lmtpSession) Mail(ctx context.Context, from smtp.Path, opts *smtp.MailOptions) error {
	s.from, s.rcpts = from, nil
	s.opts = smtp.MailOptions{}
	if opts != nil {
		s.opts = *opts
	}
	return nil
}

// Rcpt takes local users only: the MX instance already refused unknown
// ones, so a refusal here means the user databases differ (or the user was
// removed in between), and the MX's queue bounces it.
func (s *lmtpSession) Rcpt(ctx context.Context, to smtp.Path, opts *smtp.RcptOptions) error {
	if !s.srv.cfg.isLocalDomain(to.Domain) {
		return &smtp.Error{Code: 550, Enhanced: 5_001_002, Message: "Not a local domain of this mailbox server"}
	}
	if _, err := s.srv.localTargets(pathAddr(to)); err != nil {
		if errors.Is(err, errNoUser) {
			s.log.Info("rcpt refused", "to", to.String(), "reason", "no such user")
			return errNoSuchUser
		}
		return err
	}
	s.rcpts = append(s.rcpts, to)
	return nil
}

// Data is never called: LMTPData answers for each recipient.
func (s *lmtpSession) Data(ctx context.Context, r io.Reader) error {
	errs, err := s.LMTPData(ctx, r, s.rcpts)
	if err != nil {
		return err
	}
	return errors.Join(errs...)
}

// LMTPData stores the message for each recipient, durably before it
// answers, and files it in Junk when the MX's verdict says so.
func (s *lmtpSession) LMTPData(ctx context.Context, r io.Reader, rcpts []smtp.Path) ([]error, error) {
	start := time.Now()
	id := s.info.TransactionID
	h, body, err := message.ReadHeader(r, nil)
	if err != nil {
		io.Copy(io.Discard, body)
		return nil, &smtp.Error{Code: 554, Enhanced: 5_006_000, Message: "Malformed message header"}
	}
	var spec deliverSpec
	var raw bytes.Buffer
	for _, f := range h.All() {
		if strings.EqualFold(f.Name(), verdictHeader) {
			if strings.EqualFold(strings.TrimSpace(f.Value()), verdictJunk) {
				spec = junkSpec()
			}
			continue
		}
		raw.WriteString(f.Raw())
	}
	raw.WriteString("\r\n")
	env := &smtp.Envelope{From: s.from, Options: s.opts}
	for _, p := range rcpts {
		env.To = append(env.To, smtp.Recipient{Path: p})
	}
	log := s.log.With("id", id)
	var errs []error
	if _, users, _ := s.srv.resolveLocal(rcpts); spec.folder == "" && s.srv.boxes.scripted(users) {
		errs = s.srv.deliverScripted(ctx, log, env, raw.Bytes(), body, rcpts)
	} else {
		errs = s.srv.deliverLocal(ctx, log, env, io.MultiReader(&raw, body), rcpts, spec)
	}
	out := make([]error, len(errs))
	for i, e := range errs {
		if e != nil {
			out[i] = replyFor(e)
		}
	}
	s.log.Info("lmtp delivery", "id", id, "from", s.from.String(), "rcpts", len(rcpts), "folder", spec.folderName(),
		"elapsed", time.Since(start).Round(time.Microsecond))
	return out, nil
}

func (s *lmtpSession) Reset(ctx context.Context) { s.from, s.rcpts = smtp.Path{}, nil }

func (s *lmtpSession) Close() error { return nil }

// junkSpec files a message in the Junk folder with the $Junk keyword.
func junkSpec() deliverSpec {
	return deliverSpec{folder: junkFolder, opts: &maildir.DeliverOptions{Keywords: []string{junkKeyword}}}
}

// deliverLocal stores the message read from r in the mailboxes of the
// local addresses to (through their aliases, each user once, by the users'
// Sieve scripts unless spec already chose a folder) and returns one error
// per address: nil when every user it stands for has the message durably,
// errNoUser when it is no longer a local user. It reads r once.
func (s *server) deliverLocal(ctx context.Context, log *slog.Logger, env *smtp.Envelope, r io.Reader, to []smtp.Path, spec deliverSpec) []error {
	targets, users, errs := s.resolveLocal(to)
	if len(users) == 0 {
		io.Copy(io.Discard, r)
		return errs
	}
	msgs, uerrs := s.boxes.deliverUsers(ctx, env, r, users, spec)
	byUser := make(map[string]error, len(users))
	for i, u := range users {
		byUser[u] = uerrs[i]
		if uerrs[i] == nil {
			log.Info("delivered", "user", u, "folder", spec.folderName(), "uid", msgs[i].UID, "size", msgs[i].Size)
		} else {
			log.Warn("local delivery failed", "user", u, "err", uerrs[i])
		}
	}
	for i, us := range targets {
		for _, u := range us {
			if e := byUser[u]; e != nil {
				errs[i] = e
				break
			}
		}
	}
	return errs
}

// resolveLocal returns the users each of the local addresses to stands
// for (nil, with errNoUser or another error in errs, when it stands for
// none), and every user once.
func (s *server) resolveLocal(to []smtp.Path) (targets [][]string, users []string, errs []error) {
	targets, errs = make([][]string, len(to)), make([]error, len(to))
	for i, p := range to {
		us, err := s.localTargets(pathAddr(p))
		if err != nil {
			errs[i] = err
			continue
		}
		targets[i] = us
		for _, u := range us {
			if !slices.Contains(users, u) {
				users = append(users, u)
			}
		}
	}
	return targets, users, errs
}

// deliverScripted is deliverLocal for LMTP when some of the users have a
// Sieve script: the message (head, then body) is held once, and each
// user's script runs once and files it, so that a reject is this
// recipient's refusal in the dialogue (RFC 5429 section 2.1: the MX then
// refuses the message, or bounces it for this recipient when others took
// it). An address that stands for several users fails when one of them
// fails.
func (s *server) deliverScripted(ctx context.Context, log *slog.Logger, env *smtp.Envelope, head []byte, body io.Reader, to []smtp.Path) []error {
	targets, _, errs := s.resolveLocal(to)
	held, err := holdBody(filepath.Join(s.cfg.dataDir, "tmp"), head, body)
	if err != nil {
		log.Error("message not held for the Sieve scripts", "err", err)
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	defer held.close()
	done := map[string]error{}
	for i, us := range targets {
		for _, u := range us {
			e, ok := done[u]
			if !ok {
				var m maildir.Message
				m, e = s.boxes.deliverRecipient(ctx, env, u, held, "")
				done[u] = e
				switch {
				case e != nil:
					log.Warn("local delivery failed", "user", u, "err", e)
				case m.Key == "":
					log.Info("delivered", "user", u, "stored", false)
				default:
					log.Info("delivered", "user", u, "uid", m.UID, "size", m.Size)
				}
			}
			if e != nil && errs[i] == nil {
				errs[i] = e
			}
		}
	}
	return errs
}

// newMailboxRelay is how an MX instance reaches its mailbox instance:
// LMTP over a cached connection, in plain text (the two talk over a
// private network; -lmtp-from guards the listener).
func newMailboxRelay(cfg *config, cache *smtp.ClientCache) *smarthost {
	s := &smarthost{name: "mailbox instance", addr: cfg.mailboxLMTP, hostname: cfg.hostname, cache: cache}
	s.opts.LocalName = cfg.hostname
	s.opts.LMTP = true
	s.opts.TLSPolicy = smtp.TLSNone
	return s
}

// handOver is accept for an MX instance: the message goes to the mailbox
// instance over LMTP for the local recipients before the client gets its
// reply; what the mailbox instance cannot take now (and the remote
// recipients) goes into the queue, durably. When the mailbox instance
// refuses every recipient for good and there is no other, the client gets
// that refusal, so nothing is bounced later.
func (s *server) handOver(ctx context.Context, log *slog.Logger, env *smtp.Envelope, r io.Reader, spec deliverSpec) error {
	var local, remote []smtp.Recipient
	for _, rc := range env.To {
		if s.cfg.isLocalDomain(rc.Path.Domain) {
			local = append(local, rc)
		} else {
			remote = append(remote, rc)
		}
	}
	h, body, err := message.ReadHeader(r, nil)
	if err != nil {
		io.Copy(io.Discard, body)
		return &smtp.Error{Code: 554, Enhanced: 5_006_000, Message: "Malformed message header"}
	}
	sp, err := newSpool(filepath.Join(s.cfg.dataDir, "tmp"))
	if err != nil {
		io.Copy(io.Discard, body)
		return replyFor(err)
	}
	defer sp.close()
	var head bytes.Buffer
	if spec.folder == junkFolder {
		head.WriteString(verdictHeader + ": " + verdictJunk + "\r\n")
	}
	for _, f := range h.All() {
		if !strings.EqualFold(f.Name(), verdictHeader) {
			head.WriteString(f.Raw())
		}
	}
	head.WriteString("\r\n")
	if _, err := io.Copy(sp, io.MultiReader(&head, body)); err != nil {
		io.Copy(io.Discard, body)
		return err
	}
	left := remote
	delivered := 0
	var refusal *smtp.Error
	allRefused := true
	if len(local) > 0 {
		start := time.Now()
		res, _ := s.mailboxRelay.Deliver(ctx, &smtp.Envelope{From: env.From, Options: env.Options, To: local}, delivery.BodyFunc(sp.reader))
		for i, rr := range res.Recipients {
			switch rr.Status {
			case delivery.StatusDelivered:
				delivered++
				log.Info("handed over", "to", rr.To.String(), "via", s.cfg.mailboxLMTP, "elapsed", time.Since(start).Round(time.Microsecond))
				continue
			case delivery.StatusPermanent:
				if refusal == nil {
					refusal = &smtp.Error{Code: rr.Code, Enhanced: rr.Enhanced, Message: rr.Text}
				}
			default:
				allRefused = false
			}
			log.Warn("mailbox instance did not take the message", "to", rr.To.String(), "status", rr.Status.String(),
				"code", int(rr.Code), "text", rr.Text)
			left = append(left, local[i])
		}
	}
	if len(left) == 0 {
		return nil
	}
	if delivered == 0 && len(remote) == 0 && allRefused && refusal != nil {
		return refusal
	}
	rd, err := sp.reader()
	if err == nil {
		var qid string
		qid, err = s.queue.Enqueue(ctx, &smtp.Envelope{From: env.From, Options: env.Options, To: left}, rd)
		if err == nil {
			log.Info("queued", "queue_id", qid, "rcpts", len(left))
			return nil
		}
	}
	if delivered == 0 {
		return err
	}
	log.Error("message handed over for some recipients but could not be queued for the others; the client will send it again", "err", err)
	return &smtp.Error{Code: 451, Enhanced: 4_003_000, Message: "Temporary failure, please try again"}
}
