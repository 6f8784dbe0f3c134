package sieve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/heraldmail/herald/message"
)

// Envelope is the SMTP envelope of the message being filtered.
type Envelope struct {
	// From is the reverse-path (MAIL FROM) without angle brackets; "" is
	// the null reverse-path of a bounce.
	From string
	// To is the recipient the script runs for (RCPT TO).
	To string
	// Auth is the authenticated identity of the submitter, if any: the
	// "auth" envelope part.
	Auth string
}

// Message is the message a script filters.
type Message struct {
	// Header is the parsed header; tests read it, editheader changes a
	// copy.
	Header *message.Header
	// Body reads the body after the header. Only the body test reads it,
	// once, and at most Limits.MaxBodyBytes of it; it may be nil when the
	// script has no body test. Give a fresh reader (such as an
	// io.SectionReader of the spooled message) so that storing the message
	// afterwards is not affected.
	Body io.Reader
	// Size is the size of the whole message in octets, for the size test.
	Size int64
	// Envelope is the SMTP envelope.
	Envelope Envelope
}

// Env is what a run needs from the mail server besides the message. Its
// zero value works: no vacation memory (every vacation reply is sent), no
// mailbox lookups (mailboxexists is false), no spam score.
type Env struct {
	// Now is the current time for currentdate and vacation; zero means
	// time.Now().
	Now time.Time
	// Location is the local time zone of date and currentdate without
	// :zone (RFC 5260 section 4.1); nil means time.Local.
	Location *time.Location
	// Addresses are the user's own addresses. The vacation action
	// answers only a message whose To, Cc, Bcc, Resent-To, Resent-Cc or
	// Resent-Bcc holds one of them, the envelope recipient or one of
	// :addresses (RFC 5230 section 4.5), and never a message from one of
	// them.
	Addresses []string
	// Hostname is the domain of the Message-ID of vacation replies; ""
	// means the domain of the reply's From.
	Hostname string
	// Vacation remembers the replies sent (RFC 5230 section 4.2); nil
	// sends every reply.
	Vacation VacationStore
	// Mailboxes answers mailboxexists (RFC 5490); nil means no mailbox
	// exists.
	Mailboxes MailboxChecker
	// Spam is the spam score for spamtest (RFC 5235); nil means the
	// message was not tested.
	Spam *SpamScore
	// Separator is the subaddress separator (RFC 5233), "+" when empty.
	Separator string
}

// MailboxChecker tells whether a mailbox exists, for mailboxexists.
type MailboxChecker interface {
	MailboxExists(ctx context.Context, name string) (bool, error)
}

// SpamScore is a message's spam score as the mail server's spam filter
// rated it.
type SpamScore struct {
	// Value is 1 (certainly not spam) to 10 (certainly spam), the
	// spamtest value of RFC 5235 section 3.2.
	Value int
	// Percent is 0 to 100, the spamtest :percent value of RFC 5235
	// section 3.3 (spamtestplus).
	Percent int
}

// Result is what a run asks the caller to do.
type Result struct {
	// Actions lists the actions in the order the script took them, the
	// implicit keep last. A message that no action stores, redirects or
	// rejects ends with [Discard].
	Actions []Action
	// Header, when not nil, is the header as editheader left it: the
	// message is to be stored and redirected with it in place of the
	// original.
	Header *message.Header
}

// Run runs the script on msg and returns the actions it takes. It never
// performs an action itself. A run-time error returns the error and a
// Result holding only the implicit keep (RFC 5228 section 2.10.6), so the
// caller stores the message in INBOX and logs why. ctx bounds the calls to
// env's interfaces.
func Run(ctx context.Context, s *Script, msg *Message, env *Env) (*Result, error) {
	if env == nil {
		env = &Env{}
	}
	st := &state{ctx: ctx, s: s, msg: msg, env: env, lim: s.limits, header: msg.Header, implicitKeep: true}
	if st.header == nil {
		st.header = &message.Header{}
	}
	st.now = env.Now
	if st.now.IsZero() {
		st.now = time.Now()
	}
	st.loc = env.Location
	if st.loc == nil {
		st.loc = time.Local
	}
	err := st.run(s.cmds)
	if errors.Is(err, errStop) {
		err = nil
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return &Result{Actions: []Action{Keep{Implicit: true}}}, err
	}
	return st.result(), nil
}

