package main

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/heraldmail/herald/dkim"
	"github.com/heraldmail/herald/dmarc"
	"github.com/heraldmail/herald/greylist"
	"github.com/heraldmail/herald/maildir"
	"github.com/heraldmail/herald/message"
	"github.com/heraldmail/herald/smtp"
	"github.com/heraldmail/herald/spf"
)

// inboundState is the policy state of an MX session: what the client
// checks found for the connection and what the checks of the current
// transaction found.
type inboundState struct {
	client   clientState
	spf      *spf.Result
	spfArgs  spf.Args
	greyHdrs []string // X-Greylist values of recipients that passed after a delay

	// The message of the current DATA as inboundData passes it on: the
	// header (trace fields added) and the body, with the spool that
	// holds the body when DKIM needed one; and DMARC's result.
	head  []byte
	body  io.Reader
	spool *spool
	dmarc *dmarc.Result
}

// deliverSpec says where local copies go.
type deliverSpec struct {
	folder string // "" means INBOX
	opts   *maildir.DeliverOptions

	// held is the message when the MX port ran the scripts before the
	// reply to DATA, verdicts what each user's script decided (by user),
	// so that no script runs twice; noMDN, when set, says why no
	// rejection message may go to the sender.
	held     *heldMessage
	verdicts map[string]*sieveVerdict
	noMDN    string
}

// policyApplies reports whether the inbound policy judges this session:
// the MX port, a client outside -relay-networks.
func (s *session) policyApplies() bool {
	return !s.b.submission && !s.mayRelay()
}

// inboundMail runs the client checks (once per connection) and SPF at MAIL
// FROM.
func (s *session) inboundMail(ctx context.Context, from smtp.Path) error {
	p := s.srv.policy
	log := s.log.With("id", s.id)
	st := &s.inbound
	st.spf, st.greyHdrs = nil, nil
	if !st.client.checked {
		st.client = p.checkClient(ctx, log, s.info.RemoteAddr.Addr(), s.info.HeloName)
	}
	if err := st.client.refusal; err != nil {
		s.refuse("mail", from.String(), err, "client check")
		return err
	}
	if p.cfg.spf {
		res, args, err := p.checkSPF(ctx, log, s.info.RemoteAddr.Addr(), s.info.HeloName, from, st.client.allowlisted != "")
		st.spf, st.spfArgs = &res, args
		if err != nil {
			s.refuse("mail", from.String(), err, "spf "+res.Status.String())
			return err
		}
	}
	return nil
}

// inboundRcpt greylists a local recipient.
func (s *session) inboundRcpt(ctx context.Context, to smtp.Path) error {
	p := s.srv.policy
	if p.grey == nil || s.inbound.client.allowlisted != "" {
		return nil
	}
	d, err := p.checkGreylist(ctx, s.log.With("id", s.id), s.info.RemoteAddr.Addr(), s.inbound.client.ptrName, s.from, to)
	if err != nil {
		s.refuse("rcpt", to.String(), err, "greylisted")
		return err
	}
	if d.Reason == greylist.ReasonRetried {
		if v, ok := p.grey.HeaderValue(d); ok {
			s.inbound.greyHdrs = append(s.inbound.greyHdrs, v)
		}
	}
	return nil
}

