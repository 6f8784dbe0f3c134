package sieve

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/heraldmail/herald/message"
	hmime "github.com/heraldmail/herald/mime"
)

// VacationKey names one remembered reply: the handle of the vacation
// command (RFC 5230 section 4.2) and the sender it answered, lower case.
type VacationKey struct {
	Handle string
	Sender string
}

// VacationStore is the memory of the vacation action: when a reply with a
// key was last sent. Implementations must be safe for concurrent use if
// runs are.
type VacationStore interface {
	// LastReply returns when a reply with key was last recorded, and
	// false if never.
	LastReply(ctx context.Context, key VacationKey) (time.Time, bool, error)
	// Record remembers that a reply with key was sent at t. The caller
	// calls it once the reply of a [Vacation] action is on its way.
	Record(ctx context.Context, key VacationKey, t time.Time) error
}

// DefaultMaxVacationEntries bounds a MemoryVacationStore whose Max is 0.
const DefaultMaxVacationEntries = 100_000

// MemoryVacationStore is a VacationStore in memory, for tests and single
// processes. The zero value is ready to use. It holds at most Max replies
// (DefaultMaxVacationEntries when 0): when full, it forgets the older half,
// so a flood of mail from new senders cannot grow it without bound, at the
// cost of a second reply, early, to a sender it forgot.
type MemoryVacationStore struct {
	Max int

	mu sync.Mutex
	m  map[VacationKey]time.Time
}

// LastReply implements VacationStore.
func (s *MemoryVacationStore) LastReply(ctx context.Context, key VacationKey) (time.Time, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.m[key]
	return t, ok, nil
}

// Record implements VacationStore.
func (s *MemoryVacationStore) Record(ctx context.Context, key VacationKey, t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[VacationKey]time.Time{}
	}
	max := s.Max
	if max <= 0 {
		max = DefaultMaxVacationEntries
	}
	if _, ok := s.m[key]; !ok && len(s.m) >= max {
		s.forgetOlderHalf()
	}
	s.m[key] = t
	return nil
}

// forgetOlderHalf drops the replies recorded before the median time; done
// once per Max/2 new entries, its cost is O(log Max) per Record.
func (s *MemoryVacationStore) forgetOlderHalf() {
	times := make([]time.Time, 0, len(s.m))
	for _, t := range s.m {
		times = append(times, t)
	}
	slices.SortFunc(times, time.Time.Compare)
	median := times[len(times)/2]
	for k, t := range s.m {
		if t.Before(median) {
			delete(s.m, k)
		}
	}
	if len(s.m) >= len(times) { // every time equal: drop any half
		n := len(s.m) / 2
		for k := range s.m {
			if n == 0 {
				break
			}
			delete(s.m, k)
			n--
		}
	}
}

// Vacation periods (RFC 5230 section 4.1, RFC 6131).
const (
	DefaultVacationDays = 7
	MaxVacationDays     = 365
)

type vacationCmd struct {
	pos       position
	days      int64
	seconds   int64
	useSecs   bool
	subject   *str
	from      *str
	addresses []str
	mime      bool
	handle    *str
	reason    str
}

func (c *compiler) vacation(rc *rawCmd) (command, *Error) {
	if err := c.need("vacation", rc.pos, "command", rc.name); err != nil {
		return nil, err
	}
	spec := map[string]tagSpec{
		"days":      {arg: tagNumber, group: "period"},
		"seconds":   {ext: "vacation-seconds", arg: tagNumber, group: "period"},
		"subject":   {arg: tagString},
		"from":      {arg: tagString},
		"addresses": {arg: tagStrings},
		"mime":      {},
		"handle":    {arg: tagString},
	}
	tags, args, err := c.split("command", rc.name, rc.args, spec)
	if err != nil {
		return nil, err
	}
	if err := positional("command", rc.name, rc.pos, args, argTag); err != nil {
		return nil, err
	}
	v := &vacationCmd{pos: rc.pos, days: DefaultVacationDays, reason: c.str(args[0], 0)}
	if t, ok := tags["days"]; ok {
		v.days = min(max(t.arg.num, 1), MaxVacationDays)
	}
	if t, ok := tags["seconds"]; ok {
		v.useSecs = true
		v.seconds = min(t.arg.num, MaxVacationDays*86400)
	}
	for name, p := range map[string]**str{"subject": &v.subject, "from": &v.from, "handle": &v.handle} {
		if t, ok := tags[name]; ok {
			s := c.str(t.arg, 0)
			*p = &s
		}
	}
	if v.from != nil && !v.from.v {
		if _, err := message.ParseAddress(v.from.s); err != nil {
			return nil, errAt(tags["from"].arg.pos, ErrSyntax, "vacation: invalid :from address %q", v.from.s)
		}
	}
	if t, ok := tags["addresses"]; ok {
		v.addresses = c.strs(t.arg)
	}
	_, v.mime = tags["mime"]
	return v, nil
}