// errStop unwinds the run at a stop command.
var errStop = errors.New("stop")

type state struct {
	ctx    context.Context
	s      *Script
	msg    *Message
	env    *Env
	lim    Limits
	now    time.Time
	loc    *time.Location
	header *message.Header
	edited bool

	actions      []Action
	implicitKeep bool
	redirects    int
	flags        string // the internal variable of RFC 5232 section 3
	vars         map[string]string
	match        []string

	comparisons int

	body      *bodyCache
	addrCache map[string]addrList
	globCache map[string][]globElem
}

func (st *state) run(cmds []command) error {
	for _, c := range cmds {
		if err := st.ctx.Err(); err != nil {
			return err
		}
		if err := c.exec(st); err != nil {
			return err
		}
	}
	return nil
}

func runErr(p position, format string, args ...any) *Error {
	return errAt(p, ErrRuntime, format, args...)
}

// add records an action, merging duplicates as RFC 5228 section 2.10.3
// asks: a second store into the same mailbox or a second redirect to the
// same address is the same action.
func (st *state) add(p position, a Action) error {
	key := actionKey(a)
	for i, prev := range st.actions {
		if key != "" && actionKey(prev) == key {
			st.actions[i] = mergeAction(prev, a)
			return nil
		}
	}
	for _, prev := range st.actions {
		if err := conflict(prev, a); err != "" {
			return runErr(p, "%s", err)
		}
	}
	if len(st.actions) >= st.lim.maxActions() {
		return errAt(p, ErrLimit, "more than %d actions", st.lim.maxActions())
	}
	st.actions = append(st.actions, a)
	return nil
}

func actionKey(a Action) string {
	switch a := a.(type) {
	case Keep:
		return "store\x00INBOX"
	case FileInto:
		if strings.EqualFold(a.Mailbox, "INBOX") {
			return "store\x00INBOX"
		}
		return "store\x00" + a.Mailbox
	case Redirect:
		// The local part is case-sensitive (RFC 5321 section 2.4), the
		// domain is not.
		local, domain, _ := strings.Cut(a.Address, "@")
		return "redirect\x00" + local + "@" + strings.ToLower(domain)
	case Discard:
		return "discard"
	}
	return ""
}

func mergeAction(prev, a Action) Action {
	flagsOf := func(a Action) []string {
		switch a := a.(type) {
		case Keep:
			return a.Flags
		case FileInto:
			return a.Flags
		}
		return nil
	}
	union := func(x, y []string) []string {
		return splitFlags(strings.Join(append(append([]string{}, x...), y...), " "))
	}
	switch p := prev.(type) {
	case Keep:
		p.Flags = union(p.Flags, flagsOf(a))
		return p
	case FileInto:
		p.Flags = union(p.Flags, flagsOf(a))
		if f, ok := a.(FileInto); ok {
			p.Create = p.Create || f.Create
			p.Copy = p.Copy && f.Copy
		} else {
			p.Copy = false
		}
		return p
	case Redirect:
		if r, ok := a.(Redirect); ok {
			p.Copy = p.Copy && r.Copy
		}
		return p
	}
	return prev
}

// conflict returns why a may not follow prev (RFC 5429 section 2.1 and
// 2.2: reject and ereject exclude every other delivery and vacation).
func conflict(prev, a Action) string {
	if _, ok := prev.(Vacation); ok {
		if _, ok := a.(Vacation); ok {
			return "vacation after vacation (RFC 5230 section 4.7)"
		}
	}
	_, r1 := prev.(Reject)
	_, r2 := a.(Reject)
	if r1 == r2 {
		if r1 {
			return "reject after reject"
		}
		return ""
	}
	other := a
	if r2 {
		other = prev
	}
	switch other.(type) {
	case Keep, FileInto, Redirect, Vacation:
		return fmt.Sprintf("reject conflicts with %s", actionName(other))
	}
	return ""
}

