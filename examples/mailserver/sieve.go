package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/heraldmail/herald/dsn"
	"github.com/heraldmail/herald/maildir"
	"github.com/heraldmail/herald/message"
	"github.com/heraldmail/herald/sieve"
	"github.com/heraldmail/herald/sieve/managesieve"
	"github.com/heraldmail/herald/sieve/managesieve/managesievedir"
	"github.com/heraldmail/herald/smtp"
)

// filter runs the users' Sieve scripts at local delivery. Scripts live in
// DIR/sieve/USER/ in Pigeonhole's layout, uploaded over ManageSieve; the
// active one is DIR/sieve/USER/.dovecot.sieve.
type filter struct {
	scripts *managesievedir.Backend
	log     *slog.Logger
	// send queues a message the script sends: a redirect (from the
	// original sender) or a vacation reply (from <>).
	send func(ctx context.Context, from smtp.Path, to string, msg io.Reader) error

	vacationMu sync.Mutex // serializes the check, send and record of vacation replies

	mu       sync.Mutex
	parsed   map[string]parsedScript             // by path
	vacation map[string]*sieve.FileVacationStore // by user
}

type parsedScript struct {
	mtime  time.Time
	size   int64
	script *sieve.Script
	err    error
}

func newFilter(cfg *config, log *slog.Logger) *filter {
	return &filter{
		scripts:  &managesievedir.Backend{Root: filepath.Join(cfg.dataDir, "sieve")},
		log:      log,
		parsed:   map[string]parsedScript{},
		vacation: map[string]*sieve.FileVacationStore{},
	}
}

// checkScript is ManageSieve's CHECKSCRIPT and PUTSCRIPT check.
func checkScript(b []byte) error {
	_, err := sieve.Parse(b, nil)
	return err
}

// managesieveServer serves the users' scripts on -managesieve.
func (f *filter) managesieveServer(s *server) *managesieve.Server {
	srv := &managesieve.Server{
		Backend:    f.scripts,
		Check:      checkScript,
		Extensions: sieve.Extensions(),
		TLSConfig:  s.tls,
		Auth:       s.auth,
		Logger:     s.log.With("proto", "managesieve"),
	}
	srv.MaxConnections = s.cfg.maxConns
	return srv
}

