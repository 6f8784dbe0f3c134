package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/heraldmail/herald/delivery"
	"github.com/heraldmail/herald/dnsmx"
	"github.com/heraldmail/herald/smtp"
)

// router is the queue's Transport: recipients in the local domains are
// delivered into their Maildirs (so bounces to local senders, and local
// copies that failed at first, land in an INBOX), the others go to their
// MX hosts or to the smarthost.
type router struct {
	srv    *server
	remote delivery.Transport
}

func (rt *router) Deliver(ctx context.Context, env *smtp.Envelope, body delivery.Body) (*delivery.Result, error) {
	srv := rt.srv
	res := &delivery.Result{Recipients: make([]delivery.RecipientResult, len(env.To))}
	var remote, mailbox smtp.Envelope
	var remoteIdx, mailboxIdx, localIdx []int
	var local []smtp.Path
	for i, r := range env.To {
		res.Recipients[i].To = r.Path
		switch {
		case !srv.cfg.isLocalDomain(r.Path.Domain):
			remote.To = append(remote.To, r)
			remoteIdx = append(remoteIdx, i)
		case srv.mailboxRelay != nil:
			// An MX instance: the mailbox instance decides.
			mailbox.To = append(mailbox.To, r)
			mailboxIdx = append(mailboxIdx, i)
		default:
			local = append(local, r.Path)
			localIdx = append(localIdx, i)
		}
	}
	if len(local) > 0 {
		var errs []error
		r, err := body.Reader()
		if err != nil {
			errs = make([]error, len(local))
			for i := range errs {
				errs[i] = err
			}
		} else {
			errs = srv.deliverLocal(ctx, srv.log.With("proto", "queue"), env, r, local, deliverSpec{})
		}
		for j, i := range localIdx {
			setLocalResult(&res.Recipients[i], errs[j])
			srv.log.Info("local delivery", "from", env.From.String(), "to", env.To[i].Path.String(),
				"status", res.Recipients[i].Status.String(), "err", errs[j])
		}
	}
	for _, g := range []struct {
		env *smtp.Envelope
		idx []int
		tr  delivery.Transport
	}{{&mailbox, mailboxIdx, srv.mailboxRelay}, {&remote, remoteIdx, rt.remote}} {
		if len(g.env.To) == 0 {
			continue
		}
		g.env.From, g.env.Options = env.From, env.Options
		rr, err := g.tr.Deliver(ctx, g.env, body)
		if err != nil {
			return nil, err
		}
		for j, i := range g.idx {
			res.Recipients[i] = rr.Recipients[j]
		}
	}
	return res, nil
}

func setLocalResult(rr *delivery.RecipientResult, err error) {
	rr.Local = true
	if err == nil {
		rr.Status, rr.Code, rr.Enhanced, rr.Text = delivery.StatusDelivered, 250, 2_000_000, "delivered to mailbox"
		return
	}
	rr.Status, rr.Code, rr.Enhanced, rr.Text = deliveryReply(err)
}

// smarthost sends every message through one relay, authenticated when
// -smarthost-auth is set, over STARTTLS (or implicit TLS on port 465). An
// MX instance (-role mx) uses one in LMTP mode to hand local users' mail to
// its mailbox instance.
type smarthost struct {
	name     string // in texts: "smarthost" or "mailbox instance"
	addr     string
	opts     smtp.SendMailOptions
	hostname string
	cache    *smtp.ClientCache
}

// cacheKey keeps LMTP and SMTP connections apart in the shared cache.
func (s *smarthost) cacheKey() string {
	if s.opts.LMTP {
		return "lmtp " + s.addr
	}
	return s.addr
}

func newSmarthost(cfg *config, cache *smtp.ClientCache) (*smarthost, error) {
	s := &smarthost{name: "smarthost", addr: cfg.smarthost, hostname: cfg.hostname, cache: cache}
	s.opts.LocalName = cfg.hostname
	if cfg.smarthostAuth != "" {
		user, file, ok := strings.Cut(cfg.smarthostAuth, ":")
		if !ok || user == "" || file == "" {
			return nil, errors.New("-smarthost-auth: want USER:PASSFILE")
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("-smarthost-auth: %w", err)
		}
		s.opts.Username = user
		s.opts.Password = strings.TrimRight(string(b), "\r\n")
	}
	return s, nil
}