// inboundData adds the trace fields of the checks to the message's header
// (above the Received: field the SMTP server added, as RFC 7208 section
// 9.1 asks for Received-SPF), runs the junk filter and says where the
// message goes. It reads the header and at most junkScanBytes of the body
// ahead; the returned reader gives the whole message.
//
// With -dkim and -dmarc it verifies the message's DKIM signatures and
// evaluates the DMARC policy of its From: domain first (see
// verifyInbound); the returned func releases what that held and must be
// called once the message is delivered.
func (s *session) inboundData(ctx context.Context, r io.Reader) (io.Reader, deliverSpec, func(), error) {
	p := s.srv.policy
	release := func() {}
	st := &s.inbound
	st.head, st.body, st.spool, st.dmarc = nil, nil, nil, nil
	h, body, err := message.ReadHeader(r, nil)
	if err != nil {
		return body, deliverSpec{}, release, &smtp.Error{Code: 554, Enhanced: 5_006_000, Message: "Malformed message header"}
	}
	auth, body, release, err := s.verifyInbound(ctx, h, body)
	if err != nil {
		return body, deliverSpec{}, release, err
	}
	st.dmarc = auth.dmarc
	if auth.dmarc != nil {
		refusal, quarantine := dmarcDecision(auth.dmarc)
		result := auth.dmarc.Status.String()
		action := map[bool]string{true: "junk-folder", false: "accept"}[quarantine]
		if refusal != nil {
			action = "refuse"
		}
		p.decide(s.log.With("id", s.id), "dmarc", result, action, dmarc.AuthenticationResults(*auth.dmarc))
		if refusal != nil {
			return body, deliverSpec{}, release, refusal
		}
	}
	// A client must not be able to pass its own verdicts off as ours:
	// X-Herald-Spam fields and Authentication-Results fields naming this
	// host as their authserv-id (RFC 8601 section 5) are removed.
	h.Del(spamHeader)
	var raw bytes.Buffer
	for _, f := range h.All() {
		if !s.forgedAR(f) {
			raw.WriteString(f.Raw())
		}
	}
	raw.WriteString("\r\n")

	var ar []string
	if st.spf != nil {
		ar = append(ar, spf.AuthenticationResults(*st.spf))
	}
	if st.client.fcrdns != "" {
		ip := s.info.RemoteAddr.Addr().Unmap().String()
		res := map[string]string{"pass": "pass", "fail": "fail", "temperror": "temperror"}[st.client.fcrdns]
		v := "iprev=" + res + " policy.iprev=" + ip
		if st.client.ptrName != "" {
			v += " (" + st.client.ptrName + ")"
		}
		ar = append(ar, v)
	}
	if p.cfg.dkim && len(auth.dkim) > 0 {
		ar = append(ar, dkim.AuthenticationResults(auth.dkim...))
	}
	if auth.dmarc != nil {
		ar = append(ar, dmarc.AuthenticationResults(*auth.dmarc))
	}
	var spec deliverSpec
	if auth.dmarc != nil {
		if _, quarantine := dmarcDecision(auth.dmarc); quarantine {
			spec = deliverSpec{folder: junkFolder, opts: &maildir.DeliverOptions{Keywords: []string{junkKeyword}}}
		}
	}
	var junkHdr string
	if p.junk != nil {
		var prefix bytes.Buffer
		if _, err := prefix.ReadFrom(io.LimitReader(body, junkScanBytes)); err != nil {
			return body, deliverSpec{}, release, err
		}
		buf := prefix.Bytes()
		in := junkInputs{fcrdns: st.client.fcrdns, helo: st.client.helo}
		if st.spf != nil {
			in.spf = st.spf.Status.String()
		}
		v := p.junk.score(scanMessage(h, raw.Bytes(), buf), in)
		junkHdr = v.header(p.junk.threshold)
		result := "ham"
		if v.spam {
			result = "spam"
			spec = deliverSpec{folder: junkFolder, opts: &maildir.DeliverOptions{Keywords: []string{junkKeyword}}}
		}
		p.decide(s.log.With("id", s.id), "junk", result, map[bool]string{true: "junk-folder", false: "inbox"}[v.spam], v.header(p.junk.threshold))
		body = io.MultiReader(bytes.NewReader(buf), body)
	}
	// The new fields, top to bottom, then the fields as received, byte
	// for byte, then the blank line.
	var trace message.Header
	if st.spf != nil {
		trace.Add("Received-SPF", strings.TrimPrefix(spf.ReceivedSPF(*st.spf, st.spfArgs), "Received-SPF: "))
	}
	if len(ar) > 0 {
		trace.Add("Authentication-Results", p.host+"; "+strings.Join(ar, "; "))
	}
	for _, g := range st.greyHdrs {
		trace.Add(greylist.HeaderName, g)
	}
	if junkHdr != "" {
		trace.Add(spamHeader, junkHdr)
	}
	var hb bytes.Buffer
	if _, err := trace.WriteTo(&hb); err != nil {
		return body, deliverSpec{}, release, err
	}
	hb.Truncate(hb.Len() - 2) // the blank line that ends the new fields
	hb.Write(raw.Bytes())
	st.head, st.body = bytes.Clone(hb.Bytes()), body
	return io.MultiReader(&hb, body), spec, release, nil
}