// script returns user's active script, nil when there is none; a script
// that does not parse is an error (the message is then kept in INBOX).
func (f *filter) script(user string) (*sieve.Script, error) {
	path, err := f.scripts.ActiveScript(user)
	if err != nil || path == "" {
		return nil, err
	}
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	p, ok := f.parsed[path]
	f.mu.Unlock()
	if ok && p.mtime.Equal(fi.ModTime()) && p.size == fi.Size() {
		return p.script, p.err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	p = parsedScript{mtime: fi.ModTime(), size: fi.Size()}
	p.script, p.err = sieve.Parse(b, nil)
	f.mu.Lock()
	f.parsed[path] = p
	f.mu.Unlock()
	return p.script, p.err
}

// vacationStore is user's vacation memory, DIR/sieve/USER/.vacation
// beside the scripts (where Pigeonhole keeps its duplicate database in
// the user's home), so that a restart does not answer a sender twice.
func (f *filter) vacationStore(user string) *sieve.FileVacationStore {
	f.mu.Lock()
	defer f.mu.Unlock()
	v := f.vacation[user]
	if v == nil {
		v = &sieve.FileVacationStore{Path: filepath.Join(f.scripts.Root, user, ".vacation"), Logger: f.log.With("user", user)}
		f.vacation[user] = v
	}
	return v
}

// copyTarget is one copy of a message to store: a folder and its flags.
type copyTarget struct {
	user   string
	folder string // maildir folder name, "" for INBOX
	opts   maildir.DeliverOptions
}

// heldMessage is a message held for the scripts and for delivery: its
// header as bytes in memory (at most the header limit of package
// message), its body in a spool (at most spoolMemory bytes of it in
// memory, the rest in an unlinked file), so that it can be read again for
// each copy, redirect and rejection without a second copy of the body.
type heldMessage struct {
	head   []byte // the header fields and the blank line
	header *message.Header
	body   *spool
	own    bool // body is this message's to close
}

// holdBody holds a message whose header is head and whose body is read
// from body, into a new spool in dir.
func holdBody(dir string, head []byte, body io.Reader) (*heldMessage, error) {
	sp, err := newSpool(dir)
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(sp, body); err != nil {
		sp.close()
		return nil, err
	}
	return newHeld(head, sp, true), nil
}

// holdMessage reads a whole message from r: its header is parsed and
// kept as its fields came, its body spooled.
func holdMessage(dir string, r io.Reader) (*heldMessage, error) {
	h, body, err := message.ReadHeader(r, nil)
	if err != nil {
		io.Copy(io.Discard, r)
		return nil, err
	}
	var raw bytes.Buffer
	for _, f := range h.All() {
		raw.WriteString(f.Raw())
	}
	raw.WriteString("\r\n")
	return holdBody(dir, raw.Bytes(), body)
}

func newHeld(head []byte, body *spool, own bool) *heldMessage {
	h, _, err := message.ReadHeader(bytes.NewReader(head), nil)
	if err != nil {
		h = &message.Header{}
	}
	return &heldMessage{head: head, header: h, body: body, own: own}
}

func (m *heldMessage) size() int64 {
	n, _ := m.body.size()
	return int64(len(m.head)) + n
}

// reader returns the message as received.
func (m *heldMessage) reader() (io.Reader, error) {
	return m.readerWith(nil)
}

// readerWith returns the message with header h in place of its own (nil:
// its own); the body is read from the spool, byte for byte.
func (m *heldMessage) readerWith(h *message.Header) (io.Reader, error) {
	body, err := m.body.reader()
	if err != nil {
		return nil, err
	}
	head := m.head
	if h != nil {
		var b bytes.Buffer
		if _, err := h.WriteTo(&b); err != nil {
			return nil, err
		}
		head = b.Bytes()
	}
	return io.MultiReader(bytes.NewReader(head), body), nil
}

func (m *heldMessage) close() {
	if m.own {
		m.body.close()
	}
}

// sieveVerdict is what one user's script decided for one message. The
// script runs once per message and user: on the MX port before the reply
// to DATA (so that a reject can be a refusal in the dialogue), elsewhere
// at delivery; the verdict is carried to delivery, which performs it.
type sieveVerdict struct {
	user      string
	reject    *sieve.Reject   // the user refuses the message
	targets   []copyTarget    // the copies to store
	header    *message.Header // the header as editheader left it; nil: unchanged
	redirects []string
	vacations []sieve.Vacation
}

// rejects reports whether the user refuses the message.
func (v *sieveVerdict) rejects() bool { return v != nil && v.reject != nil }

// evaluate runs user's active script on msg and returns its verdict;
// without a script, or when it fails, the verdict is one copy in INBOX
// (the log says why). It performs nothing: no copy is stored, no message
// sent. An LMTP listener calls it per recipient before answering DATA for
// that recipient: a verdict that rejects is answered with
// sieveRejectReply, the others delivered with deliverVerdicts.
func (m *mailboxes) evaluate(ctx context.Context, env *smtp.Envelope, user string, msg *heldMessage) *sieveVerdict {
	v := &sieveVerdict{user: user}
	keep := func() *sieveVerdict {
		v.targets = []copyTarget{{user: user}}
		return v
	}
	f := m.filter
	if f == nil {
		return keep()
	}
	log := m.log.With("user", user)
	script, err := f.script(user)
	if err != nil {
		log.Warn("sieve script unusable, message kept in INBOX", "err", err)
		return keep()
	}
	if script == nil {
		return keep()
	}
	// The body test reads the spooled body, streamed and bounded by the
	// script's limits.
	body, err := msg.body.reader()
	if err != nil {
		log.Warn("sieve: spool unreadable, message kept in INBOX", "err", err)
		return keep()
	}
	sm := &sieve.Message{Header: msg.header, Body: body, Size: msg.size()}
	if env != nil {
		sm.Envelope = sieve.Envelope{From: pathAddr(env.From), To: user}
	}
	res, err := sieve.Run(ctx, script, sm, &sieve.Env{
		Addresses: []string{user},
		Hostname:  m.cfg.hostname,
		Vacation:  f.vacationStore(user),
		Spam:      spamScore(msg.header),
	})
	if err != nil {
		// RFC 5293 section 7: the implicit keep after an error stores
		// the original header.
		log.Warn("sieve script failed, message kept in INBOX", "err", err)
		return keep()
	}
	v.header = res.Header
	var names []string
	defer func() { log.Info("sieve ran", "actions", strings.Join(names, ","), "edited", v.header != nil) }()
	for _, a := range res.Actions {
		names = append(names, strings.ToLower(strings.TrimPrefix(fmt.Sprintf("%T", a), "sieve.")))
		switch a := a.(type) {
		case sieve.Keep:
			v.targets = append(v.targets, copyTarget{user: user, opts: sieveFlags(a.Flags)})
		case sieve.FileInto:
			name, ok := sieveFolder(a.Mailbox)
			if !ok {
				log.Warn("sieve fileinto a folder name maildir cannot hold, kept in INBOX", "folder", a.Mailbox)
				v.targets = append(v.targets, copyTarget{user: user, opts: sieveFlags(a.Flags)})
				continue
			}
			if !a.Create && !m.folderExists(user, name) {
				// RFC 5228 section 4.1: a failed fileinto keeps.
				log.Info("sieve fileinto a folder that does not exist, kept in INBOX", "folder", a.Mailbox)
				v.targets = append(v.targets, copyTarget{user: user, opts: sieveFlags(a.Flags)})
				continue
			}
			v.targets = append(v.targets, copyTarget{user: user, folder: name, opts: sieveFlags(a.Flags)})
		case sieve.Redirect:
			v.redirects = append(v.redirects, a.Address)
		case sieve.Vacation:
			v.vacations = append(v.vacations, a)
		case sieve.Reject:
			v.reject = &a
		case sieve.Discard:
		}
	}
	return v
}

// Rejection replies: the reason a script gives goes on the wire, so it is
// made one line of printable text, bounded.
const maxRejectReason = 200

// sieveRejectReply is the reply refusing a message a script rejected
// (RFC 5429 section 2.1.1: 550 5.7.1 with the script's reason): the
// reason on one line, control characters as spaces, non-ASCII text kept
// only when the client said SMTPUTF8 (as '?' otherwise), at most
// maxRejectReason bytes.
func sieveRejectReply(reason string, utf8 bool) *smtp.Error {
	return &smtp.Error{Code: 550, Enhanced: smtp.NewEnhancedCode(5, 7, 1), Message: sanitizeReason(reason, utf8)}
}

func sanitizeReason(reason string, utf8OK bool) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToValidUTF8(reason, "?") {
		switch {
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029:
			r = ' '
		case r >= 0x80 && !utf8OK:
			r = '?'
		}
		if r == ' ' {
			if space || b.Len() == 0 {
				continue
			}
			space = true
		} else {
			space = false
		}
		if b.Len()+utf8.RuneLen(r) > maxRejectReason {
			break
		}
		b.WriteRune(r)
	}
	s := strings.TrimSpace(b.String())
	if s == "" {
		s = "Rejected by the recipient's mail filter"
	}
	return s
}