func actionName(a Action) string {
	switch a.(type) {
	case Keep:
		return "keep"
	case FileInto:
		return "fileinto"
	case Redirect:
		return "redirect"
	case Vacation:
		return "vacation"
	case Reject:
		return "reject"
	}
	return "discard"
}

func (st *state) result() *Result {
	r := &Result{}
	delivered := false
	for _, a := range st.actions {
		switch a.(type) {
		case Discard:
			continue
		case Keep, FileInto, Redirect, Reject:
			delivered = true
		}
		r.Actions = append(r.Actions, a)
	}
	if st.implicitKeep {
		k := Keep{Flags: splitFlags(st.flags), Implicit: true}
		merged := false
		for i, a := range r.Actions {
			if actionKey(a) == actionKey(k) {
				r.Actions[i] = mergeAction(a, k)
				merged = true
			}
		}
		if !merged {
			r.Actions = append(r.Actions, k)
		}
		delivered = true
	}
	if !delivered {
		r.Actions = append(r.Actions, Discard{})
	}
	if st.edited {
		r.Header = st.header
	}
	return r
}

// expand replaces the variable references of x (RFC 5229 section 3).
func (st *state) expand(x str) (string, error) {
	if !x.v {
		return x.s, nil
	}
	s := x.s
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		rest := s[i+2:]
		end := strings.IndexByte(rest, '}')
		if end < 0 || !validReference(rest[:end]) {
			b.WriteString("${")
			s = rest
			continue
		}
		b.WriteString(st.variable(rest[:end]))
		s = rest[end+1:]
		if b.Len() > st.lim.maxStringBytes() {
			break
		}
	}
	if b.Len() > st.lim.maxStringBytes() {
		return "", &Error{Msg: fmt.Sprintf("string longer than %d bytes after expansion", st.lim.maxStringBytes()), Err: ErrLimit}
	}
	return b.String(), nil
}

func (st *state) expandList(xs []str) ([]string, error) {
	out := make([]string, len(xs))
	for i, x := range xs {
		var err error
		if out[i], err = st.expand(x); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// expandLists expands the two string lists of a test: what it looks at
// and the keys it compares with.
func (st *state) expandLists(a, b []str) ([]string, []string, error) {
	x, err := st.expandList(a)
	if err != nil {
		return nil, nil, err
	}
	y, err := st.expandList(b)
	return x, y, err
}

// validReference reports whether name is an identifier, a namespaced one
// or a number (RFC 5229 section 3).
func validReference(name string) bool {
	if name == "" {
		return false
	}
	if name[0] >= '0' && name[0] <= '9' {
		for i := 0; i < len(name); i++ {
			if name[i] < '0' || name[i] > '9' {
				return false
			}
		}
		return true
	}
	for _, part := range strings.Split(name, ".") {
		if !validIdentifier(part) {
			return false
		}
	}
	return true
}

func validIdentifier(s string) bool {
	if s == "" || !isIdentStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isIdentChar(s[i]) {
			return false
		}
	}
	return true
}

func (st *state) variable(name string) string {
	if name[0] >= '0' && name[0] <= '9' {
		n, err := strconv.Atoi(name)
		if err != nil || n >= len(st.match) {
			return ""
		}
		return st.match[n]
	}
	return st.vars[strings.ToLower(name)]
}

func (st *state) setVar(p position, name, value string) error {
	name = strings.ToLower(name)
	if _, ok := st.vars[name]; !ok {
		if st.vars == nil {
			st.vars = map[string]string{}
		}
		if len(st.vars) >= st.lim.maxVariables() {
			return errAt(p, ErrLimit, "more than %d variables", st.lim.maxVariables())
		}
	}
	st.vars[name] = truncate(value, st.lim.maxVariableBytes())
	return nil
}

// truncate cuts s to at most n bytes at a character boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// fields returns the header fields named name, at most MaxHeaderFields of
// the header inspected.
func (st *state) fields(name string) []message.Field {
	var out []message.Field
	max := st.lim.maxHeaderFields()
	for i, f := range st.header.All() {
		if i >= max {
			break
		}
		if strings.EqualFold(f.Name(), name) {
			out = append(out, f)
		}
	}
	return out
}
