package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base32"
	"errors"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/heraldmail/herald/message"
	"github.com/heraldmail/herald/smtp"
)

// smtpBackend makes the sessions of one SMTP listener: the MX port, which
// takes mail for the local domains from anyone, or a submission port, which
// takes mail from authenticated users for anywhere (RFC 6409).
type smtpBackend struct {
	srv        *server
	submission bool
}

func (b *smtpBackend) NewSession(ctx context.Context, info *smtp.ConnInfo) (smtp.Session, error) {
	kind := "mx"
	if b.submission {
		kind = "submission"
	}
	log := b.srv.log.With("proto", kind, "client", info.RemoteAddr.String(), "conn", newID())
	log.Info("connect", "local", info.LocalAddr.String(), "tls", info.TLS != nil)
	return &session{b: b, srv: b.srv, info: info, log: log, start: time.Now()}, nil
}

// session is one SMTP connection.
type session struct {
	b     *smtpBackend
	srv   *server
	info  *smtp.ConnInfo
	log   *slog.Logger
	start time.Time

	authLogged bool
	tlsLogged  bool
	id         string // transaction id in the logs and Received:
	from       smtp.Path
	opts       smtp.MailOptions
	rcpts      []smtp.Recipient
	msgs       int
	inbound    inboundState
}