// deliverFiltered delivers a message to users of whom some have an active
// script. On the MX port the scripts already ran before the reply to DATA
// and spec carries the held message and their verdicts; elsewhere
// (submission, the queue) the message is held here and each script runs
// now. Errors are per user, as deliverUsers returns them.
func (m *mailboxes) deliverFiltered(ctx context.Context, env *smtp.Envelope, r io.Reader, users []string, spec deliverSpec) ([]maildir.Message, []error) {
	msg := spec.held
	if msg == nil {
		var err error
		msg, err = holdMessage(filepath.Join(m.cfg.dataDir, "tmp"), r)
		if err != nil {
			errs := make([]error, len(users))
			for i := range errs {
				errs[i] = err
			}
			return make([]maildir.Message, len(users)), errs
		}
		defer msg.close()
	}
	vs := make([]*sieveVerdict, len(users))
	for i, u := range users {
		if vs[i] = spec.verdicts[u]; vs[i] == nil {
			vs[i] = m.evaluate(ctx, env, u, msg)
		}
	}
	return m.deliverVerdicts(ctx, env, msg, vs, spec.noMDN)
}

// deliverVerdicts performs the verdicts of the users' scripts on msg: it
// stores the copies each asks for, with its edited header and the body
// unchanged, durably, then queues the redirects (with the edited header,
// RFC 5293 section 7), the vacation replies (from <>, recorded in the
// user's vacation memory) and, for a user who rejects, the rejection
// message to the sender: an MDN (RFC 5429 section 2.1.1) from <>, but
// never to the null sender nor when noMDN says the sender is not to be
// trusted (SPF or DMARC failed): then the log says so, since a rejection
// to a forged sender is backscatter. A script can drop a message only by
// discard and store only inside its user's Maildir. The errors are the
// storage errors per verdict; a user who rejects or discards has none and
// no message.
func (m *mailboxes) deliverVerdicts(ctx context.Context, env *smtp.Envelope, msg *heldMessage, vs []*sieveVerdict, noMDN string) ([]maildir.Message, []error) {
	msgs := make([]maildir.Message, len(vs))
	errs := make([]error, len(vs))
	// One DeliverMany per distinct flags and header, so that the fsyncs
	// are shared.
	type group struct {
		opts   maildir.DeliverOptions
		header *message.Header
		boxes  []*maildir.Maildir
		who    []int // index in vs
	}
	var groups []*group
	byKey := map[string]*group{}
	for i, v := range vs {
		if v.rejects() {
			continue
		}
		for _, t := range v.targets {
			s, err := m.store(t.user)
			var box *maildir.Maildir
			if err == nil {
				name := t.folder
				if name == "" {
					name = maildir.Inbox
				}
				box, err = folder(ctx, s, name)
			}
			if err != nil {
				if errs[i] == nil {
					errs[i] = err
				}
				continue
			}
			key := string(t.opts.Flags) + "\x00" + strings.Join(t.opts.Keywords, " ")
			if v.header != nil {
				key += "\x00" + strconv.Itoa(i)
			}
			g := byKey[key]
			if g == nil {
				g = &group{opts: t.opts, header: v.header}
				byKey[key] = g
				groups = append(groups, g)
			}
			g.boxes = append(g.boxes, box)
			g.who = append(g.who, i)
		}
	}
	for _, g := range groups {
		rd, err := msg.readerWith(g.header)
		if err != nil {
			for _, i := range g.who {
				if errs[i] == nil {
					errs[i] = err
				}
			}
			continue
		}
		opts := g.opts
		got, gerrs := maildir.DeliverMany(ctx, rd, g.boxes, &opts)
		for j, i := range g.who {
			if gerrs[j] != nil && errs[i] == nil {
				errs[i] = gerrs[j]
			}
			if msgs[i].Key == "" {
				msgs[i] = got[j]
			}
		}
	}
	// What goes out once the copies are stored.
	for i, v := range vs {
		if errs[i] != nil {
			continue // the delivery is retried, and these with it
		}
		m.sendVerdict(ctx, env, msg, v, noMDN)
	}
	return msgs, errs
}