// forgedAR reports whether f is an Authentication-Results field that
// claims to come from this host.
func (s *session) forgedAR(f message.Field) bool {
	if !strings.EqualFold(f.Name(), "Authentication-Results") {
		return false
	}
	id, _, _ := strings.Cut(f.Value(), ";")
	id = strings.TrimSpace(id)
	if i := strings.IndexAny(id, " \t("); i >= 0 { // authserv-id [version] [CFWS]
		id = id[:i]
	}
	return strings.EqualFold(id, s.srv.policy.host)
}

func (d deliverSpec) folderName() string {
	if d.folder == "" {
		return "INBOX"
	}
	return d.folder
}

// inboundSieve runs the Sieve scripts of the message's local users before
// the reply to DATA, once per user, so that a reject can be a refusal in
// the dialogue (RFC 5429 section 2.1): when every user rejects, the
// reply is 550 5.7.1 with the first script's reason (see
// sieveRejectReply) and nobody gets the message; when only some do, the
// message is taken for the others and the rejecting ones' verdicts send a
// rejection message at delivery. The verdicts and the held message go to
// delivery in spec. The body is the one DKIM spooled when it did, else it
// is spooled here: one copy either way. The returned reader is the
// message to deliver and release frees what was held; both are r and a
// no-op when no user has a script or a verdict (Junk) already filed the
// message.
func (s *session) inboundSieve(ctx context.Context, env *smtp.Envelope, r io.Reader, spec *deliverSpec) (io.Reader, func(), error) {
	release := func() {}
	boxes := s.srv.boxes
	st := &s.inbound
	if boxes.filter == nil || spec.folder != "" || st.head == nil {
		return r, release, nil
	}
	var users []string
	for _, rc := range env.To {
		if !s.srv.cfg.isLocalDomain(rc.Path.Domain) {
			return r, release, nil // not for the scripts alone to decide
		}
		us, err := s.srv.localTargets(pathAddr(rc.Path))
		if err != nil {
			return r, release, nil // accept decides
		}
		for _, u := range us {
			if !slices.Contains(users, u) {
				users = append(users, u)
			}
		}
	}
	scripted := false
	for _, u := range users {
		if sc, err := boxes.filter.script(u); sc != nil || err != nil {
			scripted = true
			break
		}
	}
	if !scripted {
		return r, release, nil
	}
	var msg *heldMessage
	if st.spool != nil {
		msg = newHeld(st.head, st.spool, false) // closed by inboundData's release
	} else {
		var err error
		if msg, err = holdBody(filepath.Join(s.srv.cfg.dataDir, "tmp"), st.head, st.body); err != nil {
			return r, release, err
		}
		release = msg.close
	}
	verdicts := map[string]*sieveVerdict{}
	var first *sieveVerdict
	all := true
	for _, u := range users {
		v := boxes.evaluate(ctx, env, u, msg)
		verdicts[u] = v
		if !v.rejects() {
			all = false
		} else if first == nil {
			first = v
		}
	}
	log := s.log.With("id", s.id)
	if all {
		err := sieveRejectReply(first.reject.Reason, env.Options.UTF8)
		for _, v := range verdicts {
			log.Info("sieve reject in the dialogue", "user", v.user, "extended", v.reject.Extended, "reason", sanitizeReason(v.reject.Reason, true))
		}
		return r, release, err
	}
	spec.held, spec.verdicts = msg, verdicts
	switch {
	case env.From.IsNull():
		spec.noMDN = "null sender"
	case st.spf != nil && st.spf.Status == spf.Fail:
		spec.noMDN = "SPF failed for the sender"
	case st.dmarc != nil && st.dmarc.Status == dmarc.Fail:
		spec.noMDN = "DMARC failed for the From domain"
	}
	rd, err := msg.reader()
	if err != nil {
		return r, release, err
	}
	return rd, release, nil
}
