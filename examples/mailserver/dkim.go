package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/heraldmail/herald/delivery"
	"github.com/heraldmail/herald/dkim"
	"github.com/heraldmail/herald/dmarc"
	"github.com/heraldmail/herald/message"
	"github.com/heraldmail/herald/smtp"
)

// dkimSelector is the selector of the keys the server makes: the public
// key of DOMAIN is published at herald._domainkey.DOMAIN.
const dkimSelector = "herald"

// signing holds one DKIM key per local domain, made on first start in
// DIR/dkim/DOMAIN.pem (RSA 2048, which every verifier supports).
type signing struct {
	signers map[string]*dkim.Signer // by lower-case domain
	records map[string]string       // the TXT record to publish, by domain
}

func loadSigning(cfg *config) (*signing, error) {
	dir := filepath.Join(cfg.dataDir, "dkim")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	s := &signing{signers: map[string]*dkim.Signer{}, records: map[string]string{}}
	for _, d := range cfg.domains {
		path := filepath.Join(dir, d+".pem")
		pemBytes, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			key, gerr := dkim.GenerateKey(dkim.RSASHA256)
			if gerr != nil {
				return nil, gerr
			}
			if pemBytes, err = dkim.MarshalPrivateKey(key); err != nil {
				return nil, err
			}
			if err = writeFileAtomic(path, pemBytes, 0o600); err != nil {
				return nil, err
			}
		}
		if err != nil {
			return nil, fmt.Errorf("DKIM key of %s: %w", d, err)
		}
		key, err := dkim.ParsePrivateKey(pemBytes)
		if err != nil {
			return nil, fmt.Errorf("DKIM key %s: %w", path, err)
		}
		rec, err := dkim.KeyRecordText(key.Public())
		if err != nil {
			return nil, err
		}
		s.signers[d] = &dkim.Signer{Domain: d, Selector: dkimSelector, Key: key}
		s.records[d] = rec
	}
	return s, nil
}

// sign returns body with a DKIM-Signature of the From: domain prepended
// when that domain is a local one, and body as it is otherwise (mail a
// relay client sends for another domain is not ours to sign).
func (s *signing) sign(body delivery.Body) (delivery.Body, error) {
	r, err := body.Reader()
	if err != nil {
		return nil, err
	}
	h, _, err := message.ReadHeader(r, nil)
	if cl, ok := r.(io.Closer); ok {
		cl.Close()
	}
	if err != nil {
		return body, nil // not ours to judge here; sent as it is
	}
	from, err := dmarc.FromDomain(h)
	if err != nil {
		return body, nil
	}
	signer := s.signers[strings.ToLower(from)]
	if signer == nil {
		return body, nil
	}
	if r, err = body.Reader(); err != nil {
		return nil, err
	}
	field, err := dkim.Sign(r, signer)
	if cl, ok := r.(io.Closer); ok {
		cl.Close()
	}
	if err != nil {
		return nil, err
	}
	return &signedBody{field: field, body: body}, nil
}

// signedBody is a queued message with its DKIM-Signature field in front.
type signedBody struct {
	field string
	body  delivery.Body
}

func (b *signedBody) Reader() (io.Reader, error) {
	r, err := b.body.Reader()
	if err != nil {
		return nil, err
	}
	return io.MultiReader(strings.NewReader(b.field), r), nil
}

// Size is the signed message's size, for the SIZE parameter.
func (b *signedBody) Size() int64 {
	if s, ok := b.body.(interface{ Size() int64 }); ok {
		return s.Size() + int64(len(b.field))
	}
	return 0
}

// signingTransport signs what it hands to the remote Transport.
type signingTransport struct {
	s    *signing
	next delivery.Transport
	log  *slog.Logger
}

func (t *signingTransport) Deliver(ctx context.Context, env *smtp.Envelope, body delivery.Body) (*delivery.Result, error) {
	signed, err := t.s.sign(body)
	if err != nil {
		// Unsigned mail is still mail; the log says why it went so.
		t.log.Error("DKIM signing failed, sending unsigned", "from", env.From.String(), "err", err)
		signed = body
	}
	return t.next.Deliver(ctx, env, signed)
}