// sendVerdict queues what v sends: redirects, vacation replies and the
// rejection message.
func (m *mailboxes) sendVerdict(ctx context.Context, env *smtp.Envelope, msg *heldMessage, v *sieveVerdict, noMDN string) {
	f := m.filter
	log := m.log.With("user", v.user)
	if f == nil || env == nil {
		return
	}
	if v.rejects() {
		m.sendRejection(ctx, log, env, msg, v, noMDN)
		return
	}
	for _, to := range v.redirects {
		rd, err := msg.readerWith(v.header)
		if err == nil {
			err = f.send(ctx, env.From, to, rd)
		}
		if err != nil {
			// The copy is lost to the redirect, not to the user.
			log.Warn("sieve redirect failed, message kept in INBOX", "to", to, "err", err)
			if err := m.storeKeep(ctx, msg, v); err != nil {
				log.Error("sieve redirect failed and the message could not be kept", "to", to, "err", err)
			}
			continue
		}
		log.Info("sieve redirect", "to", to)
	}
	for _, a := range v.vacations {
		f.sendVacation(ctx, log, v.user, a)
	}
}

// sendVacation queues a vacation reply and records it. Two messages from
// one sender delivered at once both ran the script before either reply
// was recorded: the memory is checked again here, under a lock, so that
// only one of them answers.
func (f *filter) sendVacation(ctx context.Context, log *slog.Logger, user string, a sieve.Vacation) {
	f.vacationMu.Lock()
	defer f.vacationMu.Unlock()
	store := f.vacationStore(user)
	if last, ok, err := store.LastReply(ctx, a.Key); err == nil && ok && time.Since(last) < a.Period {
		log.Info("sieve vacation reply already sent", "to", a.To, "at", last)
		return
	}
	if err := f.send(ctx, smtp.Path{}, a.To, bytes.NewReader(a.Message)); err != nil {
		log.Warn("sieve vacation reply not sent", "to", a.To, "err", err)
		return
	}
	if err := store.RecordPeriod(ctx, a.Key, time.Now(), a.Period); err != nil {
		log.Warn("sieve vacation reply not recorded", "to", a.To, "err", err)
	}
	log.Info("sieve vacation reply", "to", a.To)
}