// listFields mark mailing list traffic (RFC 2369, RFC 2919).
var listFields = []string{"List-Id", "List-Help", "List-Unsubscribe", "List-Subscribe", "List-Post", "List-Owner", "List-Archive"}

// noReplyReason tells why a message must not be answered (RFC 5230
// section 4.5 and 4.6, RFC 3834 section 2), or "".
func (st *state) noReplyReason(sender string, mine []string) string {
	if sender == "" {
		return "null sender"
	}
	local := strings.ToLower(sender)
	if i := strings.LastIndexByte(local, '@'); i >= 0 {
		local = local[:i]
	}
	switch {
	case local == "mailer-daemon", local == "listserv", local == "majordomo", local == "postmaster",
		strings.HasPrefix(local, "owner-"), strings.HasSuffix(local, "-request"), strings.HasSuffix(local, "-owner"):
		return "sender " + sender + " is a list or a daemon"
	}
	if v := st.header.Get("Auto-Submitted"); v != "" {
		if kw, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(v)), ";"); strings.TrimSpace(kw) != "no" {
			return "Auto-Submitted: " + v
		}
	}
	switch strings.ToLower(strings.TrimSpace(st.header.Get("Precedence"))) {
	case "bulk", "list", "junk":
		return "Precedence: " + st.header.Get("Precedence")
	}
	for _, f := range listFields {
		if st.header.Has(f) {
			return f + " present"
		}
	}
	for _, a := range mine {
		if strings.EqualFold(a, sender) {
			return "the sender is the user"
		}
	}
	var ap message.AddressParser
	for _, field := range []string{"To", "Cc", "Bcc", "Resent-To", "Resent-Cc", "Resent-Bcc"} {
		for _, f := range st.fields(field) {
			list, _ := ap.ParseList(f.Value())
			for _, a := range message.Mailboxes(list) {
				for _, m := range mine {
					if strings.EqualFold(a.Addr, m) {
						return ""
					}
				}
			}
		}
	}
	return "the user's address is not in To or Cc"
}