func newID() string {
	var b [10]byte
	rand.Read(b[:])
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

func (s *session) Hello(ctx context.Context, name string) error {
	if s.info.TLS != nil && !s.tlsLogged {
		s.tlsLogged = true
		s.log.Info("tls", "version", tls.VersionName(s.info.TLS.Version), "cipher", tls.CipherSuiteName(s.info.TLS.CipherSuite), "helo", name)
	}
	return nil
}

var (
	errAuthRequired = &smtp.Error{Code: 530, Enhanced: 5_007_000, Message: "Authentication required"}
	errRelayDenied  = &smtp.Error{Code: 550, Enhanced: 5_007_001, Message: "Relaying denied: this server takes mail only for its own domains"}
	errNoSuchUser   = &smtp.Error{Code: 550, Enhanced: 5_001_001, Message: "No such user here"}
)

func (s *session) Mail(ctx context.Context, from smtp.Path, opts *smtp.MailOptions) error {
	s.id = s.info.TransactionID // the id of the Received: field
	s.from, s.rcpts = from, nil
	if opts != nil {
		s.opts = *opts
	} else {
		s.opts = smtp.MailOptions{}
	}
	if id := s.info.AuthIdentity; id != "" && !s.authLogged {
		s.authLogged = true
		s.log.Info("auth", "user", id, "mechanism", s.info.AuthMechanism)
	}
	if s.b.submission {
		id := s.info.AuthIdentity
		if id == "" {
			s.refuse("mail", from.String(), errAuthRequired, "not authenticated")
			return errAuthRequired
		}
		if from.IsNull() || !s.srv.db.mayUse(id, pathAddr(from)) {
			err := &smtp.Error{Code: 553, Enhanced: 5_007_001, Message: "Sender address " + from.String() + " is not yours: " + id + " may send only from its own addresses and aliases"}
			s.refuse("mail", from.String(), err, "sender not owned by user")
			return err
		}
		if err := s.srv.policy.checkRate(ctx, s.log.With("id", s.id), id); err != nil {
			s.refuse("mail", from.String(), err, "rate limit")
			return err
		}
	} else if s.policyApplies() {
		if err := s.inboundMail(ctx, from); err != nil {
			return err
		}
	}
	s.log.Info("mail", "id", s.id, "from", from.String(), "size", s.opts.Size, "body", string(s.opts.Body))
	return nil
}

func (s *session) refuse(step, arg string, err *smtp.Error, reason string) {
	s.log.Info("refused", "id", s.id, "step", step, "arg", arg, "code", int(err.Code), "status", err.Enhanced.String(), "reason", reason)
}

// mayRelay reports whether this client may send to other domains.
func (s *session) mayRelay() bool {
	if s.b.submission {
		return s.info.AuthIdentity != ""
	}
	a := s.info.RemoteAddr.Addr().Unmap()
	for _, p := range s.srv.cfg.relayNetworks {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func (s *session) Rcpt(ctx context.Context, to smtp.Path, opts *smtp.RcptOptions) error {
	if to.IsPostmaster() {
		to.Domain = s.srv.cfg.domains[0]
	}
	r := smtp.Recipient{Path: to}
	if opts != nil {
		r.Options = *opts
	}
	if s.srv.cfg.isLocalDomain(to.Domain) {
		if _, err := s.srv.localTargets(pathAddr(to)); err != nil {
			if errors.Is(err, errNoUser) {
				s.refuse("rcpt", to.String(), errNoSuchUser, "unknown local recipient")
				return errNoSuchUser
			}
			return err
		}
		if s.policyApplies() {
			if err := s.inboundRcpt(ctx, to); err != nil {
				return err
			}
		}
	} else if !s.mayRelay() {
		// Domain literals, source routes (dropped by the parser), and
		// user%host or host!user local parts of a remote domain all end
		// here: only the domain decides, and it is not ours.
		s.refuse("rcpt", to.String(), errRelayDenied, "remote recipient from a client that may not relay")
		return errRelayDenied
	}
	s.rcpts = append(s.rcpts, r)
	s.log.Info("rcpt", "id", s.id, "to", to.String())
	return nil
}

func (s *session) Data(ctx context.Context, r io.Reader) error {
	env := &smtp.Envelope{From: s.from, Options: s.opts, To: s.rcpts}
	var spec deliverSpec
	if s.policyApplies() {
		var err error
		var release func()
		r, spec, release, err = s.inboundData(ctx, r)
		defer release()
		if err == nil {
			r, release, err = s.inboundSieve(ctx, env, r, &spec)
			defer release()
		}
		if err != nil {
			io.Copy(io.Discard, r)
			var se *smtp.Error
			if errors.As(err, &se) {
				s.refuse("data", "", se, err.Error())
			}
			return err
		}
	}
	if s.b.submission {
		var err error
		r, err = s.prepareSubmission(r)
		if err != nil {
			io.Copy(io.Discard, r)
			var se *smtp.Error
			if errors.As(err, &se) {
				s.refuse("data", "", se, err.Error())
			}
			return err
		}
	}
	start := time.Now()
	err := s.srv.accept(ctx, s.log.With("id", s.id), env, r, spec)
	if err != nil {
		s.log.Warn("data refused", "id", s.id, "err", err)
		return err
	}
	s.msgs++
	if s.b.submission {
		s.srv.policy.countRate(ctx, s.log.With("id", s.id), s.info.AuthIdentity)
	}
	s.log.Info("accepted", "id", s.id, "from", env.From.String(), "rcpts", len(env.To), "elapsed", time.Since(start).Round(time.Microsecond))
	return nil
}

// prepareSubmission checks the header of a submitted message and completes
// it as RFC 6409 section 8 allows: the From: (and Sender:) addresses must
// belong to the authenticated user; Date: and Message-ID: are added when
// missing and Bcc: is removed.
func (s *session) prepareSubmission(r io.Reader) (io.Reader, error) {
	id := s.info.AuthIdentity
	h, body, err := message.ReadHeader(r, nil)
	if err != nil {
		return r, &smtp.Error{Code: 554, Enhanced: 5_006_000, Message: "Malformed message header"}
	}
	if !h.Has("From") {
		h.Prepend("From", "<"+id+">")
	}
	for _, name := range []string{"From", "Sender"} {
		if !h.Has(name) {
			continue
		}
		list, err := h.AddressList(name)
		if err != nil {
			return body, &smtp.Error{Code: 554, Enhanced: 5_006_000, Message: "Malformed " + name + ": field"}
		}
		for _, a := range message.Mailboxes(list) {
			addr := strings.ToLower(a.Addr)
			if !s.srv.db.mayUse(id, addr) {
				return body, &smtp.Error{Code: 553, Enhanced: 5_007_001, Message: name + ": <" + a.Addr + "> is not an address of " + id}
			}
		}
	}
	if !h.Has("Date") {
		h.Add("Date", message.FormatDate(time.Now()))
	}
	if !h.Has("Message-ID") {
		mid, err := message.GenerateMessageID(s.srv.cfg.hostname)
		if err != nil {
			mid, _ = message.GenerateMessageID(s.srv.cfg.domains[0])
		}
		h.Add("Message-ID", message.FormatMessageID(mid))
	}
	h.Del("Bcc")
	var hb bytes.Buffer
	if _, err := h.WriteTo(&hb); err != nil {
		return body, &smtp.Error{Code: 554, Enhanced: 5_006_000, Message: "Malformed message header"}
	}
	return io.MultiReader(&hb, body), nil
}

func (s *session) Reset(ctx context.Context) {
	s.from, s.rcpts = smtp.Path{}, nil
}

func (s *session) Close() error {
	s.log.Info("disconnect", "messages", s.msgs, "duration", time.Since(s.start).Round(time.Millisecond))
	return nil
}