// storeKeep stores msg in v.user's INBOX.
func (m *mailboxes) storeKeep(ctx context.Context, msg *heldMessage, v *sieveVerdict) error {
	s, err := m.store(v.user)
	if err != nil {
		return err
	}
	box, err := folder(ctx, s, maildir.Inbox)
	if err != nil {
		return err
	}
	rd, err := msg.readerWith(v.header)
	if err != nil {
		return err
	}
	_, err = box.Deliver(ctx, rd, nil)
	return err
}

// sendRejection queues the MDN of a reject after acceptance, or logs why
// none goes.
func (m *mailboxes) sendRejection(ctx context.Context, log *slog.Logger, env *smtp.Envelope, msg *heldMessage, v *sieveVerdict, noMDN string) {
	reason := v.reject.Reason
	switch {
	case env.From.IsNull():
		noMDN = "null sender"
	case noMDN == "" && dsn.NeverBounce(env.From, msg.header):
		noMDN = "the message is itself a notification or an automatic reply"
	}
	if noMDN != "" {
		log.Info("sieve reject: message refused, no rejection message sent", "from", env.From.String(), "why", noMDN, "reason", sanitizeReason(reason, true))
		return
	}
	orig, err := msg.reader() // RFC 5293 section 7: the original header
	if err != nil {
		log.Error("sieve reject: rejection message not sent", "err", err)
		return
	}
	mdn := &dsn.MDN{
		To:             env.From,
		ReportingUA:    m.cfg.hostname,
		Product:        "Herald",
		FinalRecipient: v.user,
		Text: "Your message to " + v.user + " was rejected by the recipient's mail filter.\n" +
			"It was not delivered. The reason given:\n\n" + reason + "\n",
		Original: orig,
	}
	var b bytes.Buffer
	if _, err := mdn.WriteTo(&b); err != nil {
		log.Error("sieve reject: rejection message not written", "err", err)
		return
	}
	if err := m.filter.send(ctx, smtp.Path{}, pathAddr(env.From), &b); err != nil {
		log.Error("sieve reject: rejection message not queued", "to", env.From.String(), "err", err)
		return
	}
	log.Info("sieve reject: rejection message sent", "to", env.From.String(), "reason", sanitizeReason(reason, true))
}

func (m *mailboxes) folderExists(user, name string) bool {
	s, err := m.store(user)
	if err != nil {
		return false
	}
	_, err = s.Folder(name)
	return err == nil
}