func (c *vacationCmd) exec(st *state) error {
	reason, err := st.expand(c.reason)
	if err != nil {
		return err
	}
	opt := func(p *str) (string, bool, error) {
		if p == nil {
			return "", false, nil
		}
		s, err := st.expand(*p)
		return s, true, err
	}
	subject, hasSubject, err := opt(c.subject)
	if err != nil {
		return err
	}
	from, hasFrom, err := opt(c.from)
	if err != nil {
		return err
	}
	handle, hasHandle, err := opt(c.handle)
	if err != nil {
		return err
	}
	addrs, err := st.expandList(c.addresses)
	if err != nil {
		return err
	}
	period := time.Duration(c.days) * 24 * time.Hour
	if c.useSecs {
		period = time.Duration(c.seconds) * time.Second
	}
	if !hasHandle {
		// RFC 5230 section 4.2: without :handle, replies with the same
		// subject, from, mime and reason share one memory.
		sum := sha256.Sum256([]byte(subject + "\x00" + from + "\x00" + map[bool]string{true: "mime"}[c.mime] + "\x00" + reason))
		handle = hex.EncodeToString(sum[:12])
	}
	var mine []string
	if to := st.msg.Envelope.To; to != "" {
		mine = append(mine, to)
		// The recipient without its subaddress (RFC 5233) is the
		// user's address too.
		if user, ok := st.addressPart(to, partUser); ok {
			if i := strings.LastIndexByte(to, '@'); i >= 0 && user != to[:i] {
				mine = append(mine, user+to[i:])
			}
		}
	}
	mine = append(mine, st.env.Addresses...)
	for _, a := range addrs {
		if p, err := message.ParseAddress(a); err == nil {
			mine = append(mine, p.Addr)
		} else {
			mine = append(mine, a)
		}
	}
	if hasFrom {
		if p, err := message.ParseAddress(from); err == nil {
			mine = append(mine, p.Addr)
		}
	}
	sender := st.msg.Envelope.From
	if why := st.noReplyReason(sender, mine); why != "" {
		return nil
	}
	key := VacationKey{Handle: handle, Sender: strings.ToLower(sender)}
	if st.env.Vacation != nil {
		last, ok, err := st.env.Vacation.LastReply(st.ctx, key)
		if err != nil {
			return err
		}
		if ok && st.now.Sub(last) < period {
			return nil
		}
	}
	if !hasFrom {
		from = st.msg.Envelope.To
		if from == "" && len(st.env.Addresses) > 0 {
			from = st.env.Addresses[0]
		}
	}
	if !hasSubject {
		orig, _ := st.header.Text("Subject")
		subject = "Auto: " + orig
		if strings.TrimSpace(orig) == "" {
			subject = "Automated reply"
		}
	}
	msg, err := st.vacationMessage(sender, from, subject, reason, c.mime)
	if err != nil {
		return runErr(c.pos, "vacation: %v", err)
	}
	return st.add(c.pos, Vacation{To: sender, From: from, Subject: subject, Reason: reason, MIME: c.mime, Key: key, Period: period, Message: msg})
}

// vacationMessage builds the reply (RFC 5230 section 5, RFC 3834 section 3).
func (st *state) vacationMessage(to, from, subject, reason string, isMIME bool) ([]byte, error) {
	var h message.Header
	fromAddr, err := message.ParseAddress(from)
	if err != nil {
		fromAddr = message.Address{Addr: from}
	}
	h.Add("From", fromAddr.String())
	h.Add("To", (&message.Address{Addr: to}).String())
	h.Add("Subject", message.EncodeWord(subject))
	h.Add("Date", message.FormatDate(st.now))
	domain := st.env.Hostname
	if domain == "" {
		domain = fromAddr.Domain()
	}
	if id, err := message.GenerateMessageID(domain); err == nil {
		h.Add("Message-ID", message.FormatMessageID(id))
	} else if id, err := message.GenerateMessageID("localhost"); err == nil {
		h.Add("Message-ID", message.FormatMessageID(id))
	}
	if id, err := st.header.MessageID(); err == nil && id != "" {
		h.Add("In-Reply-To", message.FormatMessageID(id))
		refs, _ := st.header.MessageIDList("References")
		var parts []string
		for _, r := range refs {
			parts = append(parts, message.FormatMessageID(r))
		}
		parts = append(parts, message.FormatMessageID(id))
		h.Add("References", strings.Join(parts, " "))
	}
	h.Add("Auto-Submitted", "auto-replied (vacation)")
	var b bytes.Buffer
	if !isMIME {
		m := hmime.Message{Header: h, Text: strings.ReplaceAll(reason, "\r\n", "\n")}
		if _, err := m.WriteTo(&b); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}
	// :mime: the reason is a MIME entity, its own header first.
	h.Add("MIME-Version", "1.0")
	var hb bytes.Buffer
	if _, err := h.WriteTo(&hb); err != nil {
		return nil, err
	}
	b.Write(bytes.TrimSuffix(hb.Bytes(), []byte("\r\n")))
	entity := strings.ReplaceAll(strings.ReplaceAll(reason, "\r\n", "\n"), "\n", "\r\n")
	entity = strings.TrimLeft(entity, "\r\n")
	if !strings.Contains(entity, "\r\n\r\n") {
		entity += "\r\n\r\n"
	}
	b.WriteString(entity)
	return b.Bytes(), nil
}