// inboundAuth is what DKIM and DMARC found for an inbound message.
type inboundAuth struct {
	dkim  []dkim.Result
	dmarc *dmarc.Result
}

// verifyInbound checks the DKIM signatures of a message (header h, as
// received, then body) and evaluates DMARC with the SPF result of the
// transaction. A message with signatures is spooled, to memory up to
// spoolMemory bytes and to a file in DIR/tmp beyond, since the verdict
// must be known before the reply to DATA; one without is judged from its
// header alone and not held. It returns the body to deliver from.
func (s *session) verifyInbound(ctx context.Context, h *message.Header, body io.Reader) (inboundAuth, io.Reader, func(), error) {
	p := s.srv.policy
	var auth inboundAuth
	done := func() {}
	if p.cfg.dkim && h.Has("DKIM-Signature") {
		sp, err := newSpool(filepath.Join(s.srv.cfg.dataDir, "tmp"))
		if err != nil {
			return auth, body, done, err
		}
		done = sp.close
		s.inbound.spool = sp // the body, for the Sieve scripts too
		if _, err := io.Copy(sp, body); err != nil {
			return auth, body, done, err
		}
		rd, err := sp.reader()
		if err != nil {
			return auth, body, done, err
		}
		var raw bytes.Buffer // the header as it came: its fields byte for byte
		for _, f := range h.All() {
			raw.WriteString(f.Raw())
		}
		raw.WriteString("\r\n")
		v := &dkim.Verifier{Resolver: p.res, Keys: &p.dkimKeys}
		if auth.dkim, err = v.Verify(ctx, io.MultiReader(&raw, rd)); err != nil {
			s.log.Info("DKIM verification failed", "id", s.id, "err", err)
		}
		if body, err = sp.reader(); err != nil {
			return auth, body, done, err
		}
	}
	if p.cfg.dmarc {
		from, err := dmarc.FromDomain(h)
		if err == nil {
			args := dmarc.Args{From: from}
			if st := s.inbound.spf; st != nil {
				args.SPF = *st
			}
			for _, r := range auth.dkim {
				args.DKIM = append(args.DKIM, dmarc.DKIMResult{Domain: r.Domain, Selector: r.Selector, Status: dkimStatus(r.Status)})
			}
			res, err := dmarc.Evaluate(ctx, p.res, args)
			if err != nil {
				return auth, body, done, err
			}
			auth.dmarc = &res
			s.srv.dmarcReports.record(s.info.RemoteAddr.Addr(), args, res)
		}
	}
	return auth, body, done, nil
}

// dkimStatus maps a dkim result onto DMARC's input.
func dkimStatus(st dkim.Status) dmarc.DKIMStatus {
	ds, ok := dmarc.ParseDKIMStatus(st.String())
	if !ok {
		return dmarc.DKIMNone
	}
	return ds
}

// dmarcDecision turns a DMARC result into the reply to DATA (nil to take
// the message) and whether the message goes to Junk.
func dmarcDecision(res *dmarc.Result) (*smtp.Error, bool) {
	if res == nil {
		return nil, false
	}
	switch {
	case res.Status == dmarc.TempError:
		return &smtp.Error{Code: 451, Enhanced: smtp.NewEnhancedCode(4, 7, 1),
			Message: "DMARC policy of " + res.Policy.FromDomain + " could not be checked, try again later"}, false
	case res.Disposition == dmarc.Reject:
		return &smtp.Error{Code: 550, Enhanced: smtp.NewEnhancedCode(5, 7, 1),
			Message: "Rejected by the DMARC policy of " + res.Policy.FromDomain + ": neither SPF nor DKIM passed for it"}, false
	case res.Disposition == dmarc.Quarantine:
		return nil, true
	}
	return nil, false
}
