package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

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

	mu       sync.Mutex
	parsed   map[string]parsedScript               // by path
	vacation map[string]*sieve.MemoryVacationStore // by user
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
		vacation: map[string]*sieve.MemoryVacationStore{},
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

func (f *filter) vacationStore(user string) *sieve.MemoryVacationStore {
	f.mu.Lock()
	defer f.mu.Unlock()
	v := f.vacation[user]
	if v == nil {
		v = &sieve.MemoryVacationStore{}
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

// deliverFiltered delivers a message to users of whom some have an active
// script: the message is spooled, each script run on it, and every copy
// the scripts ask for stored, redirects and vacation replies queued. A
// script that fails keeps the message in INBOX and the log says why; no
// script can drop a message but by discard, and none can store outside
// its user's Maildir (folder names are checked by sieve.ValidMailbox and
// by maildir). Errors are per user, as deliverUsers returns them.
func (m *mailboxes) deliverFiltered(ctx context.Context, env *smtp.Envelope, r io.Reader, users []string) ([]maildir.Message, []error) {
	msgs := make([]maildir.Message, len(users))
	errs := make([]error, len(users))
	fail := func(err error) ([]maildir.Message, []error) {
		for i := range errs {
			errs[i] = err
		}
		return msgs, errs
	}
	sp, err := newSpool(filepath.Join(m.cfg.dataDir, "tmp"))
	if err != nil {
		return fail(err)
	}
	defer sp.close()
	size, err := io.Copy(sp, r)
	if err != nil {
		return fail(err)
	}
	rd, _ := sp.reader()
	h, _, err := message.ReadHeader(rd, nil)
	if err != nil {
		h = &message.Header{}
	}
	var targets []copyTarget
	for _, u := range users {
		targets = append(targets, m.runFilter(ctx, env, u, h, sp, size)...)
	}
	// One DeliverMany per distinct flags, so that the fsyncs are shared.
	type group struct {
		opts  maildir.DeliverOptions
		boxes []*maildir.Maildir
		who   []int // index in users
	}
	var groups []*group
	byKey := map[string]*group{}
	index := map[string]int{}
	for i, u := range users {
		index[u] = i
	}
	for _, t := range targets {
		i := index[t.user]
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
		g := byKey[key]
		if g == nil {
			g = &group{opts: t.opts}
			byKey[key] = g
			groups = append(groups, g)
		}
		g.boxes = append(g.boxes, box)
		g.who = append(g.who, i)
	}
	for _, g := range groups {
		rd, err := sp.reader()
		if err != nil {
			return fail(err)
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
	return msgs, errs
}

// runFilter runs user's script and returns the copies to store; without a
// script, or when it fails, the one copy in INBOX.
func (m *mailboxes) runFilter(ctx context.Context, env *smtp.Envelope, user string, h *message.Header, sp *spool, size int64) []copyTarget {
	keep := []copyTarget{{user: user}}
	f := m.filter
	log := m.log.With("user", user)
	script, err := f.script(user)
	if err != nil {
		log.Warn("sieve script unusable, message kept in INBOX", "err", err)
		return keep
	}
	if script == nil {
		return keep
	}
	// The body test reads a fresh reader of the spooled body.
	full, err := sp.reader()
	if err != nil {
		return keep
	}
	_, body, err := message.ReadHeader(full, nil)
	if err != nil {
		body = bytes.NewReader(nil)
	}
	msg := &sieve.Message{Header: h, Body: body, Size: size}
	if env != nil {
		msg.Envelope = sieve.Envelope{From: pathAddr(env.From), To: user}
	}
	res, err := sieve.Run(ctx, script, msg, &sieve.Env{
		Addresses: []string{user},
		Hostname:  m.cfg.hostname,
		Vacation:  f.vacationStore(user),
		Spam:      spamScore(h),
	})
	if err != nil {
		log.Warn("sieve script failed, message kept in INBOX", "err", err)
		return keep
	}
	var out []copyTarget
	for _, a := range res.Actions {
		switch a := a.(type) {
		case sieve.Keep:
			out = append(out, copyTarget{user: user, opts: sieveFlags(a.Flags)})
		case sieve.FileInto:
			name, ok := sieveFolder(a.Mailbox)
			if !ok {
				log.Warn("sieve fileinto a folder name maildir cannot hold, kept in INBOX", "folder", a.Mailbox)
				out = append(out, copyTarget{user: user, opts: sieveFlags(a.Flags)})
				continue
			}
			if !a.Create && !m.folderExists(user, name) {
				// RFC 5228 section 4.1: a failed fileinto keeps.
				log.Info("sieve fileinto a folder that does not exist, kept in INBOX", "folder", a.Mailbox)
				out = append(out, copyTarget{user: user, opts: sieveFlags(a.Flags)})
				continue
			}
			out = append(out, copyTarget{user: user, folder: name, opts: sieveFlags(a.Flags)})
		case sieve.Redirect:
			rd, err := sp.reader()
			if err == nil && env != nil {
				err = f.send(ctx, env.From, a.Address, rd)
			}
			if err != nil {
				log.Warn("sieve redirect failed, message kept in INBOX", "to", a.Address, "err", err)
				out = append(out, copyTarget{user: user})
				continue
			}
			log.Info("sieve redirect", "to", a.Address)
		case sieve.Vacation:
			if err := f.send(ctx, smtp.Path{}, a.To, bytes.NewReader(a.Message)); err != nil {
				log.Warn("sieve vacation reply not sent", "to", a.To, "err", err)
				continue
			}
			f.vacationStore(user).Record(ctx, a.Key, time.Now())
			log.Info("sieve vacation reply", "to", a.To)
		case sieve.Reject:
			// The message was accepted before the script ran: a refusal
			// in the dialogue is no longer possible, and a bounce would
			// be backscatter. Nothing is lost: it stays in INBOX.
			log.Warn("sieve reject after acceptance is not supported, message kept in INBOX", "reason", a.Reason)
			out = append(out, copyTarget{user: user})
		case sieve.Discard:
			log.Info("sieve discard")
		}
	}
	return out
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