// sieveFolder maps a Sieve mailbox name ("/" between levels, as IMAP
// shows it) to the Maildir++ name ("." between levels); a name holding a
// "." of its own has no Maildir++ spelling.
func sieveFolder(name string) (string, bool) {
	if strings.EqualFold(name, "INBOX") {
		return "", true
	}
	if sieve.ValidMailbox(name) != nil || strings.Contains(name, string(maildir.Separator)) {
		return "", false
	}
	return strings.ReplaceAll(name, "/", string(maildir.Separator)), true
}

// sieveFlags maps IMAP flags to maildir's letters and keywords.
func sieveFlags(flags []string) maildir.DeliverOptions {
	var o maildir.DeliverOptions
	letters := map[string]maildir.Flags{
		`\seen`: maildir.FlagSeen, `\answered`: maildir.FlagReplied, `\flagged`: maildir.FlagFlagged,
		`\deleted`: maildir.FlagTrashed, `\draft`: maildir.FlagDraft,
	}
	for _, fl := range flags {
		if l, ok := letters[strings.ToLower(fl)]; ok {
			o.Flags = o.Flags.Union(l)
		} else if !strings.HasPrefix(fl, `\`) {
			o.Keywords = append(o.Keywords, fl)
		}
	}
	return o
}

// spamScore reads the junk filter's verdict, the X-Herald-Spam field the
// MX port writes (after removing any the client sent), as the spamtest
// score of RFC 5235: 1 for a score of 0 or less up to 10 at the threshold
// and beyond, and the share of the threshold as :percent. A message that
// did not pass the filter (no field, or more than one) was not tested.
func spamScore(h *message.Header) *sieve.SpamScore {
	vals := h.Values(spamHeader)
	if len(vals) != 1 {
		return nil
	}
	var score, threshold float64
	var haveScore, haveThreshold bool
	for _, w := range strings.Fields(vals[0]) {
		k, v, _ := strings.Cut(w, "=")
		n, err := strconv.ParseFloat(v, 64)
		switch {
		case err != nil:
		case k == "score":
			score, haveScore = n, true
		case k == "threshold":
			threshold, haveThreshold = n, true
		}
	}
	if !haveScore || !haveThreshold || threshold <= 0 {
		return nil
	}
	share := min(max(score/threshold, 0), 1)
	return &sieve.SpamScore{Value: 1 + int(math.Round(9*share)), Percent: int(math.Round(100 * share))}
}

// scripted reports whether one of users has an active script (or one that
// does not parse).
func (m *mailboxes) scripted(users []string) bool {
	if m.filter == nil {
		return false
	}
	for _, u := range users {
		if sc, err := m.filter.script(u); sc != nil || err != nil {
			return true
		}
	}
	return false
}

// deliverRecipient is the per-recipient step of a protocol that answers
// DATA per recipient (LMTP, RFC 2033): it runs user's script on msg once
// and performs its verdict. A reject (reject or ereject) is refused in the
// dialogue: the error is the 550 5.7.1 reply for this recipient
// (sieveRejectReply; utf8 when the client said SMTPUTF8) and no rejection
// message is sent. Otherwise the copies are stored and the redirects and
// vacation replies queued as deliverVerdicts does; the error is then a
// storage error, nil when the copies are durable.
func (m *mailboxes) deliverRecipient(ctx context.Context, env *smtp.Envelope, user string, msg *heldMessage, noMDN string) (maildir.Message, error) {
	v := m.evaluate(ctx, env, user, msg)
	if v.rejects() {
		m.log.Info("sieve reject in the dialogue", "user", user, "extended", v.reject.Extended, "reason", sanitizeReason(v.reject.Reason, true))
		return maildir.Message{}, sieveRejectReply(v.reject.Reason, env != nil && env.Options.UTF8)
	}
	msgs, errs := m.deliverVerdicts(ctx, env, msg, []*sieveVerdict{v}, noMDN)
	return msgs[0], errs[0]
}