func (s *smarthost) Deliver(ctx context.Context, env *smtp.Envelope, body delivery.Body) (*delivery.Result, error) {
	res := &delivery.Result{Recipients: make([]delivery.RecipientResult, len(env.To))}
	for i, r := range env.To {
		res.Recipients[i].To = r.Path
	}
	sr, err := s.send(ctx, env, body)
	if sr == nil {
		st, code, enh := delivery.StatusTemporary, smtp.ReplyCode(451), smtp.EnhancedCode(4_004_001)
		text := s.name + " " + s.addr + " unreachable: " + err.Error()
		var se *smtp.Error
		if errors.As(err, &se) {
			code, enh, text = se.Code, se.Enhanced, se.Message
			if se.Code >= 500 {
				st = delivery.StatusPermanent
			}
		}
		for i := range res.Recipients {
			rr := &res.Recipients[i]
			rr.Status, rr.Code, rr.Enhanced, rr.Text, rr.Local = st, code, enh, text, se == nil
		}
		return res, nil
	}
	for i, x := range sr.Recipients {
		rr := &res.Recipients[i]
		rr.Host, rr.TLS = s.addr, sr.TLS != nil
		if sr.TLS != nil {
			rr.TLSVersion = sr.TLS.Version
		}
		rr.DSNRelayed = sr.DSNDropped
		switch {
		case x.Delivered:
			rr.Status = delivery.StatusDelivered
		case x.Reply != nil && x.Reply.Code >= 500:
			rr.Status = delivery.StatusPermanent
		default:
			rr.Status = delivery.StatusTemporary
		}
		if x.Reply != nil {
			rr.Code, rr.Enhanced, rr.Text = x.Reply.Code, x.Reply.Enhanced, strings.Join(x.Reply.Lines, " ")
		} else {
			rr.Code, rr.Enhanced, rr.Text, rr.Local = 451, 4_004_001, "not attempted: the transaction failed", true
		}
	}
	return res, nil
}

// send hands the message to the smarthost, over a connection kept from
// the last message when there is one: with credentials as a submission
// client (smtp.DialSubmission insists on TLS before AUTH); without, as a
// relay on the local network that may lack TLS, with STARTTLS whenever it
// is offered.
func (s *smarthost) send(ctx context.Context, env *smtp.Envelope, body delivery.Body) (*smtp.SendResult, error) {
	c := s.cache.Get(s.cacheKey())
	reused := c != nil
	for {
		if c == nil {
			var err error
			if s.opts.Username != "" {
				c, err = smtp.DialSubmission(ctx, s.addr, &s.opts)
			} else {
				c, err = smtp.Dial(ctx, s.addr, &s.opts.ClientOptions)
			}
			if err != nil {
				return nil, err
			}
		}
		r, err := body.Reader()
		if err != nil {
			c.Close()
			return nil, err
		}
		res, err := c.Send(ctx, env, r)
		if cl, ok := r.(io.Closer); ok {
			cl.Close()
		}
		if reused && smtp.ConnectionLost(res, err) {
			// Closed by the smarthost while it was idle: once more on a
			// new connection.
			c.Close()
			c, reused = nil, false
			continue
		}
		if err != nil {
			c.Quit(ctx)
			return res, err
		}
		s.cache.Put(s.cacheKey(), c)
		return res, nil
	}
}

// newRemote is the Transport for recipients outside the local domains.
func newRemote(cfg *config, res dnsmx.Resolver, cache *smtp.ClientCache, log *slog.Logger) (delivery.Transport, error) {
	if cfg.smarthost != "" {
		return newSmarthost(cfg, cache)
	}
	return &delivery.Deliverer{
		Cache:     cache,
		Resolver:  res,
		Port:      cfg.outboundPort,
		LocalName: cfg.hostname,
		MTASTS:    &delivery.STSResolver{Resolver: res},
		Logger:    log,
	}, nil
}
